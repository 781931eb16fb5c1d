#include "io_reactor.hpp"

#include "os/fd.hpp"
#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace npipe::detail {
namespace {

using clock = std::chrono::steady_clock;

/// A wait for a descriptor that is not there (the connection went): try again soon rather
/// than never.
constexpr auto lost_descriptor_retry = std::chrono::milliseconds(1);

} // namespace

struct io_reactor::state {
    std::mutex mutex;
    std::condition_variable settled; // a cancelled operation completed
    std::vector<std::shared_ptr<op_lane>> lanes; // lanes whose front operation waits here
    os::fd wake;
    bool running = false; // the thread has started
    bool forked = false;  // this is a fork()ed child of the process whose reactor this was
};

namespace {
io_reactor* g_reactor = nullptr; // for the fork handlers
} // namespace

io_reactor& io_reactor::get() {
    // Never destroyed: its thread may still run while the process exits.
    static io_reactor* r = [] {
        g_reactor = new io_reactor();
        (void)os::at_fork(&before_fork, &after_fork_parent, &after_fork_child);
        return g_reactor;
    }();
    return *r;
}

// fork() copies the reactor's state but not its thread. The mutex is held across fork() so the
// child's copy is consistent; the child only marks the state (between fork and exec it may only
// make async-signal-safe calls) and its first operation that waits starts a reactor of its own.
void io_reactor::before_fork() noexcept { g_reactor->s_->mutex.lock(); }
void io_reactor::after_fork_parent() noexcept { g_reactor->s_->mutex.unlock(); }
void io_reactor::after_fork_child() noexcept {
    g_reactor->s_->running = false;
    g_reactor->s_->forked = true;
    g_reactor->s_->mutex.unlock();
}

void io_reactor::forget_parent() {
    // With the mutex held, in the child. The parent's pending operations are the parent's:
    // the child neither drives them nor shares the parent's wake-up flag.
    s_->forked = false;
    s_->lanes.clear();
    auto w = os::make_wake_flag();
    s_->wake = w ? std::move(w.value) : os::fd{};
}

io_reactor::io_reactor() : s_(std::make_unique<state>()) {
    auto w = os::make_wake_flag();
    if (w) s_->wake = std::move(w.value);
}

void io_reactor::wake() noexcept { (void)os::set_wake_flag(s_->wake.get()); }

bool io_reactor::start(const std::shared_ptr<op_lane>& lane, std::shared_ptr<async_op> op, completion done) {
    {
        std::lock_guard lock(s_->mutex);
        bool idle = lane->ops.empty() && lane->stepping == op_lane::stepper::nobody;
        lane->ops.push_back({op, std::move(done), false, {}});
        if (!idle) return false; // its turn comes after those before it
        lane->stepping = op_lane::stepper::caller;
    }
    step_result r = op->step();
    std::lock_guard lock(s_->mutex);
    lane->stepping = op_lane::stepper::nobody;
    if (r.done()) {
        lane->ops.pop_front();
        if (!lane->ops.empty()) park(lane, {}); // others were started meanwhile: their turn
        else std::erase(s_->lanes, lane);       // nothing left to wait for
        return true;
    }
    park(lane, r);
    return false;
}

void io_reactor::park(const std::shared_ptr<op_lane>& lane, const step_result& r) {
    // With the mutex held. A `done` result means "step the front one now".
    lane->kick = r.done();
    lane->waits = r;
    auto retry = r.retry_after;
    if (!r.done() && r.what != wait_for::time && r.fd < 0) retry = lost_descriptor_retry;
    lane->due = retry.count() >= 0 ? clock::now() + retry : clock::time_point::max();
    if (s_->forked) forget_parent();
    if (std::find(s_->lanes.begin(), s_->lanes.end(), lane) == s_->lanes.end()) s_->lanes.push_back(lane);
    if (!s_->running) {
        s_->running = true;
        std::thread([this] { run(); }).detach();
    }
    wake();
}

std::size_t io_reactor::cancel(const std::shared_ptr<op_lane>& lane, const std::function<bool(const async_op&)>& pick,
                               std::error_code why) {
    std::lock_guard lock(s_->mutex);
    std::size_t found = 0;
    for (auto& e : lane->ops)
        if (!e.cancelled && pick(*e.op)) {
            e.cancelled = true;
            e.why = why;
            ++found;
        }
    // Whoever steps the front one now sees the marks when it parks the lane; a parked lane is
    // stepped at once.
    if (found && lane->stepping == op_lane::stepper::nobody) park(lane, {});
    return found;
}

void io_reactor::settle(const std::shared_ptr<op_lane>& lane) {
    std::unique_lock lock(s_->mutex);
    s_->settled.wait(lock, [&] {
        return std::none_of(lane->ops.begin(), lane->ops.end(), [](auto& e) { return e.cancelled; }) &&
               lane->stepping != op_lane::stepper::reactor;
    });
}

void io_reactor::run() noexcept {
    std::vector<pollfd> fds;
    std::vector<std::shared_ptr<op_lane>> watched;
    for (;;) {
        fds.assign(1, pollfd{s_->wake.get(), POLLIN, 0});
        watched.clear();
        auto next = clock::time_point::max();
        {
            std::lock_guard lock(s_->mutex);
            for (auto& lane : s_->lanes) {
                bool now = lane->kick || std::any_of(lane->ops.begin(), lane->ops.end(), [](auto& e) { return e.cancelled; });
                short events = lane->waits.what == wait_for::readable ? POLLIN
                               : lane->waits.what == wait_for::writable ? POLLOUT : 0;
                fds.push_back({events ? lane->waits.fd : -1, events, 0});
                watched.push_back(lane);
                next = std::min(next, now ? clock::now() : lane->due);
            }
        }
        int timeout = -1;
        if (next != clock::time_point::max())
            timeout = static_cast<int>(std::clamp<long long>(
                std::chrono::ceil<std::chrono::milliseconds>(next - clock::now()).count(), 0, 60000));
        (void)os::poll_all(fds, timeout);
        if (fds[0].revents) os::clear_wake_flag(s_->wake.get());
        auto now = clock::now();
        for (std::size_t i = 0; i < watched.size(); ++i) {
            auto& lane = watched[i];
            bool ready = fds[i + 1].revents != 0;
            {
                std::lock_guard lock(s_->mutex);
                ready = ready || lane->kick || now >= lane->due ||
                        std::any_of(lane->ops.begin(), lane->ops.end(), [](auto& e) { return e.cancelled; });
            }
            if (ready) serve(lane);
        }
    }
}

void io_reactor::serve(const std::shared_ptr<op_lane>& lane) noexcept {
    for (;;) {
        std::vector<op_lane::entry> aborted; // cancelled before they started
        op_lane::entry front;
        {
            std::lock_guard lock(s_->mutex);
            if (lane->stepping != op_lane::stepper::nobody) return; // the caller steps it; it parks it again
            for (auto it = lane->ops.begin() + (lane->ops.empty() ? 0 : 1); it != lane->ops.end();) {
                if (it->cancelled) {
                    aborted.push_back(std::move(*it));
                    it = lane->ops.erase(it);
                } else {
                    ++it;
                }
            }
            if (lane->ops.empty() && aborted.empty()) {
                std::erase(s_->lanes, lane);
                s_->settled.notify_all();
                return;
            }
            if (!lane->ops.empty()) {
                front = lane->ops.front();
                lane->stepping = op_lane::stepper::reactor;
                lane->kick = false;
            }
        }
        for (auto& e : aborted) {
            e.op->cancel(e.why);
            e.done(*e.op);
        }
        if (!front.op) continue;
        step_result r;
        if (front.cancelled) front.op->cancel(front.why); // complete by now
        else r = front.op->step();
        std::lock_guard lock(s_->mutex);
        lane->stepping = op_lane::stepper::nobody;
        if (!r.done()) {
            park(lane, r);
            s_->settled.notify_all();
            if (std::any_of(lane->ops.begin(), lane->ops.end(), [](auto& e) { return e.cancelled; })) continue;
            return;
        }
        lane->ops.pop_front();
        // Its completion runs without the lock. A new operation may start meanwhile: with
        // nothing queued it is stepped by its caller (data already there completes at once, as
        // on Windows), and the loop leaves the lane to that caller.
        s_->mutex.unlock();
        front.done(*front.op);
        s_->mutex.lock();
        s_->settled.notify_all();
    }
}

} // namespace npipe::detail
