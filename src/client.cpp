// The public API of what both ends share, of the client end (CreateFile on a pipe name), and
// WaitNamedPipe and CallNamedPipe; client_open.cpp does the opening and the waiting.
#include "client_impl.hpp"
#include "win32_errors.hpp"

namespace npipe {

namespace {

std::error_code no_handle() { return detail::win32(win32_error::invalid_handle); }

/// Runs an open to its end on this thread.
std::unique_ptr<detail::client_impl> open_now(std::string_view name, const client_options& o,
                                              std::optional<std::chrono::milliseconds> wait, std::error_code& ec) {
    detail::open_op op(std::string(name), o, wait);
    detail::run_blocking(op);
    ec = op.outcome().ec;
    return op.take();
}

} // namespace

// ---- pipe_end_base ----------------------------------------------------------------------------

detail::pipe_channel* detail::channel_of(pipe_end_base& end) noexcept { return end.channel_.get(); }

pipe_end_base::pipe_end_base() noexcept = default;
pipe_end_base::~pipe_end_base() = default;
pipe_end_base::pipe_end_base(pipe_end_base&&) noexcept = default;
pipe_end_base& pipe_end_base::operator=(pipe_end_base&&) noexcept = default;

read_result pipe_end_base::read(std::span<std::byte> buffer) {
    std::error_code ec;
    auto r = read(buffer, ec);
    if (ec != win32_error::more_data) detail::throw_if(ec, "ReadFile");
    return r;
}

read_result pipe_end_base::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return {}; }
    return channel_->read(buffer, ec);
}

std::size_t pipe_end_base::write(std::span<const std::byte> data) {
    std::error_code ec;
    auto n = write(data, ec);
    detail::throw_if(ec, "WriteFile");
    return n;
}

std::size_t pipe_end_base::write(std::span<const std::byte> data, std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return 0; }
    return channel_->write(data, ec);
}

peek_result pipe_end_base::peek(std::span<std::byte> buffer) {
    std::error_code ec;
    auto r = peek(buffer, ec);
    detail::throw_if(ec, "PeekNamedPipe");
    return r;
}

peek_result pipe_end_base::peek(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return {}; }
    return channel_->peek(buffer, ec);
}

read_result pipe_end_base::transact(std::span<const std::byte> request, std::span<std::byte> reply) {
    std::error_code ec;
    auto r = transact(request, reply, ec);
    if (ec != win32_error::more_data) detail::throw_if(ec, "TransactNamedPipe");
    return r;
}

read_result pipe_end_base::transact(std::span<const std::byte> request, std::span<std::byte> reply,
                                    std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return {}; }
    return channel_->transact(request, reply, ec);
}

void pipe_end_base::flush() {
    std::error_code ec;
    flush(ec);
    detail::throw_if(ec, "FlushFileBuffers");
}

void pipe_end_base::flush(std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return; }
    channel_->flush(ec);
}

pipe_info pipe_end_base::info() const noexcept { return channel_ ? channel_->info() : pipe_info{}; }

handle_state pipe_end_base::state() {
    std::error_code ec;
    auto s = state(ec);
    detail::throw_if(ec, "GetNamedPipeHandleState");
    return s;
}

handle_state pipe_end_base::state(std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return {}; }
    try {
        return channel_->state(ec);
    } catch (...) {
        ec = detail::win32(win32_error::not_enough_memory);
        return {};
    }
}

void pipe_end_base::set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait) {
    std::error_code ec;
    set_state(read, wait, ec);
    detail::throw_if(ec, "SetNamedPipeHandleState");
}

void pipe_end_base::set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait,
                              std::error_code& ec) noexcept {
    if (!channel_) { ec = no_handle(); return; }
    channel_->set_state(read, wait, ec);
}

const std::string& pipe_end_base::name() const noexcept {
    static const std::string none;
    return channel_ ? channel_->name : none;
}

int pipe_end_base::native_handle() const noexcept { return channel_ ? channel_->native_handle() : -1; }
pid_t pipe_end_base::client_process_id() const noexcept { return channel_ ? channel_->client_pid.load() : 0; }
pid_t pipe_end_base::server_process_id() const noexcept { return channel_ ? channel_->server_pid.load() : 0; }

// ---- client -----------------------------------------------------------------------------------

client::client() noexcept = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;
client::~client() = default;

client client::open(std::string_view name, const client_options& options) {
    std::error_code ec;
    auto c = open(name, options, ec);
    detail::throw_if(ec, "CreateFile");
    return c;
}

client client::open(std::string_view name, const client_options& o, std::error_code& ec) noexcept try {
    ec.clear();
    auto end = open_now(name, o, std::nullopt, ec);
    if (ec) return {};
    client c;
    c.channel_ = std::move(end);
    return c;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

bool client::disconnected() const noexcept {
    auto* c = static_cast<const detail::client_impl*>(channel_.get());
    return c && c->disconnected_by_server();
}

// ---- WaitNamedPipe, CallNamedPipe ---------------------------------------------------------------

void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout, const endpoint& where) {
    std::error_code ec;
    wait_named_pipe(name, timeout, where, ec);
    detail::throw_if(ec, "WaitNamedPipe");
}

void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout, const endpoint& where,
                     std::error_code& ec) noexcept try {
    detail::wait_op op(std::string(name), timeout, where);
    detail::run_blocking(op);
    ec = op.outcome().ec;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
}

read_result call_named_pipe(std::string_view name, std::span<const std::byte> request, std::span<std::byte> reply,
                            std::chrono::milliseconds timeout, const endpoint& where) {
    std::error_code ec;
    auto r = call_named_pipe(name, request, reply, timeout, where, ec);
    if (ec != win32_error::more_data) detail::throw_if(ec, "CallNamedPipe");
    return r;
}

read_result call_named_pipe(std::string_view name, std::span<const std::byte> request, std::span<std::byte> reply,
                            std::chrono::milliseconds timeout, const endpoint& where, std::error_code& ec) noexcept try {
    client_options options;
    options.endpoint = where;
    // As Windows does: an open that finds every instance busy waits once, then tries again.
    auto end = open_now(name, options, timeout, ec);
    if (ec) return {};
    end->set_state(read_mode::message, std::nullopt, ec);
    if (ec) return {};
    return end->transact(request, reply, ec);
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

} // namespace npipe
