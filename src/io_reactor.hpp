// io_reactor.hpp - operations started now and completed later: overlapped I/O, completion
// routines and ports, the async C++ API.
//
// A handle has lanes - its reads, its writes, its ConnectNamedPipe - and a lane runs its
// operations one at a time, in the order they were started (two overlapped reads complete in
// order, as on Windows). Starting an operation on an idle lane steps it once on the caller's
// thread: what can complete at once does, and the caller reports it as a synchronous result.
// Otherwise one thread per process, the reactor, waits for what each lane's first operation
// waits for (a descriptor, in one epoll set; a time) and steps it; when it completes, the lane's completion
// function runs on the reactor thread and the next operation in the lane starts.
//
// fork(): the child starts a reactor of its own with its first operation that waits; the
// operations the parent had pending are the parent's and never complete in the child.
//
// Cancelling (CancelIo, CancelIoEx, a handle closing) marks operations; the reactor cancels the
// running one with its own cancel() (which gives back what it can) and completes the waiting
// ones without starting them, all with ERROR_OPERATION_ABORTED, in the lane's order.
#pragma once

#include "os/poller.hpp"
#include "pipe_ops.hpp"

#include <deque>
#include <system_error>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

namespace npipe::detail {

/// An operation a lane runs. step() and cancel() take the locks they need themselves; the lane
/// never runs two of them at once.
class async_op {
public:
    virtual ~async_op() = default;
    virtual step_result step() noexcept = 0;
    /// Ends it at once with `why` (ERROR_OPERATION_ABORTED for CancelIo; DisconnectNamedPipe
    /// and CloseHandle give their own), giving back what it can.
    virtual void cancel(std::error_code why) noexcept = 0;
    /// How it ended (after step() returned complete, or cancel()).
    virtual op_outcome result() const noexcept = 0;

    /// Who started it and what it was started with (an OVERLAPPED*): what CancelIo and
    /// CancelIoEx pick by.
    std::thread::id starter = std::this_thread::get_id();
    const void* tag = nullptr;
};

/// Runs on the reactor thread when an operation that did not complete at once completes.
using completion = std::function<void(async_op&)>;

/// One lane of a handle. Only the reactor looks inside.
class op_lane {
private:
    friend class io_reactor;
    struct entry {
        std::shared_ptr<async_op> op;
        completion done;
        bool cancelled = false;
        std::error_code why;
    };
    enum class stepper { nobody, caller, reactor };
    std::deque<entry> ops;          // the front one runs
    stepper stepping = stepper::nobody;
    step_result waits;              // what the front one waits for
    std::chrono::steady_clock::time_point due{}; // waits.retry_after from when it was said
    bool kick = false;              // step the front one now (a cancel, a new front)
    // Where the reactor keeps it while it waits (all false: it is not waiting there).
    int watched_fd = -1;            // in that descriptor's watch
    bool timed = false;             // among the lanes with a due time
    bool queued = false;            // among the lanes to step at once
};

class io_reactor {
public:
    /// The process's reactor (its thread starts with the first operation that waits).
    static io_reactor& get();
    /// The process's reactor if an operation has made it, else null (makes none).
    static io_reactor* existing() noexcept;

    /// Starts `op` on `lane`. On an idle lane it is stepped once here: true when that completed
    /// it (`done` is not called; the caller reports the result). Otherwise it waits its turn,
    /// and `done` runs on the reactor thread once it completes.
    bool start(const std::shared_ptr<op_lane>& lane, std::shared_ptr<async_op> op, completion done);
    /// Cancels the operations of `lane` that `pick` chooses, ending them with `why`; how many
    /// it found. They complete on the reactor thread, soon.
    std::size_t cancel(const std::shared_ptr<op_lane>& lane, const std::function<bool(const async_op&)>& pick,
                       std::error_code why);
    /// Waits until every cancelled operation of `lane` has completed (its completion has run).
    void settle(const std::shared_ptr<op_lane>& lane);

    /// Leader/follower. A thread about to sleep until something changes (a Win32 wait) polls
    /// for the reactor meanwhile, so that what it waits for completes on its own thread with no
    /// wake-up in between - the difference between an overlapped server and a thread per client.
    /// try_lead() makes the caller that poller when no other application thread is and some
    /// operation waits; call it with the lock under which the caller checked what it waits for
    /// still held, so that a change made after the check reaches it (interrupt_leader()). Then,
    /// without that lock, lead() polls once - until something is ready, interrupt_leader() or
    /// `deadline` - steps what is ready and runs their completions here. The reactor thread
    /// polls when no application thread has for a millisecond; operations never wait for an
    /// application thread to come back longer than that.
    /// `take_over`: also when the reactor thread polls now (it is asked to step aside, and the
    /// caller waits until it has).
    bool try_lead(bool take_over = true);
    void lead(std::optional<std::chrono::steady_clock::time_point> deadline) noexcept;
    /// For an application thread whose wait was answered at once (a busy server loop, which
    /// never sleeps and so never leads): when nobody has polled for a while (`busy_poll`), it
    /// polls without sleeping, steps what is ready and runs their completions here, as lead()
    /// does. While such threads keep coming back to their waits the reactor thread stays in
    /// standby, and what completes meanwhile is collected in batches on their threads instead of
    /// one wake-up of the reactor thread per completion. Call it holding no lock.
    static void poll_if_due() noexcept;
    /// Wakes the application thread that polls in lead(), if one does (cheap, and makes no
    /// reactor when the process has none).
    static void interrupt_leader() noexcept;
    /// Whether an application thread polls now (a hint: it may stop at any moment).
    static bool application_leads() noexcept;

private:
    io_reactor();
    void run() noexcept;
    /// Steps `lane`'s operations until one waits or none is left.
    void serve(const std::shared_ptr<op_lane>& lane) noexcept;
    void wake() noexcept;
    /// Registers the lane with the reactor after its front operation said what it waits for.
    void park(const std::shared_ptr<op_lane>& lane, const step_result& r);
    /// Takes `lane` out of wherever it waits (mutex held); whether it was waiting anywhere.
    bool unregister(op_lane& lane);
    /// Arms `fd`'s epoll registration for what its lanes wait for (mutex held); `recheck`: have
    /// the kernel look at the descriptor again even when it is registered already.
    void arm(int fd, bool recheck);
    /// Whether `fd` has an edge-triggered registration now.
    bool registered(int fd) const noexcept;
    /// os::fd's hook: `fd` is about to close; its registration goes with it.
    static void before_close(int fd) noexcept;
    /// Moves the lanes that are due, or whose descriptor `events` reported, to `ready` (mutex held).
    void collect(std::span<const epoll_event> events, std::vector<std::shared_ptr<op_lane>>& ready);
    /// How long the poller may sleep (mutex held): -1 for as long as it likes.
    int sleep_ms();
    /// The reactor thread waits here while an application thread polls, or did a moment ago.
    void stand_by(std::unique_lock<std::mutex>& lock);
    /// Polls once, steps what is ready (on the calling thread); `leader`: an application thread.
    void poll_once(int timeout_ms, bool leader) noexcept;
    /// In a fork()ed child: drops the parent's lanes, epoll set and wake-up flag (mutex held).
    void forget_parent();
    static void before_fork() noexcept;
    static void after_fork_parent() noexcept;
    static void after_fork_child() noexcept;

    struct state;
    std::unique_ptr<state> s_;
};

} // namespace npipe::detail
