#include "pipe_channel.hpp"

#include "broker_link.hpp"
#include "win32_errors.hpp"

namespace npipe::detail {

void pipe_channel::attach(os::fd data, framing as) noexcept {
    data_ = std::move(data);
    live_fd_ = data_.get();
    stream_.reset(data_.get(), type, as);
    has_read_.store(false);
    bytes_read_.store(0);
    bytes_written_.store(0);
}

void pipe_channel::wake_io() noexcept {
    int raw = live_fd_.load();
    if (raw >= 0) os::shutdown_both(raw);
}

void pipe_channel::detach() noexcept {
    wake_io();
    std::scoped_lock both(read_mutex_, write_mutex_);
    detach_locked();
}

void pipe_channel::detach_locked() noexcept {
    live_fd_ = -1;
    data_.reset();
    stream_.reset(-1, type);
}

bool pipe_channel::peer_hung_up() const noexcept {
    if (!data_) return true;
    auto r = os::peer_hung_up(data_.get());
    return r && r.value;
}

std::error_code pipe_channel::ended(bool writing) const noexcept {
    return win32(writing ? win32_error::no_data : win32_error::broken_pipe);
}

read_style pipe_channel::style() const noexcept {
    if (type == pipe_type::byte) return read_style::bytes;
    return read_mode_ == npipe::read_mode::message ? read_style::message : read_style::messages_as_bytes;
}

std::error_code pipe_channel::begin_read() noexcept {
    if (!can_read) return win32(win32_error::access_denied);
    return prepare_io(io_kind::read);
}

read_result pipe_channel::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    std::lock_guard lock(read_mutex_);
    if ((ec = begin_read())) return {};
    read_op op = make_read(buffer, wait_mode_ == npipe::wait_mode::wait);
    run_blocking(op);
    return end_read(op, buffer, ec);
}

read_result pipe_channel::end_read(const read_op& op, std::span<std::byte> buffer, std::error_code& ec) noexcept {
    const op_outcome& out = op.outcome();
    ec = out.peer_ended ? ended(false) : out.ec;
    read_result r{out.bytes, op.more_data()};
    // Bytes, or a whole (possibly empty) message taken: the client has said something.
    if ((!ec || ec == win32_error::more_data) && (r.bytes > 0 || (!buffer.empty() && type == pipe_type::message)))
        has_read_.store(true);
    if (!ec || ec == win32_error::more_data) bytes_read_.fetch_add(r.bytes, std::memory_order_relaxed);
    return r;
}

std::error_code pipe_channel::begin_write() noexcept {
    if (!can_write) return win32(win32_error::access_denied);
    return prepare_io(io_kind::write);
}

std::size_t pipe_channel::write(std::span<const std::byte> data, std::error_code& ec) noexcept {
    std::lock_guard lock(write_mutex_);
    if ((ec = begin_write())) return 0;
    write_op op = make_write(data);
    run_blocking(op);
    return end_write(op, ec);
}

std::size_t pipe_channel::end_write(const write_op& op, std::error_code& ec) noexcept {
    const op_outcome& out = op.outcome();
    ec = out.peer_ended ? ended(true) : out.ec;
    bytes_written_.fetch_add(out.bytes, std::memory_order_relaxed);
    return out.bytes;
}

peek_result pipe_channel::peek(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(read_mutex_);
    if ((ec = prepare_io(io_kind::peek))) return {};
    if (!can_read) {
        ec = win32(win32_error::access_denied);
        return {};
    }
    bool peer_ended = false;
    auto r = peek_stream(stream_, buffer, ec, peer_ended);
    if (peer_ended) ec = ended(false);
    return r;
}

std::error_code pipe_channel::begin_transact() noexcept {
    // The pipe's state is checked before its mode, as NPFS does.
    if (auto ec = prepare_io(io_kind::transact)) return ec;
    if (type != pipe_type::message || read_mode_ != npipe::read_mode::message) return win32(win32_error::bad_pipe);
    if (has_unread(stream_)) return win32(win32_error::pipe_busy);
    return {};
}

read_result pipe_channel::transact(std::span<const std::byte> request, std::span<std::byte> reply,
                                   std::error_code& ec) noexcept {
    ec.clear();
    {
        std::lock_guard lock(read_mutex_);
        if ((ec = begin_transact())) return {};
    }
    transact_op op(stream_, request, reply);
    {
        std::lock_guard lock(write_mutex_);
        if ((ec = prepare_io(io_kind::write))) return {};
        run_blocking_while(op, [&op] { return op.writing(); });
        end_write(op.write_part(), ec);
        if (ec) return {};
    }
    std::lock_guard lock(read_mutex_);
    run_blocking(op); // the reply is always waited for
    return end_read(op.read_part(), reply, ec);
}

void pipe_channel::flush(std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(write_mutex_);
    if ((ec = prepare_io(io_kind::flush))) return;
    if (!data_) return; // a server end without a client: nothing to wait for
    flush_op op(stream_);
    run_blocking(op);
    ec = op.outcome().peer_ended ? ended(false) : op.outcome().ec;
}

void pipe_channel::set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait,
                             std::error_code& ec) noexcept {
    ec.clear();
    if (read && *read == npipe::read_mode::message && type != pipe_type::message) {
        ec = win32(win32_error::invalid_parameter);
        return;
    }
    if (read) read_mode_ = *read;
    if (wait) wait_mode_ = *wait;
}

handle_state pipe_channel::state(std::error_code& ec) noexcept {
    ec.clear();
    if ((ec = prepare_io(io_kind::query))) return {};
    handle_state s;
    s.read_mode = read_mode_;
    s.wait_mode = wait_mode_;
    s.current_instances = count_instances(name, where, ec);
    if (ec == win32_error::file_not_found) { // the server is gone: no instances
        ec.clear();
        s.current_instances = 0;
    }
    return s;
}

pipe_info pipe_channel::info() const noexcept {
    return {end, type, out_buffer_size, in_buffer_size, max_instances};
}

} // namespace npipe::detail
