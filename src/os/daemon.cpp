#include "os/daemon.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace npipe::os {

std::error_code make_pipe(fd& read_end, fd& write_end) noexcept {
    int p[2];
    auto r = sys_call([&] { return ::pipe2(p, O_CLOEXEC); });
    if (!r) return r.error;
    read_end.reset(p[0]);
    write_end.reset(p[1]);
    return {};
}

std::error_code spawn_daemon(const std::string& program, const std::vector<std::string>& args,
                             int keep_fd) noexcept {
    // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    auto devnull = sys_call([] { return ::open("/dev/null", O_RDWR | O_CLOEXEC); });
    if (!devnull) return devnull.error;
    fd null_fd{devnull.value};

    pid_t child = ::fork();
    if (child < 0) return {errno, std::generic_category()};
    if (child == 0) {
        ::setsid();
        pid_t grandchild = ::fork();
        // exit_group directly: a sanitizer's _exit may flush the caller's stdio buffers, which
        // the forked copy shares, and print the caller's pending output twice.
        if (grandchild != 0) ::syscall(SYS_exit_group, grandchild < 0 ? 1 : 0);
        ::dup2(null_fd.get(), 0);
        ::dup2(null_fd.get(), 1);
        ::dup2(null_fd.get(), 2);
        int flags = ::fcntl(keep_fd, F_GETFD);
        if (flags >= 0) ::fcntl(keep_fd, F_SETFD, flags & ~FD_CLOEXEC);
        // Nothing else of the caller's may leak into a long-lived daemon.
        if (keep_fd > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep_fd - 1), 0u);
        ::syscall(SYS_close_range, static_cast<unsigned>(keep_fd + 1), ~0u, 0u);
        ::execv(program.c_str(), argv.data());
        ::syscall(SYS_exit_group, 127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    return {};
}

std::string object_path_of(const void* address) {
    Dl_info info{};
    if (::dladdr(address, &info) == 0 || !info.dli_fname) return {};
    char resolved[4096];
    if (::realpath(info.dli_fname, resolved)) return resolved;
    return info.dli_fname;
}

bool is_executable(const std::string& path) noexcept {
    struct stat st{};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

} // namespace npipe::os
