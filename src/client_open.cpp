// CreateFile on a pipe name (open_op) and WaitNamedPipe (wait_op) as resumable steps.
#include "client_impl.hpp"

#include "security/pipe_access.hpp"
#include "smb/remote_pipe.hpp"
#include "win32_errors.hpp"

#include <npipe/pipe_name.hpp>

#include <unistd.h>

namespace npipe::detail {
namespace {

/// CreateFile's dwDesiredAccess: the mask, or GENERIC_READ / GENERIC_WRITE as read and write say.
std::uint32_t desired_access(const client_options& o) noexcept {
    if (o.access_mask) return *o.access_mask;
    return (o.read ? rights::GENERIC_READ : 0u) | (o.write ? rights::GENERIC_WRITE : 0u);
}

std::uint32_t wire_timeout(std::chrono::milliseconds t) noexcept {
    if (t == wait_forever) return 0xFFFFFFFFu;
    if (t.count() <= 0) return 0;
    return static_cast<std::uint32_t>(std::min<long long>(t.count(), 0xFFFFFFFELL));
}

std::optional<std::chrono::milliseconds> remote_timeout(std::chrono::milliseconds t) noexcept {
    if (t == use_default_wait) return std::nullopt;
    if (t == wait_forever) return std::chrono::milliseconds(0xFFFFFFFFLL);
    return t;
}

} // namespace

// ---- wait_op ----------------------------------------------------------------------------------

step_result wait_op::complete(std::error_code ec) noexcept {
    request_.close();
    return finish(ec);
}

step_result wait_op::step(step_mode) noexcept try {
    if (completed_) return step_result::complete();
    std::error_code ec;
    if (!request_.started()) {
        auto parsed = parse_pipe_name(name_, ec);
        if (!parsed) return complete(ec);
        // A remote pipe's wait is the SMB server's (blocking: see remote_pipe.hpp).
        if (!parsed->is_local()) return complete(smb::wait_remote_pipe(parsed->server, parsed->name, remote_timeout(timeout_)));
        if (!request_.start(where_, broker_access::lookup, encode_request(protocol::wait_request{name_, wire_timeout(timeout_)}), ec))
            return complete(ec);
    }
    frame reply;
    if (!request_.reply(reply, 0, ec)) return ec ? complete(ec) : step_result::read_ready(request_.fd());
    ok_reply ok;
    decode_reply(reply, ok, ec);
    return complete(ec);
} catch (const std::bad_alloc&) {
    return complete(win32(win32_error::not_enough_memory));
}

void wait_op::cancel() noexcept {
    if (!completed_) complete(win32(win32_error::operation_aborted));
}

// ---- open_op ----------------------------------------------------------------------------------

namespace {

/// A client end of `type` and `direction` as `options` open it: what a local and a remote open
/// fill in alike.
std::unique_ptr<client_impl> new_client_end(const std::string& full_name, const client_options& options,
                                            pipe_type type, pipe_direction direction) {
    auto access = pipe_data_access_of(desired_access(options));
    auto impl = std::make_unique<client_impl>();
    impl->name = full_name;
    impl->where = options.endpoint;
    impl->end = pipe_end::client;
    impl->type = type;
    impl->direction = direction;
    impl->can_read = access.read;
    impl->can_write = access.write;
    impl->client_pid = ::getpid();
    return impl;
}

} // namespace

step_result open_op::complete(std::error_code ec) noexcept {
    request_.close();
    waiting_.reset();
    return finish(ec);
}

step_result open_op::start_open() {
    std::error_code ec;
    protocol::open_request req;
    req.name = name_;
    req.desired_access = desired_access(options_);
    auto access = pipe_data_access_of(req.desired_access);
    req.read = access.read; // what the broker checks against the pipe's direction
    req.write = access.write;
    req.impersonation = static_cast<std::uint8_t>(options_.impersonation);
    req.effective_only = options_.effective_only;
    req.context_tracking = options_.context_tracking;
    if (!request_.start(options_.endpoint, broker_access::lookup, encode_request(req), ec)) return complete(ec);
    return step_result::read_ready(request_.fd());
}

step_result open_op::step(step_mode) noexcept try {
    if (completed_) return step_result::complete();
    std::error_code ec;
    if (!started_) {
        auto parsed = parse_pipe_name(name_, ec);
        if (!parsed) return complete(ec);
        full_name_ = parsed->full();
        started_ = true;
        if (!parsed->is_local()) return open_remote(*parsed);
        return start_open();
    }
    if (waiting_) {
        step_result r = waiting_->step();
        if (!r.done()) return r;
        if ((ec = waiting_->outcome().ec)) return complete(ec);
        waiting_.reset();
        wait_.reset(); // one wait, one more try
        return start_open();
    }
    frame reply;
    if (!request_.reply(reply, 1, ec)) return ec ? complete(ec) : step_result::read_ready(request_.fd());
    return opened(reply);
} catch (const std::bad_alloc&) {
    return complete(win32(win32_error::not_enough_memory));
}

step_result open_op::opened(frame& reply) {
    std::error_code ec;
    protocol::opened_reply opened;
    if (!decode_reply(reply, opened, ec) || reply.fds.size() != 1) {
        if (!ec) ec = win32(win32_error::invalid_data);
        if (ec == win32_error::pipe_busy && wait_) {
            // As Windows' CallNamedPipe does: one wait, one more try.
            request_.close();
            waiting_.emplace(name_, *wait_, options_.endpoint);
            return step();
        }
        return complete(ec);
    }
    auto page = os::shared_page::map_readonly(std::move(reply.fds.front()));
    if (!page) return complete(to_win32(page.error));
    auto impl = new_client_end(full_name_, options_, static_cast<pipe_type>(opened.type),
                               static_cast<pipe_direction>(opened.direction));
    impl->out_buffer_size = opened.out_buffer_size;
    impl->in_buffer_size = opened.in_buffer_size;
    impl->max_instances = opened.max_instances;
    impl->server_pid = opened.server_pid;
    impl->page = std::move(page.value);
    impl->generation = opened.generation;
    impl->pipe_id = opened.pipe_id;
    impl->granted_access = opened.granted_access;
    impl->connect_to(request_.take_connection()); // the broker's connection is the pipe's now
    impl->set_state(read_mode::byte, options_.wait_mode, ec); // a client starts in byte read mode
    end_ = std::move(impl);
    return complete(ec);
}

/// \\HOST\pipe\NAME: opened over SMB (smb/remote_pipe.hpp), on this thread; the end is a client
/// end like a local one whose connection is the local socket the SMB bridge serves.
step_result open_op::open_remote(const pipe_name& parsed) {
    std::error_code ec;
    smb::remote_open_request req{parsed.server, parsed.name, desired_access(options_),
                                 static_cast<std::uint32_t>(options_.impersonation)};
    auto end = smb::open_remote_pipe(req, ec);
    if (!end && ec == win32_error::pipe_busy && wait_) {
        // As CallNamedPipe does: one wait, one more try.
        if ((ec = smb::wait_remote_pipe(parsed.server, parsed.name, remote_timeout(*wait_)))) return complete(ec);
        end = smb::open_remote_pipe(req, ec);
    }
    if (!end) return complete(ec);
    // The bridge marks it when the server says STATUS_PIPE_DISCONNECTED (pipe_bridge.hpp).
    auto page = os::shared_page::map_readonly(std::move(end->page));
    if (!page) return complete(to_win32(page.error));
    auto impl = new_client_end(full_name_, options_, pipe_type::message, pipe_direction::duplex);
    impl->page = std::move(page.value);
    impl->generation = 1;
    impl->granted_access = desired_access(options_);
    impl->connect_to(std::move(end->local));
    impl->set_state(read_mode::byte, options_.wait_mode, ec);
    end_ = std::move(impl);
    return complete(ec);
}

void open_op::cancel() noexcept {
    if (!completed_) complete(win32(win32_error::operation_aborted));
}

} // namespace npipe::detail
