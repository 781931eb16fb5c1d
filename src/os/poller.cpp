#include "os/poller.hpp"

#include <algorithm>
#include <thread>

#include <csignal>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace npipe::os {

sys_result<poller> poller::create() noexcept {
    auto r = sys_call([] { return ::epoll_create1(EPOLL_CLOEXEC); });
    poller p;
    if (!r) return {std::move(p), r.error};
    p.epoll_.reset(r.value);
    return {std::move(p), {}};
}

std::error_code poller::add(int raw, std::uint32_t events, std::uint64_t tag) noexcept {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return sys_call([&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, raw, &ev); }).error;
}

std::error_code poller::modify(int raw, std::uint32_t events, std::uint64_t tag) noexcept {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return sys_call([&] { return ::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, raw, &ev); }).error;
}

void poller::remove(int raw) noexcept {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, raw, nullptr);
}

std::error_code poller::wait(std::vector<epoll_event>& out, int timeout_ms) noexcept {
    out.resize(batch);
    int n = ::epoll_wait(epoll_.get(), out.data(), static_cast<int>(out.size()), timeout_ms);
    if (n < 0) {
        out.clear();
        if (errno == EINTR) return {};
        return {errno, std::generic_category()};
    }
    out.resize(static_cast<std::size_t>(n));
    return {};
}

sys_result<fd> signal_descriptor(std::initializer_list<int> signals) noexcept {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) return {fd{}, {EINVAL, std::generic_category()}};
    auto r = sys_call([&] { return ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK); });
    if (!r) return {fd{}, r.error};
    return {fd{r.value}, {}};
}

sys_result<int> read_signal(int sigfd) noexcept {
    signalfd_siginfo info{};
    auto r = sys_call([&] { return ::read(sigfd, &info, sizeof(info)); });
    if (!r) return {0, r.error};
    return {static_cast<int>(info.ssi_signo), {}};
}

void ignore_sigpipe() noexcept { ::signal(SIGPIPE, SIG_IGN); }

sys_result<fd> lock_file(const std::string& path, std::chrono::milliseconds patience) noexcept {
    auto r = sys_call([&] { return ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600); });
    if (!r) return {fd{}, r.error};
    fd lock{r.value};
    const auto deadline = std::chrono::steady_clock::now() + patience;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        auto l = sys_call([&] { return ::flock(lock.get(), LOCK_EX | LOCK_NB); });
        if (l) return {std::move(lock), {}};
        if (l.error != std::errc::operation_would_block) return {fd{}, l.error};
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return {fd{}, l.error};
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

std::error_code remove_file(const std::string& path) noexcept {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return {errno, std::generic_category()};
    return {};
}

std::error_code redirect_stderr(const std::string& path) noexcept {
    auto r = sys_call([&] {
        return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    });
    if (!r) return r.error;
    fd log{r.value};
    return sys_call([&] { return ::dup2(log.get(), 2); }).error;
}

} // namespace npipe::os
