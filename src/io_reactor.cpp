#include "io_reactor.hpp"

#include "os/fd.hpp"
#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace npipe::detail {
namespace {

using clock = std::chrono::steady_clock;

/// A wait for a descriptor that is not there (the connection went): try again soon rather
/// than never.
constexpr auto lost_descriptor_retry = std::chrono::milliseconds(1);

/// The lanes waiting for one descriptor (a handle's reads and writes share its socket).
///
/// A descriptor numbered below `tracked` stays registered from the first wait until it is
/// closed (os::fd tells us first: before_close), edge-triggered and one-shot: an edge wakes the
/// poller once, and the registration is armed again (epoll_ctl) only when a lane parks for it
/// after that. Without one-shot, every write the peer makes would wake the poller, also while
/// nobody waits - a busy server whose reads all find their data at once paid a wake-up of the
/// reactor thread per message for nothing. An edge that comes while no lane waits for it (the
/// lane is being stepped, or nobody reads) is kept in `ready` and steps the next lane that parks
/// for it. Higher numbers get a one-shot registration armed for each wait.
struct fd_watch {
    std::vector<std::shared_ptr<op_lane>> lanes;
    std::uint32_t events = 0; // what the registration asks for
    std::uint32_t ready = 0;  // EPOLLIN, EPOLLOUT, EPOLLHUP seen with nobody waiting for them
    bool armed = false;       // armed, and no edge has come since
};

constexpr int tracked = 1 << 16;

constexpr std::uint64_t wake_tag = ~std::uint64_t{0};

/// How long the reactor thread leaves polling to the application thread that polled last: a
/// server loop comes back to its wait long before; a thread that went off to do something else
/// delays the operations it left behind by no more than this.
constexpr auto handback = std::chrono::milliseconds(1);

/// How often an application thread busy with waits answered at once polls (poll_if_due): well
/// within `handback`, so the reactor thread does not take over from it.
constexpr auto busy_poll = std::chrono::microseconds(200);

} // namespace

struct io_reactor::state {
    std::mutex mutex;
    std::condition_variable settled; // a cancelled operation completed
    os::poller poller;
    std::unordered_map<int, fd_watch> watches;      // lanes waiting for a descriptor
    /// Per descriptor number below `tracked`: bit 0 set while it has an edge-triggered
    /// registration; the closes of that number counted above it. Written by before_close()
    /// without the mutex.
    std::unique_ptr<std::atomic<std::uint32_t>[]> marks{new std::atomic<std::uint32_t>[tracked]{}};
    std::vector<std::shared_ptr<op_lane>> timed;    // lanes with a due time
    std::vector<std::shared_ptr<op_lane>> queued;   // lanes to step at once
    os::fd wake;
    std::thread::id thread;                          // the reactor's
    clock::time_point sleeps_until = clock::time_point::min(); // while the poller sleeps in epoll
    bool running = false; // the thread has started
    bool forked = false;  // this is a fork()ed child of the process whose reactor this was
    // Who polls: the reactor thread, an application thread (try_lead), or nobody for a moment.
    std::condition_variable standby; // the reactor thread waits here while it does not poll
    std::condition_variable handed;  // the reactor thread stopped polling (an application asked)
    std::atomic<bool> app_leads{false};
    bool reactor_polls = false;
    bool yield_asked = false;        // an application thread waits to poll instead
    bool nudged = false;             // something must be stepped now and nobody polls
    bool sleeps_long = false;        // the reactor thread waits for the leader to leave
    clock::time_point app_left{};    // when an application thread last stopped polling
    std::atomic<clock::rep> last_poll{0}; // when a poll last returned (poll_if_due's hint)

    /// A fresh epoll set watching the wake-up flag (at start, and in a fork()ed child).
    void open_poller() {
        auto w = os::make_wake_flag();
        wake = w ? std::move(w.value) : os::fd{};
        auto p = os::poller::create();
        if (p) poller = std::move(p.value);
        if (wake) (void)poller.add(wake.get(), EPOLLIN, wake_tag);
    }
};

namespace {
io_reactor* g_reactor = nullptr;                    // for the fork handlers
std::atomic<io_reactor*> g_reactor_ready{nullptr}; // for interrupt_leader(), once made
} // namespace

io_reactor& io_reactor::get() {
    // Never destroyed: its thread may still run while the process exits.
    static io_reactor* r = [] {
        g_reactor = new io_reactor();
        (void)os::at_fork(&before_fork, &after_fork_parent, &after_fork_child);
        g_reactor_ready.store(g_reactor, std::memory_order_release);
        os::set_before_close(&before_close);
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
    // With the mutex held, in the child. The parent's pending operations are the parent's: the
    // child neither drives them nor touches the parent's epoll set (shared with the child through
    // the inherited descriptor) or wake-up flag.
    s_->forked = false;
    for (auto* list : {&s_->timed, &s_->queued})
        for (auto& lane : *list) lane->timed = lane->queued = false;
    for (auto& [fd, w] : s_->watches)
        for (auto& lane : w.lanes) lane->watched_fd = -1;
    s_->watches.clear();
    for (int fd = 0; fd < tracked; ++fd) s_->marks[fd].store(0, std::memory_order_relaxed);
    s_->timed.clear();
    s_->queued.clear();
    s_->app_leads = false;
    s_->reactor_polls = s_->yield_asked = s_->nudged = s_->sleeps_long = false;
    s_->open_poller();
}

io_reactor::io_reactor() : s_(std::make_unique<state>()) { s_->open_poller(); }

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
        return true;
    }
    park(lane, r);
    return false;
}

bool io_reactor::unregister(op_lane& lane) {
    bool was = lane.timed || lane.queued || lane.watched_fd >= 0;
    auto drop = [&](std::vector<std::shared_ptr<op_lane>>& list) {
        std::erase_if(list, [&](const auto& l) { return l.get() == &lane; });
    };
    if (lane.timed) drop(s_->timed);
    if (lane.queued) drop(s_->queued);
    if (lane.watched_fd >= 0) {
        // A one-shot registration stays armed for the others, or fires once for nobody:
        // harmless. An edge-triggered one keeps its watch (and what it saw) until its close.
        auto w = s_->watches.find(lane.watched_fd);
        if (w != s_->watches.end()) {
            drop(w->second.lanes);
            if (w->second.lanes.empty() && !registered(lane.watched_fd)) s_->watches.erase(w);
        }
    }
    lane.timed = lane.queued = false;
    lane.watched_fd = -1;
    return was;
}

bool io_reactor::registered(int fd) const noexcept {
    return fd >= 0 && fd < tracked && (s_->marks[fd].load(std::memory_order_acquire) & 1);
}

void io_reactor::arm(int fd, bool recheck) {
    auto& w = s_->watches[fd];
    auto tag = static_cast<std::uint64_t>(fd);
    std::uint32_t want = 0;
    for (auto& lane : w.lanes)
        want |= lane->waits.what == wait_for::readable ? std::uint32_t{EPOLLIN | EPOLLRDHUP} : std::uint32_t{EPOLLOUT};
    if (fd >= tracked) {
        // A descriptor number may have been closed and reused since it was last armed: the
        // registration belongs to the old file then, and the new one is added.
        if (s_->poller.modify(fd, EPOLLONESHOT | want, tag)) (void)s_->poller.add(fd, EPOLLONESHOT | want, tag);
        return;
    }
    want |= EPOLLIN | EPOLLRDHUP; // reads are what waits, nearly always: asked for from the start
    auto mark = s_->marks[fd].load(std::memory_order_acquire);
    if (mark & 1) {
        // Still armed since the last edge: the next one wakes the poller, with no system call.
        // A read that was only short may have left bytes behind: epoll_ctl looks again (arming
        // looks at what is there now). Room that no write waits for any more is dropped.
        if (w.armed && want == w.events && !recheck) return;
        w.events = want;
        w.armed = true;
        (void)s_->poller.modify(fd, EPOLLET | EPOLLONESHOT | w.events, tag);
        return;
    }
    // Never registered, or its number was closed since: what was seen belongs to the old file.
    w.events = want;
    w.ready = 0;
    w.armed = true;
    auto ec = s_->poller.add(fd, EPOLLET | EPOLLONESHOT | want, tag);
    if (ec == std::errc::file_exists) ec = s_->poller.modify(fd, EPOLLET | EPOLLONESHOT | want, tag);
    // A close that came meanwhile (another thread's) leaves it unregistered.
    if (!ec) s_->marks[fd].compare_exchange_strong(mark, mark | 1, std::memory_order_acq_rel);
}

void io_reactor::before_close(int fd) noexcept {
    auto* r = existing();
    if (!r || fd < 0 || fd >= tracked) return;
    // A fork()ed child shares the parent's epoll set: removing its own copy of a descriptor
    // from it would remove the parent's registration (the set knows the file, not the process).
    if (r->s_->forked) return;
    auto& mark = r->s_->marks[fd];
    if (!(mark.load(std::memory_order_acquire) & 1)) return; // not ours: the usual close costs nothing
    // Counted and unregistered in one step; epoll forgets the file only when its last
    // descriptor closes, so the registration goes explicitly (epoll_ctl needs no lock).
    if (mark.fetch_add(1, std::memory_order_acq_rel) & 1) r->s_->poller.remove(fd);
}

void io_reactor::park(const std::shared_ptr<op_lane>& lane, const step_result& r) {
    // With the mutex held. A `done` result means "step the front one now".
    if (s_->forked) forget_parent();
    unregister(*lane);
    lane->kick = r.done();
    lane->waits = r;
    auto retry = r.retry_after;
    bool watch = !r.done() && r.what != wait_for::time && r.fd >= 0;
    if (!r.done() && !watch) retry = std::max(retry, std::chrono::microseconds(0)); // a time, or a lost descriptor
    if (!r.done() && r.what != wait_for::time && r.fd < 0) retry = lost_descriptor_retry;
    lane->due = retry.count() >= 0 ? clock::now() + retry : clock::time_point::max();
    bool on_reactor = s_->running && std::this_thread::get_id() == s_->thread;
    bool now = r.done() || std::any_of(lane->ops.begin(), lane->ops.end(), [](auto& e) { return e.cancelled; });
    if (watch && !now && registered(r.fd)) {
        // An edge that came while the lane was being stepped: step it again rather than wait
        // for one that will not come. What is seen is used once: an event collected late for a
        // closed descriptor whose number is in use again makes one needless step, not a loop.
        auto& w = s_->watches[r.fd];
        std::uint32_t need = r.what == wait_for::readable ? std::uint32_t{EPOLLIN} : std::uint32_t{EPOLLOUT};
        if (w.ready & (need | EPOLLHUP)) {
            w.ready &= ~(need | EPOLLHUP);
            now = true;
        }
    }
    bool wake_needed = false;
    if (now) {
        lane->queued = true;
        s_->queued.push_back(lane);
        wake_needed = true;
    } else {
        if (watch) {
            lane->watched_fd = r.fd;
            s_->watches[r.fd].lanes.push_back(lane);
            arm(r.fd, r.what == wait_for::readable && !r.drained);
        }
        if (lane->due != clock::time_point::max()) {
            lane->timed = true;
            s_->timed.push_back(lane);
            wake_needed = wake_needed || lane->due < s_->sleeps_until;
        }
    }
    if (!s_->running) {
        s_->running = true;
        std::thread([this] { run(); }).detach();
    }
    // A poller looks at the lists again before it sleeps, and a descriptor's registration
    // reaches its epoll_wait without waking it. With nobody polling, the reactor thread takes
    // over after `handback`, or at once for what must be stepped now.
    if (!wake_needed || on_reactor) return;
    if (s_->reactor_polls || s_->app_leads) {
        wake();
    } else {
        s_->nudged = s_->nudged || now;
        s_->standby.notify_one();
    }
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

int io_reactor::sleep_ms() {
    if (!s_->queued.empty()) {
        s_->sleeps_until = clock::time_point::min();
        return 0;
    }
    auto next = clock::time_point::max();
    for (auto& lane : s_->timed) next = std::min(next, lane->due);
    s_->sleeps_until = next;
    if (next == clock::time_point::max()) return -1;
    return static_cast<int>(std::clamp<long long>(
        std::chrono::ceil<std::chrono::milliseconds>(next - clock::now()).count(), 0, 60000));
}

void io_reactor::collect(std::span<const epoll_event> events, std::vector<std::shared_ptr<op_lane>>& ready) {
    for (auto& ev : events) {
        if (ev.data.u64 == wake_tag) {
            os::clear_wake_flag(s_->wake.get());
            continue;
        }
        int fd = static_cast<int>(ev.data.u64);
        auto w = s_->watches.find(fd);
        if (w == s_->watches.end()) continue; // fired for lanes that have gone
        bool broken = ev.events & (EPOLLERR | EPOLLHUP);
        std::uint32_t got = ev.events & EPOLLOUT;
        if (ev.events & (EPOLLIN | EPOLLRDHUP)) got |= EPOLLIN;
        if (broken) got |= EPOLLHUP;
        std::vector<std::shared_ptr<op_lane>> hit;
        std::uint32_t taken = 0;
        for (auto& lane : w->second.lanes) {
            std::uint32_t need = lane->waits.what == wait_for::readable ? std::uint32_t{EPOLLIN} : std::uint32_t{EPOLLOUT};
            // The edge disarmed the registration: a lane it was not for (a write waiting for
            // room when data came) is stepped too, and parks again, arming it.
            if (broken || (got & need) || fd < tracked) {
                hit.push_back(lane);
                taken |= need;
            }
        }
        // No epoll_ctl here: the descriptor may be closing in its owner's thread right now
        // (before_close takes it out of the set there). Only a parking lane, whose operation
        // keeps its descriptor open, changes a registration.
        if (fd < tracked) {
            w->second.armed = false;
            w->second.ready |= got & ~taken; // for the lane that parks next
        }
        for (auto& lane : hit) {
            unregister(*lane);
            ready.push_back(std::move(lane));
        }
        if (fd >= tracked && s_->watches.count(fd)) arm(fd, false); // one-shot: the others still wait
    }
    auto now = clock::now();
    std::vector<std::shared_ptr<op_lane>> due;
    for (auto& lane : s_->timed)
        if (lane->due <= now) due.push_back(lane);
    for (auto* list : {&due, &s_->queued})
        for (auto lane : std::vector(*list))
            if (unregister(*lane)) ready.push_back(std::move(lane));
}

void io_reactor::run() noexcept {
    {
        std::lock_guard lock(s_->mutex);
        s_->thread = std::this_thread::get_id();
    }
    for (;;) {
        int timeout = 0;
        {
            std::unique_lock lock(s_->mutex);
            stand_by(lock);
            s_->reactor_polls = true;
            timeout = sleep_ms();
        }
        poll_once(timeout, false);
    }
}

void io_reactor::stand_by(std::unique_lock<std::mutex>& lock) {
    for (;;) {
        if (s_->nudged) {
            s_->nudged = false;
            return;
        }
        if (s_->app_leads) {
            // Until the leader leaves (it says so then): an idle server's reactor thread sleeps.
            s_->sleeps_long = true;
            s_->standby.wait(lock);
            s_->sleeps_long = false;
            continue;
        }
        auto now = clock::now();
        auto until = s_->app_left + handback;
        if (now >= until || !s_->queued.empty()) return;
        for (auto& lane : s_->timed) until = std::min(until, lane->due);
        if (now >= until) return;
        s_->standby.wait_until(lock, until);
    }
}

void io_reactor::poll_once(int timeout_ms, bool leader) noexcept {
    thread_local std::vector<epoll_event> events;
    thread_local std::vector<std::shared_ptr<op_lane>> ready;
    (void)s_->poller.wait(events, timeout_ms);
    s_->last_poll.store(clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    {
        std::lock_guard lock(s_->mutex);
        s_->sleeps_until = clock::time_point::min();
        if (leader) {
            s_->app_leads = false;
            s_->app_left = clock::now();
            if (s_->sleeps_long) { // it takes over in `handback` unless an application leads again
                s_->sleeps_long = false;
                s_->standby.notify_one();
            }
        } else {
            s_->reactor_polls = false;
            if (s_->yield_asked) {
                // Handed over in one step: the reactor thread must not take it back before the
                // asker wakes up.
                s_->yield_asked = false;
                s_->app_leads = true;
                s_->handed.notify_all();
            }
        }
        collect(events, ready);
    }
    for (auto& lane : ready) serve(lane);
    ready.clear();
}

bool io_reactor::try_lead(bool take_over) {
    std::unique_lock lock(s_->mutex);
    if (s_->forked || s_->app_leads || s_->yield_asked) return false;
    if (s_->watches.empty() && s_->timed.empty() && s_->queued.empty()) return false; // nothing to poll for
    if (s_->reactor_polls) {
        if (!take_over) return false;
        // It polls on because no application thread did for a while: it hands over at once
        // (poll_once sets app_leads for this thread).
        s_->yield_asked = true;
        wake();
        s_->handed.wait(lock, [&] { return !s_->yield_asked; });
        return true;
    }
    s_->app_leads = true;
    return true;
}

void io_reactor::lead(std::optional<clock::time_point> deadline) noexcept {
    int timeout = 0;
    {
        std::lock_guard lock(s_->mutex);
        timeout = sleep_ms();
        if (deadline) {
            auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now()).count();
            int until_deadline = static_cast<int>(std::clamp<long long>(left, 0, 60000));
            timeout = timeout < 0 ? until_deadline : std::min(timeout, until_deadline);
        }
    }
    poll_once(timeout, true);
}

void io_reactor::poll_if_due() noexcept {
    auto* r = existing();
    if (!r) return;
    auto now = clock::now().time_since_epoch();
    if (now - clock::duration(r->s_->last_poll.load(std::memory_order_relaxed)) < busy_poll) return;
    // Never at the price of a hand-over: a thread sleeping in epoll_wait collects already, and a
    // wait answered at once must not wait for the reactor thread to wake up and step aside.
    if (!r->try_lead(false)) return; // another thread polls, or nothing waits
    r->poll_once(0, true);
}

io_reactor* io_reactor::existing() noexcept { return g_reactor_ready.load(std::memory_order_acquire); }

bool io_reactor::application_leads() noexcept {
    auto* r = existing();
    return r && r->s_->app_leads.load(std::memory_order_relaxed);
}

void io_reactor::interrupt_leader() noexcept {
    // Without a reactor nobody leads (and a process that never starts an operation makes none).
    auto* r = existing();
    if (r && r->s_->app_leads.load(std::memory_order_relaxed)) r->wake();
}

void io_reactor::serve(const std::shared_ptr<op_lane>& lane) noexcept {
    for (;;) {
        std::vector<op_lane::entry> aborted; // cancelled before they started
        op_lane::entry front;
        {
            std::lock_guard lock(s_->mutex);
            if (lane->stepping != op_lane::stepper::nobody) return; // the caller steps it; it parks it again
            if (lane->timed || lane->queued || lane->watched_fd >= 0) return; // parked again meanwhile: it waits
            for (auto it = lane->ops.begin() + (lane->ops.empty() ? 0 : 1); it != lane->ops.end();) {
                if (it->cancelled) {
                    aborted.push_back(std::move(*it));
                    it = lane->ops.erase(it);
                } else {
                    ++it;
                }
            }
            if (lane->ops.empty() && aborted.empty()) {
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
            return; // a cancelled one queues it again: the reactor steps it before it sleeps
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
