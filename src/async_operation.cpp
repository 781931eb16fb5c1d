// npipe::async_operation (npipe/async.hpp): the operations of async_ops.hpp and client_impl.hpp
// behind one public type that an event loop steps.
#include <npipe/async.hpp>

#include "async_ops.hpp"
#include "client_impl.hpp"
#include "server_impl.hpp"
#include "win32_errors.hpp"

namespace npipe {
namespace {

/// A wait for a descriptor that is not there (the connection went): try again soon rather
/// than never (as the reactor does).
constexpr std::chrono::microseconds lost_descriptor_retry = std::chrono::milliseconds(1);

/// An operation that cannot start (a moved-from end): completes at its first step.
class failed_op final : public detail::async_op {
public:
    explicit failed_op(std::error_code ec) noexcept { out_.ec = ec; }
    detail::step_result step() noexcept override { return detail::step_result::complete(); }
    void cancel(std::error_code) noexcept override {}
    detail::op_outcome result() const noexcept override { return out_; }

private:
    detail::op_outcome out_;
};

/// CreateFile (with its wait) as an async_op.
class open_async final : public detail::async_op {
public:
    open_async(std::string_view name, const client_options& o, std::optional<std::chrono::milliseconds> wait)
        : op_(std::string(name), o, wait) {}
    detail::step_result step() noexcept override { return op_.step(); }
    void cancel(std::error_code why) noexcept override {
        op_.cancel();
        out_ = op_.outcome();
        if (out_.ec == win32_error::operation_aborted) out_.ec = why;
    }
    detail::op_outcome result() const noexcept override { return op_.completed() && !out_.ec ? op_.outcome() : out_; }
    std::unique_ptr<detail::client_impl> take() noexcept { return op_.take(); }

private:
    detail::open_op op_;
    detail::op_outcome out_;
};

/// WaitNamedPipe as an async_op.
class wait_async final : public detail::async_op {
public:
    wait_async(std::string_view name, std::chrono::milliseconds timeout, const endpoint& where)
        : op_(std::string(name), timeout, where) {}
    detail::step_result step() noexcept override { return op_.step(); }
    void cancel(std::error_code why) noexcept override {
        op_.cancel();
        out_ = op_.outcome();
        if (out_.ec == win32_error::operation_aborted) out_.ec = why;
    }
    detail::op_outcome result() const noexcept override { return op_.completed() && !out_.ec ? op_.outcome() : out_; }

private:
    detail::wait_op op_;
    detail::op_outcome out_;
};

std::error_code no_handle() { return detail::win32(win32_error::invalid_handle); }

async_wait to_public(const detail::step_result& r, bool data) noexcept {
    using detail::wait_for;
    async_wait w;
    switch (r.what) {
    case wait_for::nothing: return w;
    case wait_for::readable: w.what = async_wait::kind::readable; break;
    case wait_for::writable: w.what = async_wait::kind::writable; break;
    case wait_for::time: w.what = async_wait::kind::time; break;
    }
    w.fd = r.fd;
    w.after = r.retry_after;
    w.connection = data;
    w.may_be_ready = r.what == wait_for::readable && !r.drained;
    if (w.what != async_wait::kind::time && w.fd < 0) {
        w.what = async_wait::kind::time;
        w.after = lost_descriptor_retry;
    }
    return w;
}

} // namespace

async_operation::async_operation() noexcept = default;
async_operation::async_operation(async_operation&& o) noexcept
    : op_(std::move(o.op_)), kind_(o.kind_), completed_(std::exchange(o.completed_, true)) {}
async_operation& async_operation::operator=(async_operation&& o) noexcept {
    if (this != &o) {
        cancel();
        op_ = std::move(o.op_);
        kind_ = o.kind_;
        completed_ = std::exchange(o.completed_, true);
    }
    return *this;
}
async_operation::~async_operation() { cancel(); }

async_operation::async_operation(std::unique_ptr<detail::async_op> op, op_kind kind) noexcept
    : op_(std::move(op)), kind_(kind), completed_(false) {}

async_operation async_operation::failed(std::error_code ec) {
    return {std::make_unique<failed_op>(ec), op_kind::data};
}

async_operation async_operation::read(pipe_end_base& end, std::span<std::byte> buffer) {
    auto* ch = detail::channel_of(end);
    if (!ch) return {std::make_unique<failed_op>(no_handle()), op_kind::data};
    return {std::make_unique<detail::async_read>(*ch, nullptr, buffer), op_kind::data};
}

async_operation async_operation::write(pipe_end_base& end, std::span<const std::byte> data) {
    auto* ch = detail::channel_of(end);
    if (!ch) return {std::make_unique<failed_op>(no_handle()), op_kind::data};
    return {std::make_unique<detail::async_write>(*ch, nullptr, data), op_kind::data};
}

async_operation async_operation::transact(pipe_end_base& end, std::span<const std::byte> request,
                                          std::span<std::byte> reply) {
    auto* ch = detail::channel_of(end);
    if (!ch) return {std::make_unique<failed_op>(no_handle()), op_kind::data};
    return {std::make_unique<detail::async_transact>(*ch, nullptr, request, reply), op_kind::data};
}

async_operation async_operation::connect(server_instance& server) {
    auto* ch = detail::channel_of(server);
    if (!ch) return {std::make_unique<failed_op>(no_handle()), op_kind::connect};
    return {std::make_unique<detail::async_connect>(static_cast<detail::server_impl&>(*ch), nullptr),
            op_kind::connect};
}

async_operation async_operation::open(std::string_view name, const client_options& options,
                                      std::optional<std::chrono::milliseconds> wait) {
    return {std::make_unique<open_async>(name, options, wait), op_kind::open};
}

async_operation async_operation::wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout,
                                                 const endpoint& where) {
    return {std::make_unique<wait_async>(name, timeout, where), op_kind::wait};
}

async_wait async_operation::step() noexcept {
    if (completed_) return {};
    auto r = op_->step();
    if (r.done()) completed_ = true;
    return to_public(r, kind_ == op_kind::data);
}

void async_operation::cancel() noexcept { cancel(detail::win32(win32_error::operation_aborted)); }

void async_operation::cancel(std::error_code why) noexcept {
    if (completed_) return;
    completed_ = true;
    op_->cancel(why);
}

bool async_operation::completed() const noexcept { return completed_; }

std::error_code async_operation::error() const noexcept {
    if (!op_) return no_handle();
    auto ec = op_->result().ec;
    if (kind_ == op_kind::connect && ec == win32_error::pipe_connected) return {};
    return ec;
}

read_result async_operation::result() const noexcept {
    if (!op_) return {};
    auto out = op_->result();
    return {out.bytes, out.ec == win32_error::more_data};
}

bool async_operation::already_connected() const noexcept {
    return kind_ == op_kind::connect && op_ && op_->result().ec == win32_error::pipe_connected;
}

client async_operation::take_client() noexcept {
    client c;
    if (kind_ == op_kind::open && op_) c.channel_ = static_cast<open_async&>(*op_).take();
    return c;
}

} // namespace npipe
