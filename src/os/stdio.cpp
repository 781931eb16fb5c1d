#include "os/stdio.hpp"

#include <array>
#include <csignal>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

namespace npipe::os {
namespace {

short poll_events(io_ready wanted) noexcept {
    short events = 0;
    if (any_of(wanted, io_ready::readable)) events |= POLLIN;
    if (any_of(wanted, io_ready::writable)) events |= POLLOUT;
    return events;
}

io_ready found_of(short revents) noexcept {
    io_ready found = io_ready::none;
    if (revents & POLLIN) found = found | io_ready::readable;
    if (revents & POLLOUT) found = found | io_ready::writable;
    if (revents & POLLHUP) found = found | io_ready::hung_up;
    if (revents & (POLLERR | POLLNVAL)) found = found | io_ready::failed;
    return found;
}

} // namespace

sys_result<std::size_t> wait_ready(std::span<io_watch> watches, int timeout_ms) noexcept {
    if (watches.size() > max_watches) return {0, std::make_error_code(std::errc::invalid_argument)};
    std::array<pollfd, max_watches> fds{};
    for (std::size_t i = 0; i < watches.size(); ++i) fds[i] = {watches[i].fd, poll_events(watches[i].wanted), 0};
    auto r = sys_call([&] { return ::poll(fds.data(), static_cast<nfds_t>(watches.size()), timeout_ms); });
    for (std::size_t i = 0; i < watches.size(); ++i) watches[i].found = r ? found_of(fds[i].revents) : io_ready::none;
    if (!r) return {0, r.error};
    return {static_cast<std::size_t>(r.value), {}};
}

sys_result<std::size_t> write_some(int raw, const void* data, std::size_t size) noexcept {
    auto r = sys_call([&] { return ::write(raw, data, size); });
    if (!r) return {0, r.error};
    return {static_cast<std::size_t>(r.value), {}};
}

bool is_terminal(int raw) noexcept { return ::isatty(raw) == 1; }

std::error_code block_signals(std::initializer_list<int> signals) noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); // returns the error; never EINTR
    return rc == 0 ? std::error_code{} : std::error_code(rc, std::generic_category());
}

} // namespace npipe::os
