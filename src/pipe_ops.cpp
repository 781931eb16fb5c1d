// Driving an operation on the calling thread, and cancelling it from another (CancelSynchronousIo).
#include "pipe_ops.hpp"

#include "os/fd.hpp"

#include <poll.h>
#include <thread>

namespace npipe::detail {

namespace {

thread_local sync_cancel* t_active = nullptr;

int timeout_of(const step_result& r) noexcept {
    if (r.retry_after.count() < 0) return -1;
    return static_cast<int>((r.retry_after.count() + 999) / 1000); // rounded up: never early
}

/// As wait_blocking, also waking when `also` becomes readable.
void wait_with(const step_result& r, int also) noexcept {
    pollfd fds[2] = {{r.fd, 0, 0}, {also, POLLIN, 0}};
    if (r.what == wait_for::readable) fds[0].events = POLLIN;
    else if (r.what == wait_for::writable) fds[0].events = POLLOUT;
    else fds[0].fd = -1; // a time: only the flag
    (void)os::poll_all(fds, timeout_of(r));
}

} // namespace

void wait_blocking(const step_result& r, int also) noexcept {
    if (r.what == wait_for::nothing) return;
    if (also >= 0) return wait_with(r, also);
    if (r.what == wait_for::time || r.fd < 0) {
        if (r.retry_after.count() > 0) std::this_thread::sleep_for(r.retry_after);
        return;
    }
    int timeout_ms = timeout_of(r);
    if (r.what == wait_for::readable) (void)os::wait_readable(r.fd, timeout_ms);
    else (void)os::wait_writable(r.fd, timeout_ms);
}

// ---- sync_cancel ------------------------------------------------------------------------------

sync_cancel::~sync_cancel() {
    if (flag_ >= 0) os::fd closing(flag_);
}

bool sync_cancel::arm() noexcept {
    std::lock_guard lock(mutex_);
    if (flag_ < 0) {
        auto made = os::make_wake_flag();
        if (!made) return false;
        flag_ = made.value.release();
    }
    if (flag_set_) {
        os::clear_wake_flag(flag_);
        flag_set_ = false;
    }
    requested_.store(false, std::memory_order_relaxed);
    armed_ = true;
    return true;
}

void sync_cancel::disarm() noexcept {
    std::lock_guard lock(mutex_);
    armed_ = false;
}

bool sync_cancel::cancel() noexcept {
    std::lock_guard lock(mutex_);
    if (!armed_) return false;
    if (!flag_set_) {
        requested_.store(true, std::memory_order_release);
        (void)os::set_wake_flag(flag_);
        flag_set_ = true;
    }
    return true;
}

sync_cancel* active_sync_cancel() noexcept { return t_active; }

// A scope inside another (a call made by a call) leaves the outer one in charge.
sync_cancel_scope::sync_cancel_scope(sync_cancel& c) noexcept : previous_(t_active), armed_(!t_active && c.arm()) {
    if (armed_) t_active = &c;
}

sync_cancel_scope::~sync_cancel_scope() {
    if (armed_) t_active->disarm();
    t_active = previous_;
}

} // namespace npipe::detail
