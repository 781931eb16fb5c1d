// npipe/detail/asio_ops.hpp - how npipe/asio.hpp runs an npipe::async_operation on an asio
// executor. Not a public interface; include npipe/asio.hpp.
//
// One pending_op per operation: it steps the operation, and when a step says "wait", waits
// with asio on the operation's executor (the end's connection stays registered with the
// reactor across operations: end_core keeps it; any other descriptor is registered for one
// wait and released before the next step, which may close it; a time is a timer). The wait's
// completion steps again on a thread running that executor. When the operation completes the
// handler is dispatched to its associated executor (posted, when it completed inside the
// initiating function, so a handler never runs inside the call that started it).
//
// Cancelling one operation completes it in the library first (cancel gives back what it can),
// then ends its own wait through a cancellation slot bound to that wait alone: the other
// operations waiting on the same connection go on undisturbed.
#pragma once

#include <npipe/async.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/basic_waitable_timer.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/posix/basic_stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

namespace npipe::async::detail {

/// A pending operation as an end knows it: what close() and cancel() reach.
class op_link {
public:
    virtual void abort(std::error_code why) noexcept = 0;
    /// The end is gone: no more use of it.
    virtual void orphan() noexcept = 0;
    op_link* prev = nullptr;
    op_link* next = nullptr;

protected:
    ~op_link() = default;
};

/// What the pending operations of one end share: its executor, its connection's registration
/// with the reactor, and the list of them. Lives on the heap, so that moving the end leaves it
/// where the operations point.
template <class Executor>
class end_core {
public:
    using descriptor = ::asio::posix::basic_stream_descriptor<Executor>;

    explicit end_core(const Executor& ex) : executor(ex), connection_(ex) {}
    ~end_core() { drop_connection(); }
    end_core(const end_core&) = delete;
    end_core& operator=(const end_core&) = delete;

    /// The connection `fd`, registered with the reactor (once per connection); null when the
    /// reactor refuses it.
    descriptor* connection(int fd) {
        if (connection_fd_ != fd) {
            drop_connection();
            std::error_code ec;
            connection_.assign(fd, ec);
            if (ec) return nullptr;
            connection_fd_ = fd;
        }
        return &connection_;
    }
    /// Stops watching the connection (before it is closed or replaced); its waits end.
    void drop_connection() noexcept {
        if (connection_fd_ < 0) return;
        std::error_code ignored;
        connection_.cancel(ignored);
        (void)connection_.release();
        connection_fd_ = -1;
    }
    void link(op_link* op) noexcept {
        op->next = ops_;
        if (ops_) ops_->prev = op;
        ops_ = op;
    }
    void unlink(op_link* op) noexcept {
        if (op->prev) op->prev->next = op->next;
        else ops_ = op->next;
        if (op->next) op->next->prev = op->prev;
        op->prev = op->next = nullptr;
    }
    /// Completes every pending operation with `why`.
    void abort_all(std::error_code why) noexcept {
        for (op_link* op = ops_; op; op = op->next) op->abort(why);
    }
    /// The end goes: its operations are aborted and forget it.
    void close(std::error_code why) noexcept {
        abort_all(why);
        drop_connection();
        while (ops_) {
            op_link* op = ops_;
            unlink(op);
            op->orphan();
        }
    }

    Executor executor;

private:
    descriptor connection_;
    int connection_fd_ = -1;
    op_link* ops_ = nullptr;
};

/// One operation under way. `Finish` turns the completed npipe::async_operation into the
/// handler's arguments (a tuple).
template <class Executor, class Handler, class Finish>
class pending_op final : public op_link, public std::enable_shared_from_this<pending_op<Executor, Handler, Finish>> {
public:
    using handler_executor = ::asio::associated_executor_t<Handler, Executor>;

    pending_op(const Executor& ex, end_core<Executor>* core, npipe::async_operation op, Handler h, Finish finish)
        : ex_(ex), core_(core), op_(std::move(op)), handler_(std::move(h)), finish_(std::move(finish)),
          work_(::asio::prefer(::asio::get_associated_executor(handler_, ex_),
                               ::asio::execution::outstanding_work.tracked)) {}

    /// The first step, inside the initiating function.
    void start() {
        if (core_) core_->link(this);
        auto slot = ::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.template emplace<cancel_hook>(this);
        initiating_ = true;
        step_and_wait();
        initiating_ = false;
    }

    void abort(std::error_code why) noexcept override {
        op_.cancel(why);
        withdraw();
    }
    void orphan() noexcept override { core_ = nullptr; }

private:
    using descriptor = ::asio::posix::basic_stream_descriptor<Executor>;
    using timer = ::asio::basic_waitable_timer<std::chrono::steady_clock,
                                               ::asio::wait_traits<std::chrono::steady_clock>, Executor>;
    enum class waiting : unsigned char { nothing, connection, other, time };

    /// The handler's per-operation cancellation (every type: a cancel gives back what it can).
    struct cancel_hook {
        pending_op* self;
        void operator()(::asio::cancellation_type type) {
            if ((type & (::asio::cancellation_type::terminal | ::asio::cancellation_type::partial |
                         ::asio::cancellation_type::total)) != ::asio::cancellation_type::none)
                self->abort(npipe::make_error_code(win32_error::operation_aborted));
        }
    };

    void step_and_wait() {
        npipe::async_wait w = op_.step();
        using kind = npipe::async_wait::kind;
        if (w.what == kind::none) return complete();
        if (w.what == kind::time || w.after.count() >= 0) return wait_time(w.after);
        auto type = w.what == kind::readable ? descriptor::wait_read : descriptor::wait_write;
        descriptor* d = nullptr;
        if (w.connection && core_) {
            d = core_->connection(w.fd);
            waiting_ = waiting::connection;
        } else {
            other_.emplace(ex_);
            std::error_code ec;
            other_->assign(w.fd, ec);
            if (!ec) d = &*other_;
            waiting_ = waiting::other;
        }
        if (!d) return wait_time(unwatchable_retry);
        d->async_wait(type, ::asio::bind_cancellation_slot(wait_cancel_.slot(), woken_handler()));
    }

    auto woken_handler() {
        return [self = this->shared_from_this()](const std::error_code& ec) { self->woken(ec); };
    }

    void wait_time(std::chrono::microseconds after) {
        if (!timer_) timer_.emplace(ex_);
        timer_->expires_after(after.count() > 0 ? after : std::chrono::microseconds(0));
        waiting_ = waiting::time;
        timer_->async_wait(::asio::bind_cancellation_slot(wait_cancel_.slot(), woken_handler()));
    }

    void woken(const std::error_code& ec) {
        waiting was = std::exchange(waiting_, waiting::nothing);
        release_other(); // the next step may close it
        if (op_.completed()) return complete();
        // A wait that failed for a reason of its own would fail again at once: poll instead.
        if (ec && ec != ::asio::error::operation_aborted && was != waiting::time) return wait_time(unwatchable_retry);
        step_and_wait();
    }

    /// Ends the wait under way, and only it (its completion then completes the operation). A
    /// descriptor of its own is released at once: the end may close it next.
    void withdraw() noexcept {
        if (waiting_ == waiting::nothing) return;
        if (waiting_ == waiting::other) release_other();
        else wait_cancel_.emit(::asio::cancellation_type::terminal);
    }

    void release_other() noexcept {
        if (other_ && other_->is_open()) (void)other_->release();
    }

    void complete() {
        if (core_) core_->unlink(this);
        core_ = nullptr;
        auto slot = ::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.clear();
        auto ex = ::asio::get_associated_executor(handler_, ex_);
        auto call = [h = std::move(handler_), args = finish_(op_), work = std::move(work_)]() mutable {
            std::apply(std::move(h), std::move(args));
        };
        if (initiating_) ::asio::post(ex, std::move(call));
        else ::asio::dispatch(ex, std::move(call));
    }

    /// How often to look at a descriptor the reactor would not watch.
    static constexpr std::chrono::microseconds unwatchable_retry{1000};

    Executor ex_;
    end_core<Executor>* core_;
    npipe::async_operation op_;
    Handler handler_;
    Finish finish_;
    std::decay_t<decltype(::asio::prefer(std::declval<handler_executor>(),
                                         ::asio::execution::outstanding_work.tracked))> work_;
    std::optional<descriptor> other_;
    std::optional<timer> timer_;
    ::asio::cancellation_signal wait_cancel_; // bound to the wait under way
    waiting waiting_ = waiting::nothing;
    bool initiating_ = false;
};

/// Starts `op` for `handler` on `ex` (with the end's `core`, or none for open and wait).
template <class Executor, class Handler, class Finish>
void launch(const Executor& ex, end_core<Executor>* core, npipe::async_operation op, Handler&& handler, Finish finish) {
    using pending = pending_op<Executor, std::decay_t<Handler>, Finish>;
    auto p = std::make_shared<pending>(ex, core, std::move(op), std::forward<Handler>(handler), std::move(finish));
    p->start();
}

} // namespace npipe::async::detail
