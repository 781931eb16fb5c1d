// A server instance's link to the broker: listening, the clients the broker pushes, a broker that
// restarted (the instance registers again, as it is), and the instance's close.
#include "server_impl.hpp"

#include "os/fd.hpp"
#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <thread>

namespace npipe::detail {

server_impl::~server_impl() {
    // The broker's disconnect event gets this connection's counts before the link goes.
    if ((state == instance_state::connected || state == instance_state::closing) && link)
        (void)send_frame(link.get(), protocol::encode(disconnect_counts(peer_hung_up(), true)));
    // An SMB client whose bytes we never read: no shutdown first. The last close of the socket
    // (ours, or the broker's copy's a moment later) then resets it, which smbd tells its client
    // as STATUS_PIPE_BROKEN, what Windows says after a server's close; a shutdown would show smbd
    // an end of stream first (STATUS_PIPE_DISCONNECTED) whenever it read in between.
    auto unread = identity && identity->remote && data_ ? os::readable_bytes(data_.get()) : os::sys_result<int>{0, {}};
    if (unread && unread.value > 0) detach_locked();
    else detach(); // the client reads what is left, then ERROR_BROKEN_PIPE
    link.reset(); // the broker drops the instance (and the pipe with its last instance) before
                  // it takes any later request (it reads instance links first)
}

int server_impl::native_handle() const noexcept {
    std::lock_guard lock(state_mutex);
    return state == instance_state::listening ? link.get() : data_.get();
}

void server_impl::set_link(os::fd next) noexcept {
    link = std::move(next);
    link_rx.reset();
    disconnecting = false; // an answer due on the old link never comes, and no client through it
}

void server_impl::publish_disconnected(std::uint64_t g) noexcept { protocol::store_disconnected(page.address(), g); }

bool server_impl::take(frame& f, bool keep, protocol::message_type& ack, std::error_code& ec) {
    ack = f.type;
    if (f.type == protocol::message_type::listening || f.type == protocol::message_type::disconnected) return false;
    protocol::client_arrived_push push;
    if (f.type != protocol::message_type::client_arrived || !protocol::decode(f.body, push) || f.fds.size() != 1) {
        ec = win32(win32_error::invalid_data);
        return false;
    }
    if (!keep) {
        // The client arrived while we were disconnecting: it is dropped like any other. The
        // broker counted its connection all the same; the next one has a higher number.
        generation = std::max(generation, push.generation);
        publish_disconnected(push.generation);
        os::shutdown_both(f.fds.front().get());
        return false;
    }
    // The broker accepted this socket non-blocking, and O_NONBLOCK travels with it; our
    // I/O chooses per call (os::io_flags::dont_wait), so the descriptor itself must block.
    os::set_nonblocking(f.fds.front().get(), false);
    // An SMB client through smbd: its messages carry smbd's 2-byte lengths (byte pipes: raw).
    attach(std::move(f.fds.front()), push.remote ? framing::samba : framing::npipe);
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
    who.remote = push.remote;
    who.account = push.account;
    who.domain = push.domain;
    who.computer_name = push.computer;
    who.address = push.address;
    who.port = push.port;
    for (const auto& s : push.sids) who.sids.push_back(s.text); // canonical: decode() checked each
    identity = std::move(who);
    state = instance_state::connected;
    return true;
}

bool server_impl::receive_link_frame(frame& f, std::error_code& ec) {
    for (;;) {
        if (link_rx.step(link.get(), 1, f, ec)) return true;
        if (ec) return false;
        wait_blocking(step_result::read_ready(link.get()));
    }
}

bool server_impl::read_until(protocol::message_type until, bool keep, std::error_code& ec) {
    bool attached = false;
    for (;;) {
        frame f;
        if (!receive_link_frame(f, ec)) return attached;
        protocol::message_type ack{};
        if (take(f, keep && !attached, ack, ec)) attached = true;
        if (ec) return attached;
        if (ack == until) return attached;
    }
}

bool server_impl::sync_listen(std::error_code& ec) {
    if ((ec = send_frame(link.get(), protocol::encode(protocol::message_type::listen, {})))) return false;
    state = instance_state::listening;
    return read_until(protocol::message_type::listening, true, ec);
}

bool server_impl::listen_now(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock) {
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

bool server_impl::broker_still_serves() {
    // A broker that is exiting has closed its socket already; one started by systemd in its
    // place has another pid.
    std::error_code ec;
    broker_status status;
    broker_call(where, broker_access::query, protocol::message_type::status, status, ec, {.timeout_ms = 2000});
    return !ec && status.pid == broker_pid;
}

bool server_impl::lost_broker(bool keep) {
    if (broker_pid == 0) return false;
    // Its descriptors close before it is gone from the process table: a broker that looks
    // alive may be dying. It is alive when it still answers (then the link was shut here,
    // by a closing handle, or the broker dropped us on purpose: no re-registration).
    if (os::process_running(broker_pid, broker_start) && broker_still_serves()) return false;
    // A client the broker pushed before it went is attached when `keep` (and no client is),
    // else dropped like any late client.
    for (;;) {
        frame f;
        std::error_code ignored;
        if (!link_rx.step(link.get(), 1, f, ignored)) break;
        protocol::message_type ack{};
        take(f, keep && state == instance_state::listening, ack, ignored);
    }
    set_link({});
    return true;
}

call_status server_impl::relink_once(std::error_code& ec) {
    os::fd next = connect_broker(where, broker_access::create, ec);
    if (ec) return call_status::failed;
    // The instance as it is: state, connection count, the pipe it belongs to, its page and,
    // with a client, the data connection (the broker learns the client from the kernel).
    auto req = registration;
    req.reregister = true;
    req.state = static_cast<std::uint8_t>(state.load());
    req.generation = generation;
    req.pipe_id = pipe_id.load();
    bool with_client = (state == instance_state::connected || state == instance_state::closing) && data_;
    if (!with_client && req.state != static_cast<std::uint8_t>(instance_state::listening))
        req.state = static_cast<std::uint8_t>(instance_state::disconnected);
    int fds[2] = {page.descriptor(), data_.get()};
    protocol::created_reply created;
    auto status = broker_exchange(next.get(), req, created, ec, {.send_fds = std::span<const int>(fds, with_client ? 2 : 1)});
    if (status != call_status::replied) return status;
    set_link(std::move(next));
    pipe_id = created.pipe_id;
    broker_pid = created.broker_pid;
    broker_start = created.broker_start;
    return status;
}

bool server_impl::relink(std::error_code& ec, bool patient, std::unique_lock<std::mutex>* lock) {
    using namespace std::chrono_literals;
    auto deadline = std::chrono::steady_clock::now() + 60s;
    auto pause = 10ms;
    for (;;) {
        // An instance refused by the new broker (the name went to someone else meanwhile, say)
        // gets that error and stays unlinked.
        auto status = relink_once(ec);
        if (status != call_status::failed) return status == call_status::replied;
        if (!patient || std::chrono::steady_clock::now() >= deadline) return false;
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

std::error_code server_impl::prepare_io(io_kind kind) noexcept {
    if (kind == io_kind::query) return {}; // a server end answers queries in any state
    if (kind == io_kind::read || kind == io_kind::write) {
        // Connected (or its client gone, its data still readable): nothing to check or do. The
        // state only leaves these under the I/O locks this call's caller holds (disconnect
        // takes them first), or for `closing`, which allows reads and writes too.
        instance_state now = state.load(std::memory_order_acquire);
        if (now == instance_state::connected || now == instance_state::closing) return {};
    }
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

} // namespace npipe::detail
