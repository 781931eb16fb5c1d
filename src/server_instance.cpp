// The server end: an instance registered with the broker over its own link, which the broker
// uses to hand over each client's connection.
#include "broker_link.hpp"
#include "impersonation.hpp"
#include "pipe_channel.hpp"
#include "win32_errors.hpp"

#include <npipe/pipe_name.hpp>

#include <poll.h>
#include <unistd.h>

namespace npipe {
namespace detail {

class server_impl final : public pipe_channel {
public:
    os::fd link;
    os::shared_page page;
    mutable std::mutex state_mutex;
    instance_state state = instance_state::listening;
    std::uint64_t generation = 0;
    std::optional<uid_t> client_uid;
    std::optional<npipe::client_identity> identity;

    ~server_impl() override {
        detach();     // the client reads what is left, then ERROR_BROKEN_PIPE
        link.reset(); // the broker drops the instance (and the pipe with its last instance)
    }

    bool connect(std::error_code& ec) {
        std::unique_lock lock(state_mutex);
        if (state == instance_state::connected || state == instance_state::closing) {
            // The client came before us: success, reported as ERROR_PIPE_CONNECTED on Windows;
            // unless it has already left, which needs a disconnect first.
            if (peer_hung_up()) {
                state = instance_state::closing;
                ec = win32(win32_error::no_data);
                return false;
            }
            return true;
        }
        if (state == instance_state::disconnected) {
            // No client can be in flight to a disconnected instance: no need to wait for the
            // broker's word before waiting for a client.
            if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::listen, {})))) return false;
            state = instance_state::listening;
        } else if (sync_listen(ec)) {
            // The client came (and perhaps went) before ConnectNamedPipe was called.
            if (peer_hung_up()) {
                state = instance_state::closing;
                ec = win32(win32_error::no_data);
                return false;
            }
            return true;
        }
        if (ec) return false;
        if (wait_mode_ == wait_mode::nowait) {
            ec = win32(win32_error::pipe_listening);
            return false;
        }
        wait_for_client(lock, ec);
        return false;
    }

    void disconnect(std::error_code& ec) {
        wake_io(); // a thread blocked in read or write returns now
        std::scoped_lock io(read_mutex_, write_mutex_);
        std::lock_guard lock(state_mutex);
        if (state == instance_state::disconnected) {
            ec = win32(win32_error::pipe_not_connected);
            return;
        }
        if (state == instance_state::listening) sync_listen(ec);
        bool was_listening = state == instance_state::listening;
        if (!was_listening) {
            publish_disconnected(generation); // the client's unread data is void from now on
            detach_locked();
        }
        if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::disconnect, {})))) return;
        // A client may be on its way to a listening instance; the broker's acknowledgement
        // tells us when none can be. A connected instance gets no acknowledgement.
        if (was_listening) read_until(protocol::message_type::disconnected, false, ec);
        state = instance_state::disconnected;
        client_pid = 0;
        client_uid.reset();
        identity.reset();
    }

    int native_handle() const noexcept override {
        std::lock_guard lock(state_mutex);
        return state == instance_state::listening ? link.get() : data_.get();
    }

    void publish_disconnected(std::uint64_t g) noexcept {
        auto* p = static_cast<instance_page*>(page.address());
        if (g > __atomic_load_n(&p->disconnected_generation, __ATOMIC_RELAXED))
            __atomic_store_n(&p->disconnected_generation, g, __ATOMIC_RELEASE);
    }

    /// Handles one frame from the link. A client is attached when `keep` (returns true), else
    /// dropped as arriving too late. Acknowledgements are reported through `ack`.
    bool take(frame& f, bool keep, protocol::message_type& ack, std::error_code& ec) {
        ack = f.type;
        if (f.type == protocol::message_type::listening || f.type == protocol::message_type::disconnected) return false;
        protocol::client_arrived_push push;
        if (f.type != protocol::message_type::client_arrived || !protocol::decode(f.body, push) || f.fds.size() != 1) {
            ec = win32(win32_error::invalid_data);
            return false;
        }
        if (!keep) {
            // The client arrived while we were disconnecting: it is dropped like any other.
            publish_disconnected(push.generation);
            os::shutdown_both(f.fds.front().get());
            return false;
        }
        // The broker accepted this socket non-blocking, and O_NONBLOCK travels with it; our
        // I/O chooses per call (MSG_DONTWAIT), so the descriptor itself must block.
        os::set_nonblocking(f.fds.front().get(), false);
        attach(std::move(f.fds.front()));
        generation = push.generation;
        client_pid = push.pid;
        client_uid = push.uid;
        npipe::client_identity who;
        who.pid = push.pid;
        who.uid = push.uid;
        who.gid = push.gid;
        who.groups.assign(push.groups.begin(), push.groups.end());
        who.label = push.label;
        who.anonymous = push.anonymous;
        who.allowed = static_cast<impersonation_level>(push.impersonation);
        who.effective_only = push.effective_only;
        identity = std::move(who);
        state = instance_state::connected;
        return true;
    }

    /// Reads link frames until the acknowledgement `until`; clients met on the way are attached
    /// (`keep`) or dropped. Returns true when a client was attached.
    bool read_until(protocol::message_type until, bool keep, std::error_code& ec) {
        bool attached = false;
        for (;;) {
            frame f;
            if (!receive_frame(link.get(), f, 1, ec)) return attached;
            protocol::message_type ack{};
            if (take(f, keep && !attached, ack, ec)) attached = true;
            if (ec) return attached;
            if (ack == until) return attached;
        }
    }

    /// Tells the broker we listen and learns, exactly, whether a client is already ours.
    bool sync_listen(std::error_code& ec) {
        if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::listen, {})))) return false;
        state = instance_state::listening;
        return read_until(protocol::message_type::listening, true, ec);
    }

    /// Blocks until a client arrives, without holding `lock` while it waits.
    bool wait_for_client(std::unique_lock<std::mutex>& lock, std::error_code& ec) {
        for (;;) {
            int raw_link = link.get();
            lock.unlock();
            auto r = os::poll_one(raw_link, POLLIN, -1);
            lock.lock();
            if (!r) { ec = to_win32(r.error); return false; }
            if (state != instance_state::listening) return true; // another thread took the client
            frame f;
            if (!receive_frame(link.get(), f, 1, ec)) return false;
            protocol::message_type ack{};
            if (take(f, true, ack, ec)) return true;
            if (ec) return false;
        }
    }

protected:
    std::error_code prepare_io(io_kind kind) noexcept override {
        if (kind == io_kind::query) return {}; // a server end answers queries in any state
        std::lock_guard lock(state_mutex);
        std::error_code ec;
        if (state == instance_state::listening) sync_listen(ec);
        // Windows: peek and transact need a connected instance (ERROR_BAD_PIPE otherwise, also
        // for a transaction once the client has gone); a flush with no client has nothing to
        // wait for and succeeds.
        bool needs_connection = kind == io_kind::peek || kind == io_kind::transact;
        switch (state) {
        case instance_state::listening:
            if (kind == io_kind::flush) return {};
            return win32(needs_connection ? win32_error::bad_pipe : win32_error::pipe_listening);
        case instance_state::disconnected:
            if (kind == io_kind::flush) return {};
            return win32(needs_connection ? win32_error::bad_pipe : win32_error::pipe_not_connected);
        case instance_state::connected:
        case instance_state::closing:
            if (kind == io_kind::transact && peer_hung_up()) return win32(win32_error::bad_pipe);
            return {};
        }
        return win32(win32_error::invalid_handle);
    }
};

} // namespace detail

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

server_instance server_instance::create(std::string_view name, const server_options& o,
                                        std::error_code& ec) noexcept try {
    ec.clear();
    auto parsed = parse_pipe_name(name, ec);
    if (!parsed) return {};
    if (!parsed->is_local()) { // pipes are created on this machine only
        ec = detail::win32(win32_error::invalid_name);
        return {};
    }
    if (o.max_instances < 1 || o.max_instances > unlimited_instances ||
        (o.read_mode == read_mode::message && o.type != pipe_type::message) ||
        static_cast<unsigned>(o.direction) < 1 || static_cast<unsigned>(o.direction) > 3) {
        ec = detail::win32(win32_error::invalid_parameter);
        return {};
    }
    auto page = os::shared_page::create();
    if (!page) {
        ec = detail::to_win32(page.error);
        return {};
    }
    os::fd link = detail::connect_broker(o.endpoint, true, ec);
    if (ec) return {};
    protocol::create_instance_request req;
    req.name = std::string(name);
    req.direction = static_cast<std::uint8_t>(o.direction);
    req.type = static_cast<std::uint8_t>(o.type);
    req.reject_remote = o.reject_remote_clients;
    req.first_instance = o.first_instance;
    req.max_instances = static_cast<std::uint16_t>(o.max_instances);
    req.out_buffer_size = o.out_buffer_size;
    req.in_buffer_size = o.in_buffer_size;
    req.default_timeout_ms = static_cast<std::uint32_t>(o.default_timeout.count());
    req.sddl = o.sddl;
    req.windows_default_acl = o.windows_default_acl;
    int page_fd = page.value.descriptor();
    if ((ec = detail::send_frame(link.get(), protocol::encode(req), std::span<const int>(&page_fd, 1)))) return {};
    detail::frame reply;
    if (!detail::receive_frame(link.get(), reply, 0, ec)) return {};
    protocol::created_reply created;
    if (reply.type != protocol::message_type::created || !protocol::decode(reply.body, created)) {
        ec = detail::reply_error(reply);
        return {};
    }

    auto impl = std::make_unique<detail::server_impl>();
    impl->name = parsed->full();
    impl->where = o.endpoint;
    impl->end = pipe_end::server;
    impl->type = o.type;
    impl->direction = o.direction;
    impl->out_buffer_size = o.out_buffer_size;
    impl->in_buffer_size = o.in_buffer_size;
    impl->max_instances = o.max_instances;
    impl->can_read = (static_cast<unsigned>(o.direction) & 1) != 0;  // inbound: the server reads
    impl->can_write = (static_cast<unsigned>(o.direction) & 2) != 0; // outbound: the server writes
    impl->server_pid = ::getpid();
    impl->link = std::move(link);
    impl->page = std::move(page.value);
    impl->set_state(o.read_mode, o.wait_mode, ec);
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
