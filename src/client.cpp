// The client end (CreateFile on a pipe name), what both ends share, WaitNamedPipe and
// CallNamedPipe.
#include "broker_link.hpp"
#include "runtime_dir.hpp"
#include "pipe_channel.hpp"
#include "security/pipe_access.hpp"
#include "win32_errors.hpp"

#include <npipe/pipe_name.hpp>

#include <unistd.h>

namespace npipe {
namespace detail {

class client_impl final : public pipe_channel {
public:
    os::shared_page page;
    std::uint64_t generation = 0;

    ~client_impl() override { detach(); }

    void connect_to(os::fd sock) { attach(std::move(sock)); }

    bool disconnected_by_server() const noexcept { return load_disconnected(page.address()) >= generation; }

protected:
    std::error_code prepare_io(io_kind kind) noexcept override {
        if (!data_) return win32(win32_error::invalid_handle);
        if (disconnected_by_server()) return win32(win32_error::pipe_not_connected);
        // A transaction needs a server at the other end (closing: ERROR_BAD_PIPE).
        if (kind == io_kind::transact && peer_hung_up()) return win32(win32_error::bad_pipe);
        return {};
    }

    std::error_code ended(bool writing) const noexcept override {
        if (disconnected_by_server()) return win32(win32_error::pipe_not_connected);
        return pipe_channel::ended(writing);
    }
};

} // namespace detail

namespace {

std::error_code no_handle() { return detail::win32(win32_error::invalid_handle); }

std::uint32_t wire_timeout(std::chrono::milliseconds t) {
    if (t == wait_forever) return 0xFFFFFFFFu;
    if (t.count() <= 0) return 0;
    return static_cast<std::uint32_t>(std::min<long long>(t.count(), 0xFFFFFFFELL));
}

/// CreateFile's dwDesiredAccess: the mask, or GENERIC_READ / GENERIC_WRITE as read and write say.
std::uint32_t desired_access(const client_options& o) noexcept {
    if (o.access_mask) return *o.access_mask;
    return (o.read ? rights::GENERIC_READ : 0u) | (o.write ? rights::GENERIC_WRITE : 0u);
}

} // namespace

// ---- pipe_end_base ----------------------------------------------------------------------------

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
    auto parsed = parse_pipe_name(name, ec);
    if (!parsed) return {};
    if (!parsed->is_local()) { // remote pipes arrive with the SMB work
        ec = detail::win32(win32_error::bad_netpath);
        return {};
    }
    protocol::open_request req;
    req.name = std::string(name);
    req.desired_access = desired_access(o);
    auto access = detail::pipe_data_access_of(req.desired_access);
    req.read = access.read; // what the broker checks against the pipe's direction
    req.write = access.write;
    req.impersonation = static_cast<std::uint8_t>(o.impersonation);
    req.effective_only = o.effective_only;
    req.context_tracking = o.context_tracking;
    protocol::opened_reply opened;
    std::vector<os::fd> fds; // the instance's shared page
    os::fd sock = detail::broker_call(o.endpoint, detail::broker_access::lookup, req, opened, ec,
                                      {.received = &fds, .expect_fds = 1});
    if (ec) return {};
    auto page = os::shared_page::map_readonly(std::move(fds.front()));
    if (!page) {
        ec = detail::to_win32(page.error);
        return {};
    }
    auto impl = std::make_unique<detail::client_impl>();
    impl->name = parsed->full();
    impl->where = o.endpoint;
    impl->end = pipe_end::client;
    impl->type = static_cast<pipe_type>(opened.type);
    impl->direction = static_cast<pipe_direction>(opened.direction);
    impl->out_buffer_size = opened.out_buffer_size;
    impl->in_buffer_size = opened.in_buffer_size;
    impl->max_instances = opened.max_instances;
    impl->can_read = access.read;
    impl->can_write = access.write;
    impl->client_pid = ::getpid();
    impl->server_pid = opened.server_pid;
    impl->page = std::move(page.value);
    impl->generation = opened.generation;
    impl->pipe_id = opened.pipe_id;
    impl->granted_access = opened.granted_access;
    impl->connect_to(std::move(sock));
    impl->set_state(read_mode::byte, o.wait_mode, ec); // a client starts in byte read mode
    client c;
    c.channel_ = std::move(impl);
    return c;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

// ---- WaitNamedPipe, CallNamedPipe ---------------------------------------------------------------

void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout, const endpoint& where) {
    std::error_code ec;
    wait_named_pipe(name, timeout, where, ec);
    detail::throw_if(ec, "WaitNamedPipe");
}

void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout, const endpoint& where,
                     std::error_code& ec) noexcept try {
    ec.clear();
    auto parsed = parse_pipe_name(name, ec);
    if (!parsed) return;
    if (!parsed->is_local()) {
        ec = detail::win32(win32_error::bad_netpath);
        return;
    }
    detail::ok_reply ok;
    detail::broker_call(where, detail::broker_access::lookup,
                        protocol::wait_request{std::string(name), wire_timeout(timeout)}, ok, ec);
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
                            std::chrono::milliseconds timeout, const endpoint& where, std::error_code& ec) noexcept {
    client_options options;
    options.endpoint = where;
    client c = client::open(name, options, ec);
    if (ec == win32_error::pipe_busy) {
        // As Windows does: one wait, one more try.
        wait_named_pipe(name, timeout, where, ec);
        if (ec) return {};
        c = client::open(name, options, ec);
    }
    if (ec) return {};
    c.set_state(read_mode::message, std::nullopt, ec);
    if (ec) return {};
    return c.transact(request, reply, ec);
}

} // namespace npipe
