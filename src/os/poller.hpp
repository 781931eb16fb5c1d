// os/poller.hpp - epoll, signalfd and file locks for the broker's event loop.
#pragma once

#include <chrono>

#include "os/fd.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <sys/epoll.h>
#include <vector>

namespace npipe::os {

class poller {
public:
    static sys_result<poller> create() noexcept;
    std::error_code add(int raw, std::uint32_t events, std::uint64_t tag) noexcept;
    std::error_code modify(int raw, std::uint32_t events, std::uint64_t tag) noexcept;
    void remove(int raw) noexcept;
    /// Waits up to `timeout_ms` (-1 forever); fills `out` with ready events.
    std::error_code wait(std::vector<epoll_event>& out, int timeout_ms) noexcept;
    /// How many events one wait() returns at most.
    static constexpr std::size_t batch = 64;
    /// The epoll descriptor itself (to watch this poller from another one).
    int native_handle() const noexcept { return epoll_.get(); }

private:
    fd epoll_;
};

/// A signalfd for `signals`, which are blocked for the calling thread.
sys_result<fd> signal_descriptor(std::initializer_list<int> signals) noexcept;
/// Reads one signal from a signalfd; returns its number.
sys_result<int> read_signal(int sigfd) noexcept;
/// Ignores SIGPIPE process-wide (the broker only).
void ignore_sigpipe() noexcept;

/// Opens (creating, 0600) `path` without following symlinks and takes an exclusive flock:
/// without waiting, or waiting up to `patience` for the holder to let go (EWOULDBLOCK when it
/// has not). flock cannot wait for a time, so the wait tries again at growing intervals (1 to
/// 50 ms). The lock belongs to the returned descriptor, so threads of one process exclude each
/// other too.
sys_result<fd> lock_file(const std::string& path,
                         std::chrono::milliseconds patience = std::chrono::milliseconds(0)) noexcept;
/// unlink(2); ENOENT is not an error.
std::error_code remove_file(const std::string& path) noexcept;
/// Redirects stderr (fd 2) to `path` (append, 0600).
std::error_code redirect_stderr(const std::string& path) noexcept;

} // namespace npipe::os
