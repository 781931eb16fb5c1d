// CreateProcess and the process functions. A child gets exactly the handles marked inheritable
// (when bInheritHandles is TRUE), at the same HANDLE values: their descriptors are passed down and
// NPIPE_HANDLES tells the child's npipe which value each one has (handles.cpp reads it).
#include "win32/io_object.hpp"
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include <npipe/namespace.hpp>

#include "os/fd.hpp"
#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept { return static_cast<DWORD>(detail::to_win32(ec).value()); }

bool is_space(char c) { return c == ' ' || c == '\t'; }

/// Splits a command line as the Microsoft C runtime does for argv: the program name ends at the
/// first blank outside quotes (no escapes in it); in the arguments, 2n backslashes before a quote
/// give n backslashes and toggle quoting, 2n+1 give n and a literal quote, "" inside quotes is a
/// literal quote, and other backslashes are literal.
std::vector<std::string> split_command_line(const std::string& line) {
    std::vector<std::string> args;
    std::size_t i = 0;
    // The program name: quotes switch quoting on and off (they have no escapes here) and the
    // name ends at the first blank outside quotes, so "a b"c is `a bc`.
    std::string first;
    bool in_quotes = false;
    while (i < line.size() && (in_quotes || !is_space(line[i]))) {
        if (line[i] == '"') in_quotes = !in_quotes;
        else first += line[i];
        ++i;
    }
    args.push_back(first);
    for (;;) {
        while (i < line.size() && is_space(line[i])) ++i;
        if (i >= line.size()) break;
        std::string arg;
        bool quoted = false;
        while (i < line.size() && (quoted || !is_space(line[i]))) {
            if (line[i] == '\\') {
                std::size_t n = 0;
                while (i < line.size() && line[i] == '\\') {
                    ++n;
                    ++i;
                }
                if (i < line.size() && line[i] == '"') {
                    arg.append(n / 2, '\\');
                    if (n % 2) {
                        arg += '"';
                        ++i;
                    }
                } else {
                    arg.append(n, '\\');
                }
            } else if (line[i] == '"') {
                if (quoted && i + 1 < line.size() && line[i + 1] == '"') {
                    arg += '"';
                    i += 2;
                } else {
                    quoted = !quoted;
                    ++i;
                }
            } else {
                arg += line[i++];
            }
        }
        args.push_back(arg);
    }
    return args;
}

bool runnable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

/// A program that was found, or why not (ERROR_FILE_NOT_FOUND / ERROR_PATH_NOT_FOUND).
struct program_lookup {
    std::string path; // absolute: the child changes directory before exec
    DWORD error = 0;
};

std::string absolute(const std::string& path) {
    if (!path.empty() && path[0] == '/') return path;
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) return path;
    return std::string(cwd) + "/" + path;
}

/// The names to try for `n`: itself, and without a trailing ".exe" (Linux programs have none).
std::vector<std::string> spellings(const std::string& n) {
    std::vector<std::string> out{n};
    if (n.size() > 4) {
        std::string tail = n.substr(n.size() - 4);
        for (auto& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (tail == ".exe") out.push_back(n.substr(0, n.size() - 4));
    }
    return out;
}

/// A name with a directory part (or lpApplicationName, which Windows never searches for):
/// relative to the current directory. A missing directory is ERROR_PATH_NOT_FOUND.
program_lookup find_at(const std::string& name) {
    for (auto& c : spellings(name))
        if (::access(c.c_str(), F_OK) == 0) return {absolute(c), 0};
    auto slash = name.find_last_of('/');
    if (slash != std::string::npos && slash > 0 && ::access(name.substr(0, slash).c_str(), F_OK) != 0)
        return {{}, ERROR_PATH_NOT_FOUND};
    return {{}, ERROR_FILE_NOT_FOUND};
}

/// Where Windows would find the program of a command line: as given when the name has a
/// directory part; else the directory of this program, the current directory, then PATH. A
/// name ending in ".exe" that does not exist is tried without it, and backslashes stand for
/// slashes when the name does not exist as given.
program_lookup find_program(std::string name, bool searched) {
    auto look = [&](const std::string& n) -> program_lookup {
        if (!searched || n.find('/') != std::string::npos) return find_at(n);
        std::vector<std::string> dirs;
        if (auto exe = os::own_executable(); exe && !exe.value.empty())
            dirs.push_back(exe.value.substr(0, exe.value.find_last_of('/')));
        dirs.push_back(".");
        const char* path = std::getenv("PATH");
        std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
        std::size_t start = 0;
        while (start <= p.size()) {
            auto colon = p.find(':', start);
            std::string d = p.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
            dirs.push_back(d.empty() ? "." : d);
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
        for (auto& d : dirs)
            for (auto& c : spellings(n))
                if (runnable(d + "/" + c)) return {absolute(d + "/" + c), 0};
        return {{}, ERROR_FILE_NOT_FOUND};
    };
    auto found = look(name);
    if (found.error && name.find('\\') != std::string::npos) {
        std::replace(name.begin(), name.end(), '\\', '/');
        found = look(name);
    }
    return found;
}

/// "K=V\0K=V\0\0" (A, or UTF-16 with CREATE_UNICODE_ENVIRONMENT) to a list.
std::optional<std::vector<std::string>> parse_environment(LPVOID block, bool unicode) {
    std::vector<std::string> out;
    if (unicode) {
        auto* p = static_cast<const WCHAR*>(block);
        while (*p) {
            std::size_t n = length16(p);
            auto s = to_utf8(p, n);
            if (!s) return std::nullopt;
            out.push_back(*s);
            p += n + 1;
        }
    } else {
        auto* p = static_cast<const char*>(block);
        while (*p) {
            out.emplace_back(p);
            p += out.back().size() + 1;
        }
    }
    return out;
}

std::string hex(HANDLE h) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%llx",
                  static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(h)));
    return buf;
}

/// Reaps a child and signals its process (and main-thread) object. One small thread per child:
/// waitpid on exactly this pid, so other children of the program are left alone.
void watch_child(std::shared_ptr<process_object> proc, std::shared_ptr<thread_object> main_thread) {
    std::thread([proc, main_thread] {
        auto reaped = os::reap_status(proc->pid, true); // a signal's death is 128 + the signal
        DWORD exit_code = reaped && reaped.value ? static_cast<DWORD>(reaped.value->code) : 0;
        {
            std::lock_guard lock(dispatch().mutex);
            if (proc->terminated_with && reaped.value && reaped.value->signal == SIGKILL)
                exit_code = *proc->terminated_with;
            proc->exit_code = exit_code;
            proc->exited = true;
            main_thread->exit_code = exit_code;
            main_thread->exited = true;
        }
        notify_waiters();
    }).detach();
}

struct startup {
    DWORD flags;
    HANDLE std[3];
};

BOOL create_process(const char* application, const char* command_line, LPSECURITY_ATTRIBUTES process_sa,
                    LPSECURITY_ATTRIBUTES thread_sa, BOOL inherit_handles, DWORD creation_flags,
                    LPVOID environment_block, const char* directory,
                    const startup& si, LPPROCESS_INFORMATION pi) {
    if (!pi) return fail(ERROR_INVALID_PARAMETER, FALSE);
    if (!application && !command_line) return fail(ERROR_INVALID_PARAMETER, FALSE);
    std::optional<std::vector<std::string>> environment;
    if (environment_block) {
        environment = parse_environment(environment_block, (creation_flags & CREATE_UNICODE_ENVIRONMENT) != 0);
        if (!environment) return fail(ERROR_INVALID_PARAMETER, FALSE);
    }
    if (creation_flags & (CREATE_SUSPENDED | DEBUG_PROCESS | DEBUG_ONLY_THIS_PROCESS))
        return fail(ERROR_NOT_SUPPORTED, FALSE); // see README

    std::vector<std::string> args = split_command_line(command_line ? command_line : application);
    std::string program_name = application ? application : args[0];
    if (program_name.empty()) return fail(ERROR_FILE_NOT_FOUND, FALSE);
    auto program = find_program(program_name, application == nullptr);
    if (program.error) return fail(program.error, FALSE);
    if (directory) {
        auto t = os::open_path(directory, O_RDONLY | O_DIRECTORY, 0);
        if (!t) return fail(ERROR_DIRECTORY, FALSE);
    }

    // What the child gets: its standard streams, then every inheritable handle.
    std::vector<os::fd> temporaries; // kept open until the child has its copies
    std::map<const object*, int> child_fd;
    os::spawn_request request;
    bool use_std = (si.flags & STARTF_USESTDHANDLES) != 0;
    std::vector<std::pair<HANDLE, std::shared_ptr<object>>> inherited;
    if (inherit_handles) inherited = inheritable_handles();
    auto is_inherited = [&](HANDLE h) {
        return std::any_of(inherited.begin(), inherited.end(), [&](auto& e) { return e.first == h; });
    };
    if (use_std) {
        for (int i = 0; i < 3; ++i) {
            auto io = lookup_as<io_object>(si.std[i]);
            int fd = io && is_inherited(si.std[i]) ? io->child_descriptor() : -1;
            if (fd < 0) {
                // Not passed down (not inheritable, or nothing to read/write): the child's stream
                // is empty rather than a stray descriptor of the parent.
                auto null = os::open_path("/dev/null", O_RDWR, 0);
                if (!null) return fail(code(null.error), FALSE);
                fd = null.value.get();
                temporaries.push_back(std::move(null.value));
            } else if (!child_fd.count(io.get())) {
                child_fd[io.get()] = i;
            }
            request.std_fds[i] = fd;
        }
    }
    std::vector<int> keep;
    std::string handle_list;
    for (auto& [h, obj] : inherited) {
        auto io = std::dynamic_pointer_cast<io_object>(obj);
        if (!io) continue; // events, threads and processes do not cross exec (see README)
        int target;
        if (auto it = child_fd.find(io.get()); it != child_fd.end()) {
            target = it->second;
        } else {
            int fd = io->child_descriptor();
            if (fd < 0) continue;
            if (fd < 3 && use_std) {
                // Its number is taken by the child's own stream: pass a copy above 2.
                auto copy = os::dup_above(fd, 3);
                if (!copy) return fail(code(copy.error), FALSE);
                fd = copy.value.get();
                temporaries.push_back(std::move(copy.value));
            }
            target = fd;
            child_fd[io.get()] = fd;
            if (fd >= 3) keep.push_back(fd);
        }
        if (!handle_list.empty()) handle_list += ',';
        handle_list += hex(h) + ":" + std::to_string(target) + ":" + io->child_kind();
    }
    std::sort(keep.begin(), keep.end());
    keep.erase(std::unique(keep.begin(), keep.end()), keep.end());

    std::vector<std::string> env_strings;
    if (environment) {
        env_strings = *environment;
    } else {
        for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    }
    std::erase_if(env_strings, [](const std::string& e) {
        return e.rfind("NPIPE_HANDLES=", 0) == 0 || e.rfind("NPIPE_STD_HANDLES=", 0) == 0;
    });
    if (environment) {
        // Windows' pipe namespace does not depend on the environment: a child given its own
        // block still finds this process's broker.
        static const char* const namespace_vars[] = {"NPIPE_RUNTIME_DIR", "NPIPE_SCOPE", "NPIPE_BROKER",
                                                     "NPIPE_NO_AUTOSTART"};
        std::erase_if(env_strings, [](const std::string& e) {
            for (const char* v : namespace_vars)
                if (e.rfind(std::string(v) + "=", 0) == 0) return true;
            return false;
        });
        for (const char* v : namespace_vars)
            if (v != std::string("NPIPE_RUNTIME_DIR"))
                if (const char* value = std::getenv(v)) env_strings.push_back(std::string(v) + "=" + value);
        env_strings.push_back("NPIPE_RUNTIME_DIR=" + npipe::resolve_runtime_dir());
    }
    if (!handle_list.empty()) env_strings.push_back("NPIPE_HANDLES=" + handle_list);
    if (use_std && inherit_handles)
        env_strings.push_back("NPIPE_STD_HANDLES=" + hex(is_inherited(si.std[0]) ? si.std[0] : nullptr) + "," +
                              hex(is_inherited(si.std[1]) ? si.std[1] : nullptr) + "," +
                              hex(is_inherited(si.std[2]) ? si.std[2] : nullptr));

    std::vector<char*> argv, envp;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);

    request.file = program.path.c_str();
    request.argv = argv.data();
    request.envp = envp.data();
    request.working_directory = directory;
    request.keep = keep.data();
    request.keep_count = keep.size();
    auto spawned = os::spawn(request);
    if (!spawned) {
        int e = spawned.error.value();
        if (e == ENOEXEC) return fail(ERROR_BAD_EXE_FORMAT, FALSE);
        if (e == ENOENT) return fail(ERROR_FILE_NOT_FOUND, FALSE);
        return fail(code(spawned.error), FALSE);
    }

    auto proc = std::make_shared<process_object>();
    proc->pid = spawned.value;
    auto main_thread = std::make_shared<thread_object>();
    main_thread->tid = spawned.value;
    watch_child(proc, main_thread);
    HANDLE hp = insert_handle(proc, {process_sa && process_sa->bInheritHandle, false});
    HANDLE ht = insert_handle(main_thread, {thread_sa && thread_sa->bInheritHandle, false});
    if (!hp || !ht) return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
    pi->hProcess = hp;
    pi->hThread = ht;
    pi->dwProcessId = static_cast<DWORD>(spawned.value);
    pi->dwThreadId = static_cast<DWORD>(spawned.value);
    return TRUE;
}

} // namespace
} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

BOOL WINAPI CreateProcessA(LPCSTR lpApplicationName, LPSTR lpCommandLine, LPSECURITY_ATTRIBUTES lpProcessAttributes,
                           LPSECURITY_ATTRIBUTES lpThreadAttributes, BOOL bInheritHandles, DWORD dwCreationFlags,
                           LPVOID lpEnvironment, LPCSTR lpCurrentDirectory, LPSTARTUPINFOA lpStartupInfo,
                           LPPROCESS_INFORMATION lpProcessInformation) {
    return guard(FALSE, [&]() -> BOOL {
        if (!lpStartupInfo) return fail(ERROR_INVALID_PARAMETER, FALSE);
        startup si{lpStartupInfo->dwFlags, {lpStartupInfo->hStdInput, lpStartupInfo->hStdOutput, lpStartupInfo->hStdError}};
        return create_process(lpApplicationName, lpCommandLine, lpProcessAttributes, lpThreadAttributes, bInheritHandles,
                              dwCreationFlags, lpEnvironment, lpCurrentDirectory, si, lpProcessInformation);
    });
}

BOOL WINAPI CreateProcessW(LPCWSTR lpApplicationName, LPWSTR lpCommandLine, LPSECURITY_ATTRIBUTES lpProcessAttributes,
                           LPSECURITY_ATTRIBUTES lpThreadAttributes, BOOL bInheritHandles, DWORD dwCreationFlags,
                           LPVOID lpEnvironment, LPCWSTR lpCurrentDirectory, LPSTARTUPINFOW lpStartupInfo,
                           LPPROCESS_INFORMATION lpProcessInformation) {
    return guard(FALSE, [&]() -> BOOL {
        if (!lpStartupInfo) return fail(ERROR_INVALID_PARAMETER, FALSE);
        std::optional<std::string> app, line, dir;
        if (lpApplicationName && !(app = to_utf8(lpApplicationName))) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (lpCommandLine && !(line = to_utf8(lpCommandLine))) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (lpCurrentDirectory && !(dir = to_utf8(lpCurrentDirectory))) return fail(ERROR_INVALID_PARAMETER, FALSE);
        startup si{lpStartupInfo->dwFlags, {lpStartupInfo->hStdInput, lpStartupInfo->hStdOutput, lpStartupInfo->hStdError}};
        return create_process(app ? app->c_str() : nullptr, line ? line->c_str() : nullptr, lpProcessAttributes,
                              lpThreadAttributes, bInheritHandles, dwCreationFlags, lpEnvironment, dir ? dir->c_str() : nullptr,
                              si, lpProcessInformation);
    });
}

BOOL WINAPI GetExitCodeProcess(HANDLE hProcess, LPDWORD lpExitCode) {
    auto p = lookup_as<process_object>(hProcess);
    if (!p) return fail(ERROR_INVALID_HANDLE, FALSE);
    std::lock_guard lock(dispatch().mutex);
    if (lpExitCode) *lpExitCode = p->exited ? p->exit_code : STILL_ACTIVE;
    return TRUE;
}

BOOL WINAPI TerminateProcess(HANDLE hProcess, UINT uExitCode) {
    auto p = lookup_as<process_object>(hProcess);
    if (!p) return fail(ERROR_INVALID_HANDLE, FALSE);
    if (p->self) ::_exit(static_cast<int>(uExitCode));
    {
        std::lock_guard lock(dispatch().mutex);
        if (p->exited) return fail(ERROR_ACCESS_DENIED, FALSE); // as Windows: it is already gone
        p->terminated_with = uExitCode;
    }
    if (npipe::os::kill_process(p->pid, -1)) return fail(ERROR_ACCESS_DENIED, FALSE);
    return TRUE;
}

HANDLE WINAPI GetCurrentProcess(void) { return current_process_pseudo(); }

DWORD WINAPI GetCurrentProcessId(void) { return static_cast<DWORD>(::getpid()); }

DWORD WINAPI GetProcessId(HANDLE Process) {
    auto p = lookup_as<process_object>(Process);
    if (!p) return fail(ERROR_INVALID_HANDLE, DWORD{0});
    return static_cast<DWORD>(p->pid);
}

VOID WINAPI ExitProcess(UINT uExitCode) {
    // exit() rather than _exit(): the C runtime flushes stdio, as the Windows CRT does on detach.
    std::exit(static_cast<int>(uExitCode));
}

} // extern "C"
