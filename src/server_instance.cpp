// The server end: an instance registered with the broker over its own link, which the broker
// uses to hand over each client's connection.
#include "broker_link.hpp"
#include "impersonation.hpp"
#include "pipe_channel.hpp"
#include "win32_errors.hpp"

#include <npipe/pipe_name.hpp>
#include <npipe/security.hpp>

#include "os/process.hpp"

#include <chrono>
#include <poll.h>
#include <thread>
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
    // The instance's registration, kept to make it again with a broker that restarted, and the
    // broker the link goes to (a pid and its start time: one process for good).
    protocol::create_instance_request registration;
    pid_t broker_pid = 0;
    std::uint64_t broker_start = 0;

    ~server_impl() override {
        // The broker's disconnect event gets this connection's counts before the link goes.
        if ((state == instance_state::connected || state == instance_state::closing) && link)
            (void)send_frame(link.get(), protocol::encode(disconnect_counts(peer_hung_up(), true)));
        detach(); // the client reads what is left, then ERROR_BROKEN_PIPE
        link.reset(); // the broker drops the instance (and the pipe with its last instance) before
                      // it takes any later request (it reads instance links first)
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
        bool patient = wait_mode_ == wait_mode::wait;
        if (!link && !relink(ec, patient, &lock)) return false; // lost with a broker that went
        if (state == instance_state::disconnected) {
            // No client can be in flight to a disconnected instance: no need to wait for the
            // broker's word before waiting for a client.
            if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::listen, {})))) {
                if (!lost_broker(false) || !relink(ec, patient, &lock)) return false;
                if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::listen, {})))) return false;
            }
            state = instance_state::listening;
        } else if (listen_now(ec, patient, &lock)) {
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
        // Whether the client had gone first, for the broker's event: asked before wake_io(),
        // whose shutdown would look like a hang-up.
        bool client_gone = false;
        {
            std::lock_guard lock(state_mutex);
            client_gone = (state == instance_state::connected || state == instance_state::closing) && peer_hung_up();
        }
        wake_io(); // a thread blocked in read or write returns now
        std::scoped_lock io(read_mutex_, write_mutex_);
        std::lock_guard lock(state_mutex);
        if (state == instance_state::disconnected) {
            ec = win32(win32_error::pipe_not_connected);
            return;
        }
        if (!link) relink(ec, false, nullptr); // best effort: the disconnect itself is ours
        ec.clear();
        if (state == instance_state::listening && link) listen_now(ec, false, nullptr);
        ec.clear(); // the broker's part is best effort; the disconnect itself is ours
        bool was_listening = state == instance_state::listening;
        if (!was_listening) {
            publish_disconnected(generation); // the client's unread data is void from now on
            detach_locked();
        }
        if (link) {
            ec = send_frame(link.get(), protocol::encode(disconnect_counts(client_gone, false)));
            // A client may be on its way to a listening instance; the broker's acknowledgement
            // tells us when none can be. A connected instance gets no acknowledgement.
            if (!ec && was_listening) read_until(protocol::message_type::disconnected, false, ec);
            if (ec && !lost_broker(false)) return;
            if (ec) {
                // The broker went: no client can come through it. Register with the next one
                // as disconnected (or at the next connect, when none runs yet).
                state = instance_state::disconnected;
                relink(ec, false, nullptr);
                ec.clear();
            }
        }
        state = instance_state::disconnected;
        client_pid = 0;
        client_uid.reset();
        identity.reset();
    }

    protocol::disconnect_request disconnect_counts(bool client_gone, bool closing) const noexcept {
        return {bytes_read(), bytes_written(), client_gone, closing};
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

    /// sync_listen(), making the registration again first when the broker restarted meanwhile.
    bool listen_now(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock) {
        if (!link && !relink(ec, patient, lock)) return false;
        bool attached = sync_listen(ec);
        if (!ec || !lost_broker(true)) return attached;
        // A client met before the broker went is ours; either way the registration is made again.
        attached = state == instance_state::connected || state == instance_state::closing;
        if (!relink(ec, patient, lock)) {
            if (attached) ec.clear(); // the client is here; the next link operation tries again
            return attached;
        }
        return attached || sync_listen(ec);
    }

    /// Whether the broker process `broker_pid` still serves: asks whoever answers the broker's
    /// socket now (with a bounded wait). A broker that is exiting has closed its socket already,
    /// one started by systemd in its place has another pid.
    bool broker_still_serves() {
        std::error_code ec;
        protocol::broker_status_reply status;
        detail::broker_call(where, broker_access::query, protocol::message_type::status, status, ec, {.timeout_ms = 2000});
        return !ec && status.pid == broker_pid;
    }

    /// After an exchange on the link failed: true when the broker holding it has exited (then
    /// the link is dropped, to be made again by relink()). False when it still runs: the link
    /// was shut down here (the handle is being closed) or the broker dropped us on purpose.
    /// What the link still holds is read first: a client the broker pushed before it went is
    /// attached when `keep` (and no client is), else dropped like any late client.
    bool lost_broker(bool keep) {
        if (broker_pid == 0) return false;
        // Its descriptors close before it is gone from the process table: a broker that looks
        // alive may be dying. It is alive when it still answers (then the link was shut here,
        // by a closing handle, or the broker dropped us on purpose: no re-registration).
        if (os::process_running(broker_pid, broker_start) && broker_still_serves()) return false;
        for (;;) {
            auto ready = os::poll_one(link.get(), POLLIN, 0);
            if (!ready || !(ready.value & POLLIN)) break;
            frame f;
            std::error_code ignored;
            if (!receive_frame(link.get(), f, 1, ignored)) break;
            protocol::message_type ack{};
            take(f, keep && state == instance_state::listening, ack, ignored);
        }
        link.reset();
        return true;
    }

    /// Registers this instance with the broker that now runs, as it is: state, connection count,
    /// the pipe it belongs to, its page and, with a client, the data connection (the broker
    /// learns the client from the kernel). `patient` keeps trying while no broker runs (up to a
    /// minute, releasing `lock` between tries); else one try. An instance refused by the new
    /// broker (the name went to someone else meanwhile, say) gets that error and stays unlinked.
    bool relink(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock) {
        using namespace std::chrono_literals;
        auto deadline = std::chrono::steady_clock::now() + 60s;
        auto pause = 10ms;
        for (;;) {
            std::error_code e;
            os::fd next = connect_broker(where, broker_access::create, e);
            if (!e) {
                auto req = registration;
                req.reregister = true;
                req.state = static_cast<std::uint8_t>(state);
                req.generation = generation;
                req.pipe_id = pipe_id.load();
                bool with_client = (state == instance_state::connected || state == instance_state::closing) && data_;
                if (!with_client && req.state != static_cast<std::uint8_t>(instance_state::listening))
                    req.state = static_cast<std::uint8_t>(instance_state::disconnected);
                int fds[2] = {page.descriptor(), data_.get()};
                protocol::created_reply created;
                auto status = broker_exchange(next.get(), req, created, e,
                                              {.send_fds = std::span<const int>(fds, with_client ? 2 : 1)});
                if (status == call_status::refused) {
                    ec = e;
                    return false;
                }
                if (status == call_status::replied) {
                    link = std::move(next);
                    pipe_id = created.pipe_id;
                    broker_pid = created.broker_pid;
                    broker_start = created.broker_start;
                    ec.clear();
                    return true;
                }
            }
            if (!patient || std::chrono::steady_clock::now() >= deadline) {
                ec = e ? e : win32(win32_error::service_not_active);
                return false;
            }
            if (lock) lock->unlock();
            std::this_thread::sleep_for(pause);
            if (lock) lock->lock();
            if (link) { // another thread registered the instance meanwhile
                ec.clear();
                return true;
            }
            pause = std::min(pause * 2, std::chrono::duration_cast<std::chrono::milliseconds>(500ms));
        }
    }

    /// Blocks until a client arrives, without holding `lock` while it waits.
    bool wait_for_client(std::unique_lock<std::mutex>& lock, std::error_code& ec) {
        for (;;) {
            if (!link && !relink(ec, true, &lock)) return false;
            int raw_link = link.get();
            lock.unlock();
            auto r = os::poll_one(raw_link, POLLIN, -1);
            lock.lock();
            if (!r) { ec = to_win32(r.error); return false; }
            if (state != instance_state::listening) return true; // another thread took the client
            if (link.get() != raw_link) continue; // re-registered meanwhile: poll the new link
            frame f;
            if (!receive_frame(link.get(), f, 1, ec)) {
                // The broker restarted: register again and go on waiting for a client.
                if (lost_broker(true) && relink(ec, true, &lock)) {
                    if (state != instance_state::listening) return true; // it had pushed a client
                    continue;
                }
                return false;
            }
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
        if (state == instance_state::listening) listen_now(ec, false, nullptr);
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
        static_cast<unsigned>(o.direction) < 1 || static_cast<unsigned>(o.direction) > 3 ||
        (o.extra_access & ~(rights::WRITE_DAC | rights::WRITE_OWNER | rights::ACCESS_SYSTEM_SECURITY))) {
        ec = detail::win32(win32_error::invalid_parameter);
        return {};
    }
    if (o.extra_access & rights::ACCESS_SYSTEM_SECURITY) { // needs SeSecurityPrivilege on Windows
        ec = detail::win32(win32_error::privilege_not_held);
        return {};
    }
    auto page = os::shared_page::create();
    if (!page) {
        ec = detail::to_win32(page.error);
        return {};
    }
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
    protocol::created_reply created;
    // The connection stays as the instance's link.
    os::fd link = detail::broker_call(o.endpoint, detail::broker_access::create, req, created, ec,
                                      {.send_fds = std::span<const int>(&page_fd, 1)});
    if (ec) return {};

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
