// bench/unix_sockets.hpp - the plain AF_UNIX stream sockets the baselines and floors are made of.
// Each throws std::system_error on failure, except unix_accept (see there).
#pragma once

#include <string>

#include <sys/un.h>

namespace bench {

/// The address of `path` (which must fit in sun_path).
sockaddr_un unix_address(const std::string& path);
/// A socket bound to `path` and listening (close-on-exec).
int unix_listener(const std::string& path);
/// A socket connected to `addr` (close-on-exec).
int unix_connect(const sockaddr_un& addr);
/// The next connection on `listener`; -1 (errno set) when the listener was shut down or failed.
int unix_accept(int listener);

/// Throws std::system_error for errno, saying `what` failed.
[[noreturn]] void throw_errno(const char* what);

/// Closes `fd` when it goes out of scope, thrown through or not.
struct closing_fd {
    int fd;
    explicit closing_fd(int raw) noexcept : fd(raw) {}
    closing_fd(const closing_fd&) = delete;
    closing_fd& operator=(const closing_fd&) = delete;
    ~closing_fd();
};

} // namespace bench
