#include "async_ops.hpp"

#include "server_impl.hpp"
#include "win32_errors.hpp"

#include <mutex>

namespace npipe::detail {

step_result pipe_async_op::fail_start(std::error_code ec) noexcept {
    failed_at_start_ = true;
    out_.ec = ec;
    return step_result::complete();
}

step_result pipe_async_op::aborted(std::error_code why) noexcept {
    out_.ec = why;
    out_.bytes = 0;
    return step_result::complete();
}

// ---- ReadFile ---------------------------------------------------------------------------------

step_result async_read::step() noexcept {
    std::lock_guard lock(ch_.read_lock());
    if (!op_) {
        if (auto ec = ch_.begin_read()) return fail_start(ec);
        op_.emplace(ch_.make_read(buf_, ch_.current_wait_mode() == npipe::wait_mode::wait));
    }
    step_result r = op_->step();
    if (r.done()) finish();
    return r;
}

void async_read::finish() noexcept {
    std::error_code ec;
    auto r = ch_.end_read(*op_, buf_, ec);
    out_.ec = ec;
    out_.bytes = r.bytes;
}

void async_read::cancel(std::error_code why) noexcept {
    std::lock_guard lock(ch_.read_lock());
    if (!op_) {
        aborted(why);
        return;
    }
    if (op_->completed()) return;
    op_->cancel(); // what it had taken of a message goes back to the connection
    finish();
    if (out_.ec == win32_error::operation_aborted) out_.ec = why;
}

// ---- WriteFile --------------------------------------------------------------------------------

step_result async_write::step() noexcept {
    std::lock_guard lock(ch_.write_lock());
    if (!op_) {
        if (auto ec = ch_.begin_write()) return fail_start(ec);
        op_.emplace(ch_.make_write(data_));
    }
    step_result r = op_->step();
    if (r.done()) finish();
    return r;
}

void async_write::finish() noexcept {
    std::error_code ec;
    out_.bytes = ch_.end_write(*op_, ec);
    out_.ec = ec;
}

void async_write::cancel(std::error_code why) noexcept {
    std::lock_guard lock(ch_.write_lock());
    if (!op_) {
        aborted(why);
        return;
    }
    if (op_->completed()) return;
    op_->cancel(); // a message that started to go out goes out whole (see write_op)
    finish();
    if (out_.ec == win32_error::operation_aborted) out_.ec = why;
}

// ---- TransactNamedPipe ------------------------------------------------------------------------

step_result async_transact::step() noexcept {
    if (!op_) {
        std::lock_guard lock(ch_.read_lock());
        if (auto ec = ch_.begin_transact()) return fail_start(ec);
        op_.emplace(ch_.make_transact(request_, reply_));
    }
    if (op_->writing()) {
        std::lock_guard lock(ch_.write_lock());
        step_result r = op_->step();
        if (!r.done() && op_->writing()) return r;
        std::error_code ec;
        ch_.end_write(op_->write_part(), ec);
        if (ec) {
            out_.ec = ec;
            return step_result::complete();
        }
    }
    std::lock_guard lock(ch_.read_lock());
    step_result r = op_->step();
    if (!r.done()) return r;
    return finish();
}

step_result async_transact::finish() noexcept {
    std::error_code ec;
    auto r = ch_.end_read(op_->read_part(), reply_, ec);
    out_.ec = ec;
    out_.bytes = r.bytes;
    return step_result::complete();
}

void async_transact::cancel(std::error_code why) noexcept {
    if (!op_) {
        aborted(why);
        return;
    }
    std::scoped_lock lock(ch_.read_lock(), ch_.write_lock());
    if (op_->completed()) return;
    bool writing = op_->writing();
    op_->cancel();
    if (writing) {
        aborted(why);
        return;
    }
    finish();
    if (out_.ec == win32_error::operation_aborted) out_.ec = why;
}

// ---- ConnectNamedPipe -------------------------------------------------------------------------

async_connect::async_connect(server_impl& server, std::shared_ptr<void> owner)
    : pipe_async_op(server, std::move(owner)), op_(std::make_unique<connect_op>(server)) {}

async_connect::~async_connect() = default;

step_result async_connect::step() noexcept {
    step_result r = op_->step();
    bool first = !started_;
    started_ = true;
    if (!r.done()) return r;
    out_.ec = op_->outcome().ec;
    if (!out_.ec && op_->already_connected()) out_.ec = win32(win32_error::pipe_connected);
    // What ConnectNamedPipe says at once (ERROR_PIPE_CONNECTED, ERROR_NO_DATA, ...) is its
    // synchronous answer, not a completion.
    if (first && out_.ec) failed_at_start_ = true;
    return r;
}

void async_connect::cancel(std::error_code why) noexcept {
    op_->cancel();
    out_.ec = op_->outcome().ec;
    if (out_.ec == win32_error::operation_aborted) out_.ec = why;
}

} // namespace npipe::detail
