// ConnectNamedPipe and DisconnectNamedPipe on a server instance, as resumable steps (connect_op,
// disconnect_op).
#include "server_impl.hpp"

#include "win32_errors.hpp"

namespace npipe::detail {
namespace {

bool has_client(instance_state s) noexcept {
    return s == instance_state::connected || s == instance_state::closing;
}

/// Reads and drops what an SMB client wrote and the server did not read, from a socket already
/// shut down (so smbd can add nothing). DisconnectNamedPipe voids that data, as on Windows; and
/// left in the socket it would make the close a reset (Linux: a Unix socket closed with unread
/// bytes gives its peer ECONNRESET), which smbd answers the client's next READ with
/// STATUS_PIPE_BROKEN, where Windows says STATUS_PIPE_DISCONNECTED.
void discard_unread(int sock) noexcept {
    std::byte sink[4096];
    for (;;) {
        auto r = os::recv_some(sock, sink, sizeof sink, os::io_flags::dont_wait);
        if (!r || r.value == 0) return;
    }
}

} // namespace

// ---- connect_op -------------------------------------------------------------------------------

step_result connect_op::step(step_mode) noexcept try {
    std::unique_lock lock(s_.state_mutex);
    if (completed_) return step_result::complete();
    return waiting_ ? wait_for_client() : start();
} catch (const std::bad_alloc&) {
    return finish(win32(win32_error::not_enough_memory));
}

void connect_op::cancel() noexcept {
    std::lock_guard lock(s_.state_mutex);
    if (completed_) return;
    finish(win32(win32_error::operation_aborted));
}

step_result connect_op::client_is_here() {
    // The client came before us (perhaps before ConnectNamedPipe was called): success, reported
    // as ERROR_PIPE_CONNECTED on Windows; unless it has already left, which needs a disconnect
    // first.
    if (s_.peer_hung_up()) {
        s_.state = instance_state::closing;
        return finish(win32(win32_error::no_data));
    }
    already_ = true;
    return finish({});
}

step_result connect_op::relink_later(const std::error_code& ec, bool patient) {
    using namespace std::chrono_literals;
    auto now = std::chrono::steady_clock::now();
    if (!patient) return finish(ec);
    if (!give_up_) give_up_ = now + 60s;
    if (now >= *give_up_) return finish(ec);
    pause_ = pause_.count() == 0 ? 10ms : std::min(pause_ * 2, std::chrono::milliseconds(500));
    return step_result::after(pause_);
}

step_result connect_op::start() {
    if (has_client(s_.state)) return client_is_here();
    bool patient = s_.current_wait_mode() == wait_mode::wait;
    std::error_code ec;
    // A disconnect whose answer is still to come (its operation was left pending or cancelled)
    // ends first: a client handed over before it must not be taken for a new one.
    if (!s_.finish_disconnecting(ec)) return step_result::read_ready(s_.link.get());
    if (ec) return finish(ec);
    if (!s_.link) { // lost with a broker that went
        auto status = s_.relink_once(ec);
        if (status == call_status::refused) return finish(ec);
        if (status == call_status::failed) return relink_later(ec, patient);
    }
    if (s_.state == instance_state::disconnected) {
        // No client can be in flight to a disconnected instance: no need to wait for the
        // broker's word before waiting for a client.
        if ((ec = send_frame(s_.link.get(), protocol::encode(protocol::message_type::listen, {})))) {
            if (!s_.lost_broker(false)) return finish(ec);
            return step_result::after(std::chrono::microseconds(0)); // register again first
        }
        s_.state = instance_state::listening;
    } else {
        step_result r = listen();
        if (completed_ || r.what == wait_for::time) return r;
    }
    if (s_.current_wait_mode() == wait_mode::nowait) return finish(win32(win32_error::pipe_listening));
    waiting_ = true;
    return wait_for_client();
}

/// Tells the broker we listen; the broker says whether a client is ours already.
step_result connect_op::listen() {
    std::error_code ec;
    bool patient = s_.current_wait_mode() == wait_mode::wait;
    bool attached = s_.sync_listen(ec);
    if (ec && s_.lost_broker(true)) {
        // A client met before the broker went is ours; either way the registration is made again.
        attached = has_client(s_.state);
        auto status = s_.relink_once(ec);
        if (status != call_status::replied) {
            if (attached) return client_is_here(); // the next link operation tries again
            if (status == call_status::refused) return finish(ec);
            return relink_later(ec, patient);
        }
        if (!attached) attached = s_.sync_listen(ec);
    }
    if (attached) return client_is_here();
    if (ec) return finish(ec);
    return step_result::complete(); // listening: go on
}

step_result connect_op::wait_for_client() {
    std::error_code ec;
    for (;;) {
        if (!s_.link) {
            auto status = s_.relink_once(ec);
            if (status == call_status::refused) return finish(ec);
            if (status == call_status::failed) return relink_later(ec, true);
            pause_ = {};
            give_up_.reset();
        }
        if (s_.state != instance_state::listening) return finish({}); // another thread took the client
        frame f;
        if (!s_.link_rx.step(s_.link.get(), 1, f, ec)) {
            if (!ec) return step_result::read_ready(s_.link.get());
            // The broker restarted: register again and go on waiting for a client.
            if (!s_.lost_broker(true)) return finish(ec);
            ec.clear();
            continue;
        }
        protocol::message_type ack{};
        if (s_.take(f, true, ack, ec)) return finish({});
        if (ec) return finish(ec);
    }
}

// ---- server_impl ------------------------------------------------------------------------------

bool server_impl::connect(std::error_code& ec, const std::function<void()>& listening) {
    connect_op op(*this);
    bool told = false;
    run_blocking_while(op, [&] {
        if (!told && op.listening() && !op.completed()) {
            told = true;
            if (listening) listening();
        }
        return !op.completed();
    });
    ec = op.outcome().ec;
    return op.already_connected();
}

void server_impl::disconnect(std::error_code& ec) {
    disconnect_op op(*this);
    run_blocking(op);
    ec = op.outcome().ec;
}

std::error_code server_impl::begin_disconnect() {
    // Whether the client had gone first, for the broker's event: asked before wake_io(),
    // whose shutdown would look like a hang-up.
    bool client_gone = false;
    {
        std::lock_guard lock(state_mutex);
        client_gone = has_client(state) && peer_hung_up();
    }
    wake_io(); // a thread blocked in read or write returns now
    std::scoped_lock io(read_mutex_, write_mutex_);
    std::lock_guard lock(state_mutex);
    if (state == instance_state::disconnected) return win32(win32_error::pipe_not_connected);
    std::error_code ec;
    if (!link) relink(ec, false, nullptr); // best effort: the disconnect itself is ours
    bool was_listening = state == instance_state::listening;
    if (!was_listening) {
        publish_disconnected(generation); // the client's unread data is void from now on
        if (identity && identity->remote && connected()) discard_unread(data_.get());
        detach_locked();
    }
    if (link) {
        // A client may be on its way to a listening instance; the broker's answer tells us when
        // none can be. A connected instance gets no answer. (A client the broker has handed over
        // and we have not read yet made it connected for the broker: no answer then either;
        // finish_disconnecting() drops that client when it meets it on the link.)
        ec = send_frame(link.get(), protocol::encode(disconnect_counts(client_gone, false)));
        if (!ec) {
            disconnecting = was_listening;
        } else {
            if (!lost_broker(false)) return ec;
            // The broker went: no client can come through it. Register with the next one
            // as disconnected (or at the next connect, when none runs yet).
            state = instance_state::disconnected;
            relink(ec, false, nullptr);
        }
    }
    state = instance_state::disconnected;
    client_pid = 0;
    client_uid.reset();
    identity.reset();
    return {};
}

bool server_impl::finish_disconnecting(std::error_code& ec) {
    while (disconnecting) {
        frame f;
        protocol::message_type got{};
        if (link_rx.step(link.get(), 1, f, ec)) take(f, false, got, ec);
        else if (!ec) return false; // the answer is still to come
        if (ec) {
            disconnecting = false;
            if (!lost_broker(false)) return true;
            // As in begin_disconnect(): the broker went, and with it any client on its way.
            relink(ec, false, nullptr);
            ec.clear();
            return true;
        }
        // A client the broker handed over before it read the disconnect is dropped (take): the
        // broker saw the instance connected then, so the disconnect ended that connection and
        // no answer follows.
        if (got == protocol::message_type::disconnected || got == protocol::message_type::client_arrived)
            disconnecting = false;
    }
    return true;
}

// ---- disconnect_op ----------------------------------------------------------------------------

step_result disconnect_op::step(step_mode) noexcept try {
    std::error_code ec;
    if (!sent_) {
        {
            std::lock_guard lock(s_.state_mutex);
            if (completed_) return step_result::complete(); // cancelled before it started
        }
        sent_ = true;
        ec = s_.begin_disconnect(); // takes the I/O locks before state_mutex (the lock order)
    }
    std::lock_guard lock(s_.state_mutex);
    if (completed_) return step_result::complete();
    if (ec) return finish(ec);
    if (!s_.finish_disconnecting(ec)) return step_result::read_ready(s_.link.get());
    return finish(ec);
} catch (const std::bad_alloc&) {
    std::lock_guard lock(s_.state_mutex);
    return finish(win32(win32_error::not_enough_memory));
}

void disconnect_op::cancel() noexcept {
    std::lock_guard lock(s_.state_mutex);
    if (completed_) return;
    finish(win32(win32_error::operation_aborted));
}

} // namespace npipe::detail
