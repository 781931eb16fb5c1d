// npipe/detail/asio_ops.hpp - how npipe/asio.hpp runs an npipe::async_operation on an asio
// executor. Not a public interface; include npipe/asio.hpp.
//
// One pending_op per operation: it steps the operation, and when a step says "wait", waits
// with asio on the operation's executor. The end's connection stays registered with the reactor
// across operations (end_core keeps it); any other descriptor is registered for one wait and
// released before the next step, which may close it; a time is a timer. The wait's completion
// steps again on a thread running that executor. When the operation completes, its handler
// runs: directly, when the handler's executor is the operation's own plain io_context executor
// (as asio's socket operations run theirs); else dispatched to that executor. It is posted when
// the operation completed inside the initiating function: a handler never runs inside the call
// that started it.
//
// Waits on the connection, two ways:
//   - With a plain io_context executor, on asio's epoll reactor (Linux, the asio versions at
//     NPIPE_ASIO_REACTOR_OPS), an operation is a reactor operation whose "perform" is the
//     operation's step, as asio's own socket operations are: the reactor tries it at once, and
//     again each time the connection becomes ready. A wait then costs no system call of its own. This uses asio's detail interface
//     (reactor_op, start_op), which asio does not promise to keep; hence the version check.
//   - With any other executor (a strand: a reactor operation would step outside it), another
//     asio version, or NPIPE_ASIO_PORTABLE_WAITS defined: through the public interface,
//     posix::stream_descriptor::async_wait, which re-arms the descriptor (an epoll_ctl) per
//     wait. Define NPIPE_ASIO_PORTABLE_WAITS for every file of a program that includes
//     npipe/asio.hpp or for none: it changes the types here.
//
// Cancelling one operation completes it in the library first (cancel gives back what it can),
// then ends its own wait, and only it: the other operations waiting on the same connection go
// on undisturbed.
//
// Ownership: a pending_op owns itself. Whatever holds it - the initiating function, the one wait
// under way, or asio destroying that wait's handler unrun at shutdown - passes it on or deletes
// it; it is deleted before its handler runs, so the handler may start the next operation.
#pragma once

#include <npipe/async.hpp>

#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/basic_waitable_timer.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/posix/basic_stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/version.hpp>

#if !defined(NPIPE_ASIO_PORTABLE_WAITS) && ASIO_VERSION >= 102200 && ASIO_VERSION < 102300
#include <asio/detail/reactor.hpp>
#include <asio/execution/context.hpp>
#include <asio/query.hpp>
#if defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT) && !defined(ASIO_HAS_IOCP)
/// 1: connection waits are reactor operations (asio 1.22, whose detail interface this was
/// written and tested against); 0: they go through posix::stream_descriptor::async_wait.
#define NPIPE_ASIO_REACTOR_OPS 1
#endif
#endif
#ifndef NPIPE_ASIO_REACTOR_OPS
#define NPIPE_ASIO_REACTOR_OPS 0
#endif

#include <chrono>
#include <memory>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace npipe::async::detail {

/// What an operation is expected to wait for first on the connection (its likely wait, so the
/// reactor can try it at once): a read, a write, or nothing known (connect, open, wait).
enum class first_wait : unsigned char { unknown, read, write };

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

#if NPIPE_ASIO_REACTOR_OPS
/// The end's connection as asio's reactor knows it: registered once per connection.
class connection_watch {
public:
    using reactor = ::asio::detail::reactor;
    using operation = ::asio::detail::reactor_op;

    template <class Executor>
    explicit connection_watch(const Executor& ex)
        : reactor_(&::asio::use_service<reactor>(::asio::query(ex, ::asio::execution::context))) {
        reactor_->init_task(); // the scheduler runs the reactor from now on (asio's services do the same)
    }
    ~connection_watch() { drop(); }
    connection_watch(const connection_watch&) = delete;
    connection_watch& operator=(const connection_watch&) = delete;

    /// Watches `fd` (the connection, replacing any other); false when the reactor refuses it.
    bool watch(int fd) {
        if (fd_ == fd) return true;
        drop();
        if (reactor_->register_descriptor(fd, data_) != 0) {
            reactor_->cleanup_descriptor_data(data_);
            return false;
        }
        fd_ = fd;
        return true;
    }
    int fd() const noexcept { return fd_; }
    /// Stops watching (before the connection is closed or replaced): its operations end with
    /// operation_aborted.
    void drop() noexcept {
        if (fd_ < 0) return;
        reactor_->deregister_descriptor(fd_, data_, false);
        reactor_->cleanup_descriptor_data(data_);
        fd_ = -1;
    }
    /// Queues `op` for the connection becoming readable or writable; `op` is performed first
    /// at once. Precondition: fd() >= 0.
    void start(bool write, operation* op) {
        reactor_->start_op(write ? reactor::write_op : reactor::read_op, fd_, data_, op, false, true);
    }
    /// Ends the queued operation started with key `key` (operation_aborted).
    void cancel(bool write, void* key) noexcept {
        if (fd_ >= 0) reactor_->cancel_ops_by_key(fd_, data_, write ? reactor::write_op : reactor::read_op, key);
    }

private:
    reactor* reactor_;
    reactor::per_descriptor_data data_ = nullptr;
    int fd_ = -1;
};
#endif

/// Whether `ex` is a plain io_context executor (not a strand, not another context's): its
/// completions run on a thread running the io_context, with nothing to serialize them.
template <class E>
bool is_plain_io_context(const E& ex) noexcept {
    using plain = ::asio::io_context::executor_type;
    if constexpr (std::is_same_v<E, plain>) return true;
    else if constexpr (std::is_same_v<E, ::asio::any_io_executor>) return ex.template target<plain>() != nullptr;
    else return false;
}

/// What the pending operations of one end share: its executor, its connection's registration
/// with the reactor, and the list of them. Lives on the heap, so that moving the end leaves it
/// where the operations point.
template <class Executor>
class end_core {
public:
    using descriptor = ::asio::posix::basic_stream_descriptor<Executor>;

    explicit end_core(const Executor& ex) : executor(ex), connection_(ex) {
#if NPIPE_ASIO_REACTOR_OPS
        // A reactor operation steps on the reactor's thread, outside any strand: only where
        // nothing is to be serialized.
        if (is_plain_io_context(ex)) watch_.emplace(ex);
#endif
    }
    ~end_core() { drop_connection(); }
    end_core(const end_core&) = delete;
    end_core& operator=(const end_core&) = delete;

#if NPIPE_ASIO_REACTOR_OPS
    /// Whether the connection's waits are reactor operations (else descriptor waits).
    bool reactor_ops() const noexcept { return watch_.has_value(); }
    /// The connection `fd`, registered with the reactor; null when it refuses it.
    /// Precondition: reactor_ops().
    connection_watch* reactor_connection(int fd) { return watch_->watch(fd) ? &*watch_ : nullptr; }
    /// The connection registered now for reactor operations, if any.
    connection_watch* watched() noexcept { return watch_ && watch_->fd() >= 0 ? &*watch_ : nullptr; }
#endif

    /// The connection `fd`, registered with the reactor for descriptor waits (once per
    /// connection); null when the reactor refuses it.
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
#if NPIPE_ASIO_REACTOR_OPS
        if (watch_) watch_->drop();
#endif
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
#if NPIPE_ASIO_REACTOR_OPS
    std::optional<connection_watch> watch_; ///< with a plain io_context executor
#endif
    descriptor connection_; ///< otherwise
    int connection_fd_ = -1;
    op_link* ops_ = nullptr;
};

/// One operation under way. `Finish` turns the completed npipe::async_operation into the
/// handler's arguments (a tuple).
template <class Executor, class Handler, class Finish>
class pending_op final : public op_link {
public:
    using handler_executor = ::asio::associated_executor_t<Handler, Executor>;

    pending_op(const Executor& ex, end_core<Executor>* core, npipe::async_operation op, Handler h, Finish finish)
        : ex_(ex), core_(core), op_(std::move(op)), handler_(std::move(h)), finish_(std::move(finish)) {
        // The handler's executor keeps its context running until the handler has run - unless
        // it is this operation's own io_context executor, whose scheduler counts the operation
        // as work while it waits, and runs the completion itself (asio's rule for its sockets).
        auto hex = ::asio::get_associated_executor(handler_, ex_);
        if (!runs_inline(hex, ex_)) work_.emplace(::asio::prefer(hex, ::asio::execution::outstanding_work.tracked));
    }

    /// Starts a new operation: the first step, inside the initiating function (or, when the
    /// reactor can take its likely wait, its first perform). Owns the operation from here on.
    static void start(std::unique_ptr<pending_op> self, first_wait likely) {
        pending_op* p = self.release();
        if (p->core_) p->core_->link(p);
        auto slot = ::asio::get_associated_cancellation_slot(p->handler_);
        if (slot.is_connected()) slot.template emplace<cancel_hook>(p);
#if NPIPE_ASIO_REACTOR_OPS
        if (likely != first_wait::unknown && p->core_) {
            if (connection_watch* w = p->core_->watched()) return p->wait_in_reactor(*w, likely == first_wait::write);
        }
#else
        (void)likely;
#endif
        p->handle(p->op_.step(), true);
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
    enum class waiting : unsigned char { nothing, connection, reactor, other, time };

    /// The handler's per-operation cancellation (every type: a cancel gives back what it can).
    struct cancel_hook {
        pending_op* self;
        void operator()(::asio::cancellation_type type) {
            if ((type & (::asio::cancellation_type::terminal | ::asio::cancellation_type::partial |
                         ::asio::cancellation_type::total)) != ::asio::cancellation_type::none)
                self->abort(npipe::make_error_code(win32_error::operation_aborted));
        }
    };

    /// The handler of an asio wait: holds the operation while the wait is under way, and
    /// deletes it if asio destroys the handler without running it.
    class resume {
    public:
        explicit resume(pending_op* p) noexcept : p_(p) {}
        resume(resume&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
        resume& operator=(resume&&) = delete;
        ~resume() {
            if (p_) p_->destroy();
        }
        void operator()(const std::error_code& ec) { std::exchange(p_, nullptr)->woken(ec); }

    private:
        pending_op* p_;
    };

    /// Acts on what the last step said: complete, or wait as it asks.
    void handle(npipe::async_wait w, bool initiating) {
        using kind = npipe::async_wait::kind;
        if (w.what == kind::none) return complete(initiating);
        if (w.what == kind::time || w.after.count() >= 0) return wait_time(w.after);
        const bool write = w.what == kind::writable;
        if (w.connection && core_) {
#if NPIPE_ASIO_REACTOR_OPS
            if (core_->reactor_ops()) {
                if (auto* c = core_->reactor_connection(w.fd)) return wait_in_reactor(*c, write);
                return wait_time(unwatchable_retry);
            }
#endif
            if (auto* d = core_->connection(w.fd)) return wait_on_connection(*d, write);
            return wait_time(unwatchable_retry);
        }
        other_.emplace(ex_);
        std::error_code ec;
        other_->assign(w.fd, ec);
        if (ec) return wait_time(unwatchable_retry);
        waiting_ = waiting::other;
        other_->async_wait(write ? descriptor::wait_write : descriptor::wait_read,
                           ::asio::bind_cancellation_slot(wait_cancel_.slot(), resume(this)));
    }

    void wait_on_connection(descriptor& d, bool write) {
        waiting_ = waiting::connection;
        d.async_wait(write ? descriptor::wait_write : descriptor::wait_read,
                     ::asio::bind_cancellation_slot(wait_cancel_.slot(), resume(this)));
    }

    void wait_time(std::chrono::microseconds after) {
        if (!timer_) timer_.emplace(ex_);
        timer_->expires_after(after.count() > 0 ? after : std::chrono::microseconds(0));
        waiting_ = waiting::time;
        timer_->async_wait(::asio::bind_cancellation_slot(wait_cancel_.slot(), resume(this)));
    }

    /// An asio wait ended (ready, cancelled, or failed).
    void woken(const std::error_code& ec) {
        waiting was = std::exchange(waiting_, waiting::nothing);
        release_other(); // the next step may close it
        if (op_.completed()) return complete(false);
        // A wait that failed for a reason of its own would fail again at once: poll instead.
        if (ec && ec != ::asio::error::operation_aborted && was != waiting::time) return wait_time(unwatchable_retry);
        handle(op_.step(), false);
    }

    /// Ends the wait under way, and only it (its completion then completes the operation). A
    /// descriptor of its own is released at once: the end may close it next.
    void withdraw() noexcept {
        switch (waiting_) {
        case waiting::nothing: return;
        case waiting::other: return release_other();
        case waiting::reactor:
#if NPIPE_ASIO_REACTOR_OPS
            if (core_)
                if (connection_watch* c = core_->watched()) c->cancel(reactor_write_, this);
#endif
            return;
        case waiting::connection:
        case waiting::time: wait_cancel_.emit(::asio::cancellation_type::terminal); return;
        }
    }

    void release_other() noexcept {
        if (other_ && other_->is_open()) (void)other_->release();
    }

#if NPIPE_ASIO_REACTOR_OPS
    /// The operation as a reactor operation: performing it is stepping it.
    struct reactor_wait : ::asio::detail::reactor_op {
        explicit reactor_wait(pending_op* p) : reactor_op(std::error_code(), &perform, &finished), self(p) {}
        pending_op* self;

        /// On a reactor thread, with the reactor's lock on the connection held. The reactor is
        /// edge-triggered: a step that may have left data behind steps again at once (each
        /// such step takes some, or finds the connection empty), so that the operation only
        /// waits for an edge that will come.
        static status perform(reactor_op* base) noexcept {
            pending_op& p = *static_cast<reactor_wait*>(base)->self;
            for (int steps = 1;; ++steps) {
                p.next_ = p.op_.step();
                if (!p.next_.may_be_ready || steps == max_steps_at_once) break;
            }
            const npipe::async_wait& w = p.next_;
            const bool same_wait = w.what != npipe::async_wait::kind::none && w.connection && w.after.count() < 0 &&
                                   !w.may_be_ready && w.fd == p.reactor_fd_ &&
                                   (w.what == npipe::async_wait::kind::writable) == p.reactor_write_;
            return same_wait ? not_done : reactor_op::done; // done: completed, or another wait (finished() starts it)
        }
        /// Beyond this, a perform gives the thread back (the completion queues it again).
        static constexpr int max_steps_at_once = 16;
        /// On a thread running the executor; `owner` is null when the reactor shuts down.
        static void finished(void* owner, ::asio::detail::operation* base, const std::error_code&, std::size_t) {
            pending_op* p = static_cast<reactor_wait*>(base)->self;
            if (!owner) return p->destroy();
            p->reactor_woken();
        }
    };

    /// Queues the operation with the reactor for the connection `c`; the reactor performs it
    /// (steps it) at once, and again whenever the connection is ready.
    void wait_in_reactor(connection_watch& c, bool write) {
        waiting_ = waiting::reactor;
        reactor_write_ = write;
        reactor_fd_ = c.fd();
        reactor_op_.ec_ = std::error_code();
        reactor_op_.cancellation_key_ = this;
        c.start(write, &reactor_op_);
    }

    void reactor_woken() {
        waiting_ = waiting::nothing;
        const std::error_code ec = reactor_op_.ec_;
        if (op_.completed()) return complete(false);
        if (!ec) return handle(next_, false); // perform stepped: it asks for another wait
        // Withdrawn (the connection is being replaced) or refused: step again, or poll.
        if (ec == ::asio::error::operation_aborted) return handle(op_.step(), false);
        wait_time(unwatchable_retry);
    }

    reactor_wait reactor_op_{this};
    npipe::async_wait next_;   ///< what the reactor's last perform said
    int reactor_fd_ = -1;      ///< the connection it waits on
    bool reactor_write_ = false;
#endif

    /// Runs the handler (posted when still inside the initiating function) and deletes the
    /// operation first.
    void complete(bool initiating) {
        detach();
        if (!work_ && !initiating) {
            // On a thread running the handler's own io_context, outside the initiating function:
            // the handler runs now, as asio's socket operations run theirs.
            Handler h = std::move(handler_);
            auto args = finish_(op_);
            delete this;
            return std::apply(std::move(h), std::move(args));
        }
        auto ex = ::asio::get_associated_executor(handler_, ex_);
        auto call = [h = std::move(handler_), args = finish_(op_), work = std::move(work_)]() mutable {
            std::apply(std::move(h), std::move(args));
        };
        delete this;
        if (initiating) ::asio::post(ex, std::move(call));
        else ::asio::dispatch(ex, std::move(call));
    }

    /// Whether a handler with executor `hex` may run directly where the completions of an
    /// operation on `ex` run: the same executor, and a plain io_context one (not a strand).
    template <class HandlerExecutor>
    static bool runs_inline(const HandlerExecutor& hex, const Executor& ex) {
        if constexpr (std::is_same_v<HandlerExecutor, Executor>) return is_plain_io_context(hex) && hex == ex;
        else return false;
    }

    /// Deletes the operation without running its handler (asio dropped its wait at shutdown).
    /// The operation is cancelled and released first, and a descriptor of its own handed back
    /// (asio would close it): the handler may own the end, which goes with it.
    void destroy() noexcept {
        release_other();
        op_ = npipe::async_operation(); // cancels it
        detach();
        delete this;
    }

    /// Leaves the end's list and the handler's cancellation slot (before the operation goes).
    void detach() noexcept {
        if (core_) core_->unlink(this);
        core_ = nullptr;
        auto slot = ::asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.clear();
    }

    /// How often to look at a descriptor the reactor would not watch.
    static constexpr std::chrono::microseconds unwatchable_retry{1000};

    Executor ex_;
    end_core<Executor>* core_;
    npipe::async_operation op_;
    Handler handler_;
    Finish finish_;
    std::optional<std::decay_t<decltype(::asio::prefer(std::declval<handler_executor>(),
                                                       ::asio::execution::outstanding_work.tracked))>>
        work_; ///< none when the handler's executor is ex_, a plain io_context one (runs_inline)
    std::optional<descriptor> other_;
    std::optional<timer> timer_;
    ::asio::cancellation_signal wait_cancel_; // bound to the asio wait under way
    waiting waiting_ = waiting::nothing;
};

/// Starts `op` for `handler` on `ex` (with the end's `core`, or none for open and wait).
template <class Executor, class Handler, class Finish>
void launch(const Executor& ex, end_core<Executor>* core, npipe::async_operation op, Handler&& handler, Finish finish,
            first_wait likely = first_wait::unknown) {
    using pending = pending_op<Executor, std::decay_t<Handler>, Finish>;
    pending::start(std::make_unique<pending>(ex, core, std::move(op), std::forward<Handler>(handler), std::move(finish)),
                   likely);
}

} // namespace npipe::async::detail
