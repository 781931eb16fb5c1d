// pipe_ops.hpp - what every named-pipe operation is made of: a step that either completes or
// says what it waits for, and keeps its state so that it can be resumed.
//
// An operation (read_op, write_op, flush_op, transact_op, server_impl's connect_op and
// disconnect_op, the client's open_op and wait_op) is an object holding its buffer, its progress and its result. step()
// never blocks (unless its driver allows it, step_mode): it advances as far as the kernel allows
// now and returns either `done` or a wait - a descriptor to become readable or writable, or a time after which to try again (for
// what has no wake-up: the peer draining a flush, a broker coming back). Whoever drives the
// operation waits as it likes and calls step() again, from any thread:
//   - the blocking calls of today (ReadFile, ConnectNamedPipe, ...) drive it with poll() on the
//     calling thread (run_blocking below);
//   - overlapped I/O, completion ports and the async C++ API drive it from a readiness callback.
// cancel() completes an operation that has not completed with ERROR_OPERATION_ABORTED and leaves
// the connection as if the operation had never started where it can (a read's bytes go back to
// the connection; see each operation for what it cannot take back).
//
// Serialisation: the steps and cancel() of the operations on one direction of one connection
// must not run at the same time; the caller holds that direction's lock (pipe_channel's
// read_mutex_ for reads and peeks, write_mutex_ for writes and flushes) around each call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <system_error>

namespace npipe::detail {

/// What an operation waits for when it cannot go on now.
enum class wait_for : unsigned char {
    nothing,  ///< the operation is complete
    readable, ///< `fd` becoming readable (or its end, or an error)
    writable, ///< `fd` becoming writable (or an error)
    time,     ///< only `retry_after` to pass
};

/// The answer of one step.
struct step_result {
    wait_for what = wait_for::nothing;
    int fd = -1;
    /// Try again after this long at the latest (negative: only when `fd` is ready).
    std::chrono::microseconds retry_after{-1};
    /// A read that waits because the socket said EAGAIN (nothing unread; the next byte to come
    /// is news). Otherwise the reactor asks the kernel again before it waits (epoll_ctl).
    bool drained = false;

    bool done() const noexcept { return what == wait_for::nothing; }
    static step_result complete() noexcept { return {}; }
    static step_result read_ready(int fd, bool drained = false) noexcept {
        return {wait_for::readable, fd, std::chrono::microseconds(-1), drained};
    }
    static step_result write_ready(int fd) noexcept { return {wait_for::writable, fd, std::chrono::microseconds(-1)}; }
    static step_result after(std::chrono::microseconds delay) noexcept { return {wait_for::time, -1, delay}; }
};

/// Whether a step may wait inside its system calls. A driver that would do nothing but wait for
/// the step's own descriptor anyway (a blocking call on its own thread) lets it: the outcome is
/// the same, with fewer system calls and wake-ups. Only writes use it (a blocking send takes a
/// message the socket cannot hold at once in one call, where steps that never wait cost a poll
/// and a wake-up per socket buffer); reads never wait inside (waiting in poll() costs a round
/// trip no more). Readiness-driven callers always pass never_block.
enum class step_mode { never_block, may_block };

/// How an operation ended.
struct op_outcome {
    std::error_code ec;       ///< Win32; ERROR_MORE_DATA is a partial success
    std::size_t bytes = 0;    ///< bytes read or written (into the caller's buffer / from it)
    bool peer_ended = false;  ///< the connection has ended: the end decides which error that is
                              ///< (pipe_channel::ended), `ec` holds the default
};

/// What every operation has: whether it has completed, and how. An operation completes once;
/// finish() is how its steps and cancel() complete it.
class pipe_op {
public:
    bool completed() const noexcept { return completed_; }
    const op_outcome& outcome() const noexcept { return out_; }

protected:
    step_result finish(std::error_code ec, std::size_t bytes = 0) noexcept {
        completed_ = true;
        out_.ec = ec;
        out_.bytes = bytes;
        return step_result::complete();
    }

    bool completed_ = false;
    op_outcome out_;
};

/// Waits on this thread for what `r` asks (poll, or a sleep for `time`), or until `also` (a
/// descriptor, -1 for none) becomes readable. Errors of the wait itself (EINTR is retried) are
/// ignored: the next step meets the descriptor's state.
void wait_blocking(const step_result& r, int also = -1) noexcept;

/// CancelSynchronousIo: how another thread makes the blocking call running on a thread return.
/// A thread owns one; while a scope (sync_cancel_scope) is active on it, run_blocking watches
/// it: a cancel() then cancels the running operation (its cancel(): ERROR_OPERATION_ABORTED),
/// and steps never block inside a system call, so the cancel is seen at once.
/// Thread safety: cancel() from any thread; the rest from the owning thread.
class sync_cancel {
public:
    sync_cancel() noexcept = default;
    sync_cancel(const sync_cancel&) = delete;
    sync_cancel& operator=(const sync_cancel&) = delete;
    ~sync_cancel();

    /// Asks the call in progress to end; false (nothing done) when no call is in progress.
    bool cancel() noexcept;
    /// A call starts / has ended (the owning thread). A cancel() outside a call is not kept.
    /// arm() is false when the flag descriptor cannot be made (the call then runs uncancellable).
    bool arm() noexcept;
    void disarm() noexcept;
    bool requested() const noexcept { return requested_.load(std::memory_order_acquire); }
    /// Readable once cancel() was asked during the current call.
    int flag() const noexcept { return flag_; }

private:
    std::mutex mutex_;
    bool armed_ = false, flag_set_ = false; // guarded by mutex_
    std::atomic<bool> requested_{false};
    int flag_ = -1; // an eventfd, made on the first arm()
};

/// The sync_cancel of the scope active on this thread; nullptr outside one.
sync_cancel* active_sync_cancel() noexcept;

/// Makes the blocking calls made in its lifetime on this thread cancellable through `c`.
class sync_cancel_scope {
public:
    explicit sync_cancel_scope(sync_cancel& c) noexcept;
    ~sync_cancel_scope();
    sync_cancel_scope(const sync_cancel_scope&) = delete;
    sync_cancel_scope& operator=(const sync_cancel_scope&) = delete;

private:
    sync_cancel* previous_;
    bool armed_;
};

/// Drives `op` on this thread while `more()` holds (and the operation has not completed); a
/// cancel of the active sync_cancel_scope cancels it.
template <class Op, class More>
void run_blocking_while(Op& op, More more) noexcept {
    sync_cancel* c = active_sync_cancel();
    bool cancelled = false;
    while (more()) {
        step_result r = op.step(c ? step_mode::never_block : step_mode::may_block);
        if (r.done() || !more()) return;
        if (c && !cancelled && c->requested()) {
            op.cancel();
            cancelled = true;
            continue;
        }
        wait_blocking(r, c && !cancelled ? c->flag() : -1);
    }
}

/// Drives `op` to completion on this thread.
template <class Op>
void run_blocking(Op& op) noexcept {
    run_blocking_while(op, [&op] { return !op.completed(); });
}

} // namespace npipe::detail
