// CreateNamedPipe and the public server_instance API (server_impl.hpp has the instance itself).
#include "impersonation.hpp"
#include "server_impl.hpp"
#include "win32_errors.hpp"

#include <npipe/pipe_name.hpp>
#include <npipe/security.hpp>

#include <unistd.h>

namespace npipe {

namespace {

detail::server_impl* impl_of(const std::unique_ptr<detail::pipe_channel>& c) {
    return static_cast<detail::server_impl*>(c.get());
}

} // namespace

server_instance::server_instance() noexcept = default;
server_instance::server_instance(server_instance&&) noexcept = default;
server_instance& server_instance::operator=(server_instance&&) noexcept = default;
server_instance::~server_instance() = default;

server_instance server_instance::create(std::string_view name, const server_options& options) {
    std::error_code ec;
    auto s = create(name, options, ec);
    detail::throw_if(ec, "CreateNamedPipe");
    return s;
}

std::unique_ptr<detail::server_impl> detail::create_instance(std::string_view name, const server_options& o,
                                                            std::error_code& ec) {
    ec.clear();
    auto parsed = parse_pipe_name(name, ec);
    if (!parsed) return {};
    if (!parsed->is_local()) { // pipes are created on this machine only
        ec = win32(win32_error::invalid_name);
        return {};
    }
    if (o.max_instances < 1 || o.max_instances > unlimited_instances ||
        (o.read_mode == read_mode::message && o.type != pipe_type::message) ||
        static_cast<unsigned>(o.direction) < 1 || static_cast<unsigned>(o.direction) > 3 ||
        (o.extra_access & ~(rights::WRITE_DAC | rights::WRITE_OWNER | rights::ACCESS_SYSTEM_SECURITY))) {
        ec = win32(win32_error::invalid_parameter);
        return {};
    }
    if (o.extra_access & rights::ACCESS_SYSTEM_SECURITY) { // needs SeSecurityPrivilege on Windows
        ec = win32(win32_error::privilege_not_held);
        return {};
    }
    auto page = os::shared_page::create();
    if (!page) {
        ec = to_win32(page.error);
        return {};
    }
    protocol::create_instance_request req;
    req.name = std::string(name);
    req.direction = static_cast<std::uint8_t>(o.direction);
    req.type = static_cast<std::uint8_t>(o.type);
    req.reject_remote = o.reject_remote_clients;
    req.exported = o.remote;
    req.first_instance = o.first_instance;
    req.max_instances = static_cast<std::uint16_t>(o.max_instances);
    req.out_buffer_size = o.out_buffer_size;
    req.in_buffer_size = o.in_buffer_size;
    req.default_timeout_ms = static_cast<std::uint32_t>(o.default_timeout.count());
    req.sddl = o.sddl;
    req.windows_default_acl = o.windows_default_acl;
    req.message_read_mode = o.read_mode == read_mode::message;
    int page_fd = page.value.descriptor();
    protocol::created_reply created;
    // The connection stays as the instance's link.
    os::fd link = broker_call(o.endpoint, broker_access::create, req, created, ec,
                                      {.send_fds = std::span<const int>(&page_fd, 1)});
    if (ec) return {};
    // A further instance is of the pipe's type, under its limit and timeout, whatever it asked
    // for (as on Windows): from here on it is what the broker says, and it registers again as
    // that after a broker restart.
    req.type = created.type;
    req.max_instances = created.max_instances;
    req.default_timeout_ms = created.default_timeout_ms;

    auto impl = std::make_unique<server_impl>();
    impl->name = parsed->full();
    impl->where = o.endpoint;
    impl->end = pipe_end::server;
    impl->type = created.type == 1 ? pipe_type::message : pipe_type::byte;
    impl->direction = o.direction;
    impl->out_buffer_size = o.out_buffer_size;
    impl->in_buffer_size = o.in_buffer_size;
    impl->max_instances = created.max_instances;
    impl->can_read = (static_cast<unsigned>(o.direction) & 1) != 0;  // inbound: the server reads
    impl->can_write = (static_cast<unsigned>(o.direction) & 2) != 0; // outbound: the server writes
    impl->server_pid = ::getpid();
    impl->set_link(std::move(link));
    impl->page = std::move(page.value);
    impl->registration = std::move(req);
    impl->pipe_id = created.pipe_id;
    impl->broker_pid = created.broker_pid;
    impl->broker_start = created.broker_start;
    // As CreateNamedPipe asks NtCreateNamedPipeFile: read and/or write by direction, plus the
    // dwOpenMode security bits.
    impl->granted_access = rights::SYNCHRONIZE | o.extra_access |
                           (impl->can_read ? rights::FILE_GENERIC_READ : 0u) |
                           (impl->can_write ? rights::FILE_GENERIC_WRITE : 0u);
    impl->set_state(o.read_mode, o.wait_mode, ec);
    return impl;
}

server_instance server_instance::create(std::string_view name, const server_options& o,
                                        std::error_code& ec) noexcept try {
    auto impl = detail::create_instance(name, o, ec);
    if (!impl) return {};
    server_instance s;
    s.channel_ = std::move(impl);
    return s;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

bool server_instance::connect() {
    std::error_code ec;
    bool already = connect(ec);
    detail::throw_if(ec, "ConnectNamedPipe");
    return already;
}

bool server_instance::connect(std::error_code& ec) noexcept try {
    ec.clear();
    auto* s = impl_of(channel_);
    if (!s) { ec = detail::win32(win32_error::invalid_handle); return false; }
    return s->connect(ec);
} catch (...) {
    ec = detail::win32(win32_error::not_enough_memory);
    return false;
}

void server_instance::disconnect() {
    std::error_code ec;
    disconnect(ec);
    detail::throw_if(ec, "DisconnectNamedPipe");
}

void server_instance::disconnect(std::error_code& ec) noexcept try {
    ec.clear();
    auto* s = impl_of(channel_);
    if (!s) { ec = detail::win32(win32_error::invalid_handle); return; }
    s->disconnect(ec);
} catch (...) {
    ec = detail::win32(win32_error::not_enough_memory);
}

instance_state server_instance::current_state() const noexcept {
    auto* s = impl_of(channel_);
    if (!s) return instance_state::disconnected;
    std::lock_guard lock(s->state_mutex);
    if (s->state == instance_state::connected && s->peer_hung_up()) return instance_state::closing;
    return s->state;
}

std::optional<uid_t> server_instance::client_uid() const noexcept {
    auto* s = impl_of(channel_);
    if (!s) return std::nullopt;
    std::lock_guard lock(s->state_mutex);
    return s->client_uid;
}

std::optional<client_identity> server_instance::client_identity() const {
    auto* s = impl_of(channel_);
    if (!s) return std::nullopt;
    std::lock_guard lock(s->state_mutex);
    return s->identity;
}

void server_instance::impersonate_client() {
    std::error_code ec;
    impersonate_client(ec);
    detail::throw_if(ec, "ImpersonateNamedPipeClient");
}

void server_instance::impersonate_client(std::error_code& ec) noexcept try {
    ec.clear();
    auto* s = impl_of(channel_);
    if (!s) { ec = detail::win32(win32_error::invalid_handle); return; }
    std::optional<npipe::client_identity> who;
    {
        std::lock_guard lock(s->state_mutex);
        who = s->identity;
    }
    // Windows: nothing read yet, or a client that did not allow it, cannot be impersonated.
    bool allowed = who && !who->anonymous && s->has_read() &&
                   (who->allowed == impersonation_level::impersonation ||
                    who->allowed == impersonation_level::delegation);
    if (!allowed) { ec = detail::win32(win32_error::cannot_impersonate); return; }
    detail::impersonate(*who, ec);
} catch (...) {
    ec = detail::win32(win32_error::not_enough_memory);
}

} // namespace npipe
