// The named-pipe and anonymous-pipe functions of the Win32 API, over the C++ core.
// security/pipe_access.hpp first: npipe/security.hpp's rights:: constants share names with win32.h's macros.
#include "security/pipe_access.hpp"

#include "os/credentials.hpp"
#include "win32/io_call.hpp"
#include "win32/overlapped.hpp"
#include "win32/io_object.hpp"
#include "win32/security_api.hpp"
#include "win32/text.hpp"

#include <npipe/anonymous_pipe.hpp>
#include <npipe/named_pipe.hpp>

#include "win32_errors.hpp"

#include <cctype>
#include <cstring>
#include <fstream>
#include <pwd.h>
#include <unistd.h>
#include <vector>
#include <string>

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept { return static_cast<DWORD>(detail::to_win32(ec).value()); }

constexpr DWORD open_mode_flags = PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE | FILE_FLAG_WRITE_THROUGH |
                                  FILE_FLAG_OVERLAPPED | WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY;
constexpr DWORD pipe_mode_flags =
    PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT | PIPE_REJECT_REMOTE_CLIENTS | NPIPE_PIPE_EXPORT_REMOTE;

bool inheritable(LPSECURITY_ATTRIBUTES sa) noexcept { return sa && sa->bInheritHandle; }

/// `\\X\pipe\` at the front (case-insensitive): the shape WaitNamedPipe needs to build a path.
bool looks_like_pipe_path(std::string_view name) {
    if (name.size() < 2 || name[0] != '\\' || name[1] != '\\') return false;
    auto slash = name.find('\\', 2);
    if (slash == std::string_view::npos) return false;
    auto rest = name.substr(slash);
    if (rest.size() < 6) return false;
    std::string head(rest.substr(0, 6));
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return head == "\\pipe\\";
}

/// The audit/login session of a process (Windows' session id is the login session): 0 when
/// the process has none or cannot be read.
ULONG session_of(pid_t pid) {
    if (pid <= 0) return 0;
    std::ifstream in("/proc/" + std::to_string(pid) + "/sessionid");
    unsigned long long id = 0;
    if (!(in >> id) || id == 4294967295ULL) return 0;
    return static_cast<ULONG>(id);
}

std::shared_ptr<io_object> io_of(HANDLE h) { return lookup_as<io_object>(h); }

/// GetNamedPipeClientProcessId / GetNamedPipeServerProcessId.
BOOL process_id_of(HANDLE pipe, bool client_end, PULONG out) {
    auto io = io_of(pipe);
    if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
    ULONG pid = 0;
    DWORD e = io->process_id(client_end, pid);
    if (e == ERROR_INVALID_FUNCTION) return fail(e, FALSE); // not a pipe
    // The output buffer is checked before the pipe's state (Wine's tests, run on Windows).
    if (!out) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
    if (e) return fail(e, FALSE);
    *out = pid;
    return TRUE;
}

} // namespace

/// CreateNamedPipeA's work, with the name already UTF-8.
HANDLE create_named_pipe(LPCSTR name, DWORD open_mode, DWORD pipe_mode, DWORD max_instances, DWORD out_size,
                         DWORD in_size, DWORD timeout, LPSECURITY_ATTRIBUTES sa) {
    if (!name) return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
    DWORD access = open_mode & PIPE_ACCESS_DUPLEX;
    if (access == 0 || (open_mode & ~open_mode_flags) || (pipe_mode & ~pipe_mode_flags))
        return fail(ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE);
    if (!(pipe_mode & PIPE_TYPE_MESSAGE) && (pipe_mode & PIPE_READMODE_MESSAGE))
        return fail(ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE);
    if (max_instances == 0 || max_instances > PIPE_UNLIMITED_INSTANCES)
        return fail(ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE);

    server_options o;
    o.direction = static_cast<pipe_direction>(access);
    o.first_instance = (open_mode & FILE_FLAG_FIRST_PIPE_INSTANCE) != 0;
    o.extra_access = open_mode & (WRITE_DAC | WRITE_OWNER | ACCESS_SYSTEM_SECURITY);
    o.type = (pipe_mode & PIPE_TYPE_MESSAGE) ? pipe_type::message : pipe_type::byte;
    o.read_mode = (pipe_mode & PIPE_READMODE_MESSAGE) ? read_mode::message : read_mode::byte;
    o.wait_mode = (pipe_mode & PIPE_NOWAIT) ? wait_mode::nowait : wait_mode::wait;
    o.reject_remote_clients = (pipe_mode & PIPE_REJECT_REMOTE_CLIENTS) != 0;
    o.remote = (pipe_mode & NPIPE_PIPE_EXPORT_REMOTE) != 0;
    o.max_instances = max_instances;
    o.out_buffer_size = out_size;
    o.in_buffer_size = in_size;
    o.default_timeout = std::chrono::milliseconds(timeout);
    if (sa && sa->lpSecurityDescriptor) {
        // The descriptor (absolute or self-relative) as SDDL for the broker, which applies it
        // when this instance creates the pipe.
        DWORD err = 0;
        auto sddl = pipe_sddl_of_descriptor(sa->lpSecurityDescriptor, err);
        if (!sddl) return fail(err, INVALID_HANDLE_VALUE);
        o.sddl = std::move(*sddl);
    }
    std::error_code ec;
    auto server = server_instance::create(name, o, ec);
    if (ec) return fail(code(ec), INVALID_HANDLE_VALUE);
    auto obj = std::make_shared<named_pipe_object>(std::move(server), o.direction);
    obj->async.enabled = (open_mode & FILE_FLAG_OVERLAPPED) != 0;
    HANDLE h = insert_handle(std::move(obj), {inheritable(sa), false});
    if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, INVALID_HANDLE_VALUE);
    return h;
}

/// CreateFile on a pipe name.
HANDLE open_named_pipe(const std::string& name, DWORD access, DWORD flags, LPSECURITY_ATTRIBUTES sa) {
    client_options o;
    o.access_mask = access; // read, write and the rest follow from the mask (security/pipe_access.hpp)
    // The client decides what the server may do with its identity. Without
    // SECURITY_SQOS_PRESENT Windows allows impersonation; npipe allows identification only.
    if (flags & SECURITY_SQOS_PRESENT) {
        o.impersonation = static_cast<impersonation_level>((flags >> 16) & 3);
        o.effective_only = (flags & SECURITY_EFFECTIVE_ONLY) != 0;
        o.context_tracking = (flags & SECURITY_CONTEXT_TRACKING) != 0;
    }
    std::error_code ec;
    auto c = client::open(name, o, ec);
    if (ec) return fail(code(ec), INVALID_HANDLE_VALUE);
    auto obj = std::make_shared<named_pipe_object>(std::move(c), detail::pipe_data_access_of(access).write_attributes);
    obj->async.enabled = (flags & FILE_FLAG_OVERLAPPED) != 0;
    HANDLE h = insert_handle(std::move(obj), {inheritable(sa), false});
    if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, INVALID_HANDLE_VALUE);
    return h;
}

bool is_pipe_path(std::string_view name) { return name.size() >= 2 && name[0] == '\\' && name[1] == '\\'; }

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

HANDLE WINAPI CreateNamedPipeA(LPCSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode, DWORD nMaxInstances,
                               DWORD nOutBufferSize, DWORD nInBufferSize, DWORD nDefaultTimeOut,
                               LPSECURITY_ATTRIBUTES lpSecurityAttributes) {
    return guard(INVALID_HANDLE_VALUE, [&]() -> HANDLE {
        return create_named_pipe(lpName, dwOpenMode, dwPipeMode, nMaxInstances, nOutBufferSize, nInBufferSize,
                                 nDefaultTimeOut, lpSecurityAttributes);
    });
}

HANDLE WINAPI CreateNamedPipeW(LPCWSTR lpName, DWORD dwOpenMode, DWORD dwPipeMode, DWORD nMaxInstances,
                               DWORD nOutBufferSize, DWORD nInBufferSize, DWORD nDefaultTimeOut,
                               LPSECURITY_ATTRIBUTES lpSecurityAttributes) {
    return guard(INVALID_HANDLE_VALUE, [&]() -> HANDLE {
        if (!lpName) return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
        auto name = to_utf8(lpName);
        if (!name) return fail(ERROR_INVALID_NAME, INVALID_HANDLE_VALUE);
        return create_named_pipe(name->c_str(), dwOpenMode, dwPipeMode, nMaxInstances, nOutBufferSize, nInBufferSize,
                                 nDefaultTimeOut, lpSecurityAttributes);
    });
}

BOOL WINAPI ConnectNamedPipe(HANDLE hNamedPipe, LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (lpOverlapped && io->async.enabled) return connect_overlapped(io, lpOverlapped);
        // The handle turns busy once the listen is acknowledged, as NPFS has the listen when the
        // file object's event is reset: a client that opens after that is this call's client.
        return run_io(*io, lpOverlapped, nullptr,
                      [&](busy_mark& running) { return io_result{io->connect([&] { running.begin(); }), 0}; });
    });
}

BOOL WINAPI DisconnectNamedPipe(HANDLE hNamedPipe) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (DWORD e = io->disconnect()) return fail(e, FALSE);
        return TRUE;
    });
}

BOOL WINAPI WaitNamedPipeA(LPCSTR lpNamedPipeName, DWORD nTimeOut) {
    return guard(FALSE, [&]() -> BOOL {
        if (!lpNamedPipeName || !looks_like_pipe_path(lpNamedPipeName)) return fail(ERROR_PATH_NOT_FOUND, FALSE);
        std::error_code ec;
        auto self = current_thread();
        npipe::detail::sync_cancel_scope cancellable(self->sync_io); // CancelSynchronousIo
        npipe::wait_named_pipe(lpNamedPipeName, std::chrono::milliseconds(nTimeOut), {}, ec);
        if (ec) return fail(code(ec), FALSE);
        return TRUE;
    });
}

BOOL WINAPI WaitNamedPipeW(LPCWSTR lpNamedPipeName, DWORD nTimeOut) {
    return guard(FALSE, [&]() -> BOOL {
        if (!lpNamedPipeName) return fail(ERROR_PATH_NOT_FOUND, FALSE);
        auto name = to_utf8(lpNamedPipeName);
        if (!name) return fail(ERROR_INVALID_NAME, FALSE);
        return WaitNamedPipeA(name->c_str(), nTimeOut);
    });
}

BOOL WINAPI CallNamedPipeA(LPCSTR lpNamedPipeName, LPVOID lpInBuffer, DWORD nInBufferSize, LPVOID lpOutBuffer,
                           DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut) {
    return guard(FALSE, [&]() -> BOOL {
        if (lpBytesRead) *lpBytesRead = 0;
        if (!lpNamedPipeName) return fail(ERROR_PATH_NOT_FOUND, FALSE);
        std::error_code ec;
        auto r = npipe::call_named_pipe(
            lpNamedPipeName, {static_cast<const std::byte*>(lpInBuffer), lpInBuffer ? nInBufferSize : 0},
            {static_cast<std::byte*>(lpOutBuffer), lpOutBuffer ? nOutBufferSize : 0},
            std::chrono::milliseconds(nTimeOut), {}, ec);
        if (lpBytesRead) *lpBytesRead = static_cast<DWORD>(r.bytes);
        if (ec) return fail(code(ec), FALSE);
        return TRUE;
    });
}

BOOL WINAPI CallNamedPipeW(LPCWSTR lpNamedPipeName, LPVOID lpInBuffer, DWORD nInBufferSize, LPVOID lpOutBuffer,
                           DWORD nOutBufferSize, LPDWORD lpBytesRead, DWORD nTimeOut) {
    return guard(FALSE, [&]() -> BOOL {
        if (lpBytesRead) *lpBytesRead = 0;
        if (!lpNamedPipeName) return fail(ERROR_PATH_NOT_FOUND, FALSE);
        auto name = to_utf8(lpNamedPipeName);
        if (!name) return fail(ERROR_INVALID_NAME, FALSE);
        return CallNamedPipeA(name->c_str(), lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, lpBytesRead,
                              nTimeOut);
    });
}

BOOL WINAPI TransactNamedPipe(HANDLE hNamedPipe, LPVOID lpInBuffer, DWORD nInBufferSize, LPVOID lpOutBuffer,
                              DWORD nOutBufferSize, LPDWORD lpBytesRead, LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (lpOverlapped && io->async.enabled) {
            if (lpBytesRead) *lpBytesRead = 0;
            return transact_overlapped(io, lpInBuffer, nInBufferSize, lpOutBuffer, nOutBufferSize, lpBytesRead,
                                       lpOverlapped);
        }
        return run_io(*io, lpOverlapped, lpBytesRead, [&] {
            return io->transact(lpInBuffer, lpInBuffer ? nInBufferSize : 0, lpOutBuffer,
                                lpOutBuffer ? nOutBufferSize : 0);
        });
    });
}

BOOL WINAPI PeekNamedPipe(HANDLE hNamedPipe, LPVOID lpBuffer, DWORD nBufferSize, LPDWORD lpBytesRead,
                          LPDWORD lpTotalBytesAvail, LPDWORD lpBytesLeftThisMessage) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        peek_counts counts;
        if (DWORD e = io->peek(lpBuffer, lpBuffer ? nBufferSize : 0, counts)) return fail(e, FALSE);
        if (lpBytesRead) *lpBytesRead = counts.read;
        if (lpTotalBytesAvail) *lpTotalBytesAvail = counts.available;
        if (lpBytesLeftThisMessage) *lpBytesLeftThisMessage = counts.left;
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeInfo(HANDLE hNamedPipe, LPDWORD lpFlags, LPDWORD lpOutBufferSize, LPDWORD lpInBufferSize,
                             LPDWORD lpMaxInstances) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        pipe_facts f;
        if (DWORD e = io->info(f)) return fail(e, FALSE);
        if (lpFlags) *lpFlags = f.flags;
        if (lpOutBufferSize) *lpOutBufferSize = f.out_size;
        if (lpInBufferSize) *lpInBufferSize = f.in_size;
        if (lpMaxInstances) *lpMaxInstances = f.max_instances;
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeHandleStateA(HANDLE hNamedPipe, LPDWORD lpState, LPDWORD lpCurInstances,
                                     LPDWORD lpMaxCollectionCount, LPDWORD lpCollectDataTimeout, LPSTR lpUserName,
                                     DWORD nMaxUserNameSize) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        pipe_facts f;
        if (DWORD e = io->info(f)) return fail(e, FALSE);
        bool server = (f.flags & PIPE_SERVER_END) != 0;
        // Collection settings only exist for the client end of a pipe to another machine.
        if (server && (lpMaxCollectionCount || lpCollectDataTimeout)) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (lpState || lpCurInstances) {
            DWORD state = 0, instances = 0;
            if (DWORD e = io->get_state(state, instances)) return fail(e, FALSE);
            if (lpState) *lpState = state;
            if (lpCurInstances) *lpCurInstances = instances;
        }
        if (lpMaxCollectionCount) *lpMaxCollectionCount = 0;
        if (lpCollectDataTimeout) *lpCollectDataTimeout = 0;
        if (lpUserName) {
            std::string user;
            if (DWORD e = io->client_user(user)) return fail(e, FALSE);
            if (nMaxUserNameSize < user.size() + 1) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
            std::memcpy(lpUserName, user.c_str(), user.size() + 1);
        }
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeHandleStateW(HANDLE hNamedPipe, LPDWORD lpState, LPDWORD lpCurInstances,
                                     LPDWORD lpMaxCollectionCount, LPDWORD lpCollectDataTimeout, LPWSTR lpUserName,
                                     DWORD nMaxUserNameSize) {
    return guard(FALSE, [&]() -> BOOL {
        if (!GetNamedPipeHandleStateA(hNamedPipe, lpState, lpCurInstances, lpMaxCollectionCount,
                                      lpCollectDataTimeout, nullptr, 0))
            return FALSE;
        if (!lpUserName) return TRUE;
        std::string user;
        if (DWORD e = io_of(hNamedPipe)->client_user(user)) return fail(e, FALSE);
        std::u16string wide = to_utf16(user);
        if (nMaxUserNameSize < wide.size() + 1) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
        copy16(lpUserName, nMaxUserNameSize, wide);
        return TRUE;
    });
}

BOOL WINAPI SetNamedPipeHandleState(HANDLE hNamedPipe, LPDWORD lpMode, LPDWORD lpMaxCollectionCount,
                                    LPDWORD lpCollectDataTimeout) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        (void)lpMaxCollectionCount; // only meaningful for pipes to another machine
        (void)lpCollectDataTimeout;
        if (lpMode) {
            if (DWORD e = io->set_mode(*lpMode)) return fail(e, FALSE);
        }
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeClientProcessId(HANDLE Pipe, PULONG ClientProcessId) {
    return process_id_of(Pipe, true, ClientProcessId);
}

BOOL WINAPI GetNamedPipeServerProcessId(HANDLE Pipe, PULONG ServerProcessId) {
    return process_id_of(Pipe, false, ServerProcessId);
}

BOOL WINAPI GetNamedPipeClientSessionId(HANDLE Pipe, PULONG ClientSessionId) {
    return guard(FALSE, [&]() -> BOOL {
        ULONG pid = 0;
        if (!GetNamedPipeClientProcessId(Pipe, &pid)) return FALSE;
        if (!ClientSessionId) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
        *ClientSessionId = session_of(static_cast<pid_t>(pid));
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeServerSessionId(HANDLE Pipe, PULONG ServerSessionId) {
    return guard(FALSE, [&]() -> BOOL {
        ULONG pid = 0;
        if (!GetNamedPipeServerProcessId(Pipe, &pid)) return FALSE;
        if (!ServerSessionId) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
        *ServerSessionId = session_of(static_cast<pid_t>(pid));
        return TRUE;
    });
}

BOOL WINAPI ImpersonateNamedPipeClient(HANDLE hNamedPipe) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = io_of(hNamedPipe);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (DWORD e = io->impersonate_client()) return fail(e, FALSE);
        return TRUE;
    });
}

BOOL WINAPI RevertToSelf(void) {
    std::error_code ec;
    npipe::revert_to_self(ec);
    if (ec) return fail(code(ec), FALSE);
    return TRUE;
}

BOOL WINAPI GetUserNameA(LPSTR lpBuffer, LPDWORD pcbBuffer) {
    return guard(FALSE, [&]() -> BOOL {
        if (!pcbBuffer) return fail(ERROR_INVALID_PARAMETER, FALSE);
        // The calling thread's effective user: the client while impersonating.
        auto uid = npipe::os::thread_effective_uid();
        std::string name = user_name_of(uid);
        DWORD needed = static_cast<DWORD>(name.size() + 1);
        if (!lpBuffer || *pcbBuffer < needed) {
            *pcbBuffer = needed;
            return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
        }
        std::memcpy(lpBuffer, name.c_str(), needed);
        *pcbBuffer = needed;
        return TRUE;
    });
}

BOOL WINAPI GetUserNameW(LPWSTR lpBuffer, LPDWORD pcbBuffer) {
    return guard(FALSE, [&]() -> BOOL {
        if (!pcbBuffer) return fail(ERROR_INVALID_PARAMETER, FALSE);
        auto uid = npipe::os::thread_effective_uid();
        std::u16string name = to_utf16(user_name_of(uid));
        DWORD needed = static_cast<DWORD>(name.size() + 1);
        if (!lpBuffer || *pcbBuffer < needed) {
            *pcbBuffer = needed;
            return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
        }
        copy16(lpBuffer, needed, name);
        *pcbBuffer = needed;
        return TRUE;
    });
}

BOOL WINAPI CreatePipe(PHANDLE hReadPipe, PHANDLE hWritePipe, LPSECURITY_ATTRIBUTES lpPipeAttributes, DWORD nSize) {
    return guard(FALSE, [&]() -> BOOL {
        if (!hReadPipe || !hWritePipe) return fail(ERROR_INVALID_PARAMETER, FALSE);
        std::error_code ec;
        auto pipe = npipe::anonymous_pipe::create(nSize, false, ec);
        if (ec) return fail(code(ec), FALSE);
        handle_flags flags{inheritable(lpPipeAttributes), false};
        HANDLE r = insert_handle(std::make_shared<anonymous_pipe_object>(std::move(pipe.read_end)), flags);
        if (!r) return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
        HANDLE w = insert_handle(std::make_shared<anonymous_pipe_object>(std::move(pipe.write_end)), flags);
        if (!w) {
            CloseHandle(r);
            return fail(ERROR_NOT_ENOUGH_MEMORY, FALSE);
        }
        *hReadPipe = r;
        *hWritePipe = w;
        return TRUE;
    });
}

} // extern "C"
