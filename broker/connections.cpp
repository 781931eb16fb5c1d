// connection_set: the broker's connections - waiting for them, reading requests and taking them in
// each uid's turn, the instance links, answering, handing a client's connection over, closing.
// Taking connections in is in accepting.cpp, smbd's in samba_connections.cpp.
#include "connections.hpp"
#include "connection_tags.hpp"

#include "decisions.hpp"

#include <poll.h>
#include <sys/socket.h>

namespace npipe::broker {
namespace {

std::span<const std::byte> as_bytes(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

bool hung_up(const epoll_event& ev) { return (ev.events & (EPOLLRDHUP | EPOLLHUP)) != 0; }

} // namespace

std::error_code connection_set::open(os::fd listener, int other) {
    auto p = os::poller::create();
    if (!p) return p.error;
    poller_ = std::move(p.value);
    auto lp = os::poller::create();
    if (!lp) return lp.error;
    links_ = std::move(lp.value);
    if (auto ec = poller_.add(links_.native_handle(), EPOLLIN, tag_links)) return ec;
    listener_ = std::move(listener);
    if (auto ec = poller_.add(listener_.get(), EPOLLIN, tag_listener)) return ec;
    if (other >= 0) poller_.add(other, EPOLLIN, tag_other);
    return {};
}

std::error_code connection_set::wait(int timeout_ms, const std::function<void()>& other_ready) {
    if (auto ec = take_in(turns_.empty() ? timeout_ms : 0, other_ready)) return ec;
    // Bounded, so deadlines and housekeeping come round even while some uid never stops.
    for (int turn = 0; turn < 64 && !turns_.empty(); ++turn) {
        serve_turn();
        // What came meanwhile joins before the next turn: a newcomer waits one turn at most.
        if (auto ec = take_in(0, other_ready)) return ec;
    }
    return {};
}

std::error_code connection_set::take_in(int timeout_ms, const std::function<void()>& other_ready) {
    std::vector<epoll_event> events;
    if (auto ec = poller_.wait(events, timeout_ms)) return ec;
    for (const auto& ev : events) {
        std::uint64_t kind = ev.data.u64 & tag_mask;
        if (kind == tag_links) take_link_events();
        else if (kind == tag_listener) {
            std::uint64_t which = ev.data.u64 & ~tag_mask;
            if (which == shared_listener) accept_from(listener_.get(), true);
            else if (auto own = uid_sockets_.all().find(static_cast<uid_t>(which - 1)); own != uid_sockets_.all().end())
                accept_from(own->second.get(), false);
        }
        else if (kind == samba_listener_tag) accept_samba(static_cast<int>(ev.data.u64 & ~tag_mask));
        else if (kind == tag_other) other_ready();
        else if (kind == tag_connection) on_event(ev);
    }
    return {};
}

connection* connection_set::find(std::uint64_t id) {
    auto it = all_.find(id);
    return it == all_.end() ? nullptr : it->second.get();
}

void connection_set::on_event(const epoll_event& ev) {
    std::uint64_t id = ev.data.u64 & ~tag_mask;
    connection* c = find(id);
    if (!c) return;
    if (ev.events & EPOLLOUT) {
        if (c->kind == conn_kind::monitor) handler_.on_monitor_writable(*c);
        else send_unsent(*c);
        if (!(c = find(id))) return;
    }
    if (ev.events & EPOLLIN) on_readable(*c, hung_up(ev));
    else if (ev.events & (EPOLLHUP | EPOLLERR)) close(id, nullptr);
}

// ---- reading requests -------------------------------------------------------------------------

void connection_set::on_readable(connection& c, bool to_the_end) {
    c.last_active = clock::now();
    if (c.kind == conn_kind::samba) {
        (void)receive_handshake(c);
        return;
    }
    if (!receive(c, to_the_end)) return;
    if (c.kind == conn_kind::instance_link) take_requests(c);
    else if (c.reader.has_frame()) queue(c);
    else close_if_done(c);
}

bool connection_set::receive(connection& c, bool to_the_end) {
    std::uint64_t id = c.id;
    std::vector<os::fd> fds;
    for (;;) {
        // No room: a whole request's worth is waiting unanswered (a peer that sends on while its
        // answer waits for room) - more than any client sends.
        auto room = c.reader.space(16384);
        if (room.empty()) {
            close(id, "request too large");
            return false;
        }
        auto r = os::recv_with_fds(c.sock.get(), room, fds, 2, os::io_flags::dont_wait);
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) return true;
            if (r.error == std::errc::bad_message && os::descriptors_exhausted()) {
                // The descriptors it sent could not be taken in: say so, not "not running".
                out_of_descriptors();
                reply_error(c, win32_error::too_many_open_files);
                close(id, nullptr);
                return false;
            }
            close(id, r.error == std::errc::bad_message ? "bad control data" : nullptr);
            return false;
        }
        if (r.value == 0) {
            // The peer has gone; every whole request it sent before is still taken (a
            // DisconnectNamedPipe right before CloseHandle carries the connection's counts).
            if (c.kind != conn_kind::instance_link && c.reader.has_frame()) {
                c.peer_gone = true; // in its uid's turn, then closed; no longer watched
                poller_.remove(c.sock.get());
                return true;
            }
            take_requests(c);
            if (connection* left = find(id)) close(id, left->reader.buffered() ? "peer left mid-request" : nullptr);
            return false;
        }
        c.reader.received(r.value, fds);
        if (c.reader.problem() != protocol::frame_problem::none) return true; // what came before it is taken
        if (r.value < room.size() && !to_the_end) return true;
    }
}

namespace {

const char* why_not(protocol::frame_problem p) {
    switch (p) {
    case protocol::frame_problem::none: return nullptr;
    case protocol::frame_problem::bad_version: return "protocol version mismatch";
    case protocol::frame_problem::too_long: return "request too large";
    case protocol::frame_problem::too_many_fds: return "unexpected descriptors";
    case protocol::frame_problem::bad_magic: return "garbage instead of a request";
    }
    return "garbage instead of a request";
}

} // namespace

void connection_set::take_requests(connection& c) {
    std::uint64_t id = c.id;
    // One request at a time: while an answer waits for room in the socket, the rest wait too.
    if (!c.unsent.empty()) return;
    if ((c.kind == conn_kind::fresh || c.kind == conn_kind::query) && c.reader.has_frame()) {
        // A request: what the links had ready when it came goes first.
        take_link_events();
        if (!find(id)) return;
    }
    while (c.unsent.empty()) {
        auto f = c.reader.next();
        if (!f) break;
        if (!route(c, *f)) return; // the connection is gone or handed over
    }
    if (c.reader.problem() != protocol::frame_problem::none && !c.reader.has_frame()) close(id, why_not(c.reader.problem()));
}

void connection_set::queue(connection& c) {
    if (c.queued) return;
    c.queued = true;
    turns_[c.peer.uid].push_back(c.id);
}

void connection_set::serve_turn() {
    std::vector<std::uint64_t> now;
    for (auto it = turns_.begin(); it != turns_.end();) {
        now.push_back(it->second.front());
        it->second.pop_front();
        it = it->second.empty() ? turns_.erase(it) : std::next(it);
    }
    for (auto id : now)
        if (connection* c = find(id)) {
            c->queued = false;
            take_one(*c);
        }
}

void connection_set::take_one(connection& c) {
    std::uint64_t id = c.id;
    if (!c.unsent.empty()) return; // its answer waits for room; then it is queued again
    if (auto f = c.reader.next()) {
        if (c.kind == conn_kind::fresh || c.kind == conn_kind::query) {
            take_link_events(); // what the links had ready when it came goes first
            if (!find(id)) return;
        }
        if (!route(c, *f)) return; // the connection is gone or handed over
    }
    if (c.kind == conn_kind::instance_link) return take_requests(c); // a link waits for nobody
    if (!c.reader.has_frame()) return close_if_done(c);
    if (c.unsent.empty()) queue(c); // its next request: next turn
}

void connection_set::close_if_done(connection& c) {
    if (c.reader.has_frame()) return;
    if (c.reader.problem() != protocol::frame_problem::none) close(c.id, why_not(c.reader.problem()));
    else if (c.peer_gone) close(c.id, c.reader.buffered() ? "peer left mid-request" : nullptr);
}

bool connection_set::route(connection& c, protocol::frame& f) {
    using protocol::message_type;
    bool fds_allowed = f.type == message_type::create_instance && c.kind == conn_kind::fresh;
    if (!f.fds.empty() && !fds_allowed) {
        close(c.id, "unexpected descriptors");
        return false;
    }
    if (c.kind == conn_kind::monitor) { // a reader only reads: anything more is a confused or hostile peer
        close(c.id, "request on a monitor connection");
        return false;
    }
    // Requests that start a conversation are only valid on a fresh connection; listen and
    // disconnect only on an instance link; lookups on any connection but a link or a waiter.
    bool fresh = c.kind == conn_kind::fresh;
    bool link = c.kind == conn_kind::instance_link;
    bool lookup = !link && c.kind != conn_kind::waiter;
    bool empty = f.body.empty();
    bool valid = false;
    switch (f.type) {
    case message_type::create_instance:
    case message_type::open:
    case message_type::wait:
    case message_type::monitor:
    case message_type::get_security:
    case message_type::set_security: valid = fresh; break;
    case message_type::listen: valid = link && empty; break;
    case message_type::disconnect: valid = link; break;
    case message_type::query: valid = lookup; break;
    case message_type::list:
    case message_type::status:
    case message_type::stop: valid = lookup && empty; break;
    default: break;
    }
    if (!valid) {
        // Silently ignoring it would leave the peer waiting for an answer that never comes.
        close(c.id, "unexpected request");
        return false;
    }
    if (!handler_.on_request(c, f)) return false;
    // Only a fresh connection's first request brings descriptors.
    if (c.kind != conn_kind::fresh) c.reader.limit_descriptors(0);
    return true;
}

// ---- links, first -----------------------------------------------------------------------------

void connection_set::take_link_events() {
    // Level-triggered: a link whose bytes are all read is not ready any more, so rounds until
    // one comes back short have seen everything that was ready, however many links there are
    // (the bound only stops links that never stop sending; each round reads what they sent).
    std::vector<epoll_event> ready;
    for (int round = 0; round < 4096; ++round) {
        if (links_.wait(ready, 0)) return;
        for (const auto& ev : ready) on_link_event(ev);
        if (ready.size() < os::poller::batch) return;
    }
}

void connection_set::on_link_event(const epoll_event& ev) {
    std::uint64_t id = ev.data.u64 & ~tag_mask;
    connection* c = find(id);
    if (!c) return;
    if (ev.events & EPOLLOUT) {
        send_unsent(*c);
        if (!(c = find(id))) return;
    }
    // A closed link is read to its end now: its instance must be gone before the request that
    // made us look (a connected instance's close sends its counts, then the end).
    if (ev.events & EPOLLIN) on_readable(*c, hung_up(ev));
    else if (ev.events & (EPOLLHUP | EPOLLERR)) close(id, nullptr);
}

void connection_set::reap_closed() {
    take_link_events(); // closed instance links count too
    std::vector<epoll_event> ready;
    for (int round = 0; round < 16; ++round) {
        if (poller_.wait(ready, 0)) return;
        for (const auto& ev : ready) {
            if ((ev.data.u64 & tag_mask) != tag_connection || !(ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                continue; // still ready next time (level-triggered)
            std::uint64_t id = ev.data.u64 & ~tag_mask;
            connection* c = find(id);
            if (!c) continue;
            // Whatever it sent before closing is still taken - now, not in its turn: its uid
            // is at its limit, and the slot is what is wanted.
            if (!(ev.events & EPOLLIN)) {
                close(id, nullptr);
                continue;
            }
            on_readable(*c, true);
            if ((c = find(id)) && c->peer_gone) {
                take_requests(*c);
                if ((c = find(id))) close_if_done(*c);
            }
        }
        if (ready.size() < os::poller::batch) return;
    }
}

void connection_set::make_link(connection& c) {
    c.kind = conn_kind::instance_link;
    poller_.remove(c.sock.get());
    links_.add(c.sock.get(), EPOLLIN | EPOLLRDHUP, tag_connection | c.id);
}

// ---- answering --------------------------------------------------------------------------------

void connection_set::reply(connection& c, const std::vector<std::byte>& frame) {
    // Never waits for the peer: what its socket does not take now is kept and sent when there
    // is room (EPOLLOUT), and its next requests wait until then. A peer that stops reading
    // holds one answer, not the broker.
    if (!c.unsent.empty()) {
        c.unsent.insert(c.unsent.end(), frame.begin(), frame.end());
        return;
    }
    auto r = os::send_once(c.sock.get(), as_bytes(frame), {});
    if (r.error && r.error != std::errc::resource_unavailable_try_again) {
        // The peer has gone; its connection's end is taken when epoll reports it.
        if (cfg_.verbose) log_("debug", "reply to connection " + std::to_string(c.id) + " failed: " + r.error.message());
        return;
    }
    if (r.value == frame.size()) return;
    c.unsent.assign(frame.begin() + static_cast<std::ptrdiff_t>(r.value), frame.end());
    watch(c);
}

void connection_set::reply_error(connection& c, win32_error e) {
    reply(c, protocol::encode(protocol::error_reply{static_cast<std::uint32_t>(e)}));
}

bool connection_set::send_now(connection& c, const std::vector<std::byte>& frame, int fd) {
    auto fds = fd >= 0 ? std::span<const int>(&fd, 1) : std::span<const int>();
    auto r = os::send_once(c.sock.get(), as_bytes(frame), fds);
    return !r.error && r.value == frame.size();
}

bool connection_set::push(connection& link, const std::vector<std::byte>& frame, int fd) {
    auto r = os::send_once(link.sock.get(), as_bytes(frame), std::span<const int>(&fd, 1));
    bool handed = !r.error && r.value > 0; // the descriptor went with the first byte
    if (handed && r.value < frame.size()) {
        link.unsent.assign(frame.begin() + static_cast<std::ptrdiff_t>(r.value), frame.end());
        watch(link);
    }
    return handed;
}

bool connection_set::can_take_handover(connection& link) {
    if (!link.unsent.empty()) return false;
    auto room = os::poll_one(link.sock.get(), POLLOUT, 0);
    return room && (room.value & POLLOUT);
}

void connection_set::watch(connection& c) {
    auto& p = c.kind == conn_kind::instance_link ? links_ : poller_;
    // While an answer waits for room, only room matters: a peer that half-closes would make
    // EPOLLRDHUP fire on every wait (EPOLLHUP and EPOLLERR come anyway).
    p.modify(c.sock.get(), c.unsent.empty() ? EPOLLIN | EPOLLRDHUP : EPOLLOUT, tag_connection | c.id);
}

void connection_set::watch_for_room(connection& c, bool room) {
    if (c.waiting_writable == room) return;
    poller_.modify(c.sock.get(), EPOLLIN | EPOLLRDHUP | (room ? EPOLLOUT : 0u), tag_connection | c.id);
    c.waiting_writable = room;
}

void connection_set::send_unsent(connection& c) {
    auto r = os::send_once(c.sock.get(), c.unsent, {});
    if (r.error) {
        if (r.error != std::errc::resource_unavailable_try_again) close(c.id, nullptr);
        return;
    }
    c.unsent.erase(c.unsent.begin(), c.unsent.begin() + static_cast<std::ptrdiff_t>(r.value));
    if (r.value > 0) c.last_active = clock::now(); // a slow reader taking its answer is not idle
    if (!c.unsent.empty()) return;
    watch(c);
    // Those that came meanwhile and were read already.
    if (c.kind == conn_kind::instance_link) take_requests(c);
    else if (c.reader.has_frame()) queue(c);
}

// ---- ends -------------------------------------------------------------------------------------

os::fd connection_set::hand_over(std::uint64_t id) {
    auto it = all_.find(id);
    if (it == all_.end()) return {};
    connection& c = *it->second;
    poller_.remove(c.sock.get());
    // Handed over: no longer a control connection of the client's uid.
    count_out(c.peer.uid);
    os::fd sock = std::move(c.sock);
    all_.erase(it);
    return sock;
}

void connection_set::close(std::uint64_t id, const char* why) {
    auto it = all_.find(id);
    if (it == all_.end()) return;
    connection& c = *it->second;
    if (why) log_("warning", std::string("dropping connection from pid ") + std::to_string(c.peer.pid) + ": " + why);
    (c.kind == conn_kind::instance_link ? links_ : poller_).remove(c.sock.get());
    count_out(c.peer.uid);
    handler_.on_closing(c);
    all_.erase(it);
}

void connection_set::expire(clock::time_point now) {
    if (accept_paused_until_ && now >= *accept_paused_until_) {
        accept_paused_until_.reset();
        watch_listeners(true);
    }
    std::vector<std::uint64_t> stale, idle;
    for (const auto& [id, c] : all_) {
        bool handshaking = c->kind == conn_kind::fresh || c->kind == conn_kind::samba;
        if (handshaking && now - c->opened_at >= cfg_.handshake_timeout) stale.push_back(id);
        // Answered: the peer has what it asked for and should have closed. Holding the
        // connection only holds one of its uid's connection slots.
        if (c->kind == conn_kind::query && now - c->last_active >= cfg_.idle_timeout) idle.push_back(id);
    }
    for (auto id : stale) close(id, "no complete request in time");
    for (auto id : idle) close(id, "answered, then idle");
}

std::optional<clock::time_point> connection_set::next_deadline() const {
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) { if (!next || t < *next) next = t; };
    for (const auto& [id, c] : all_)
        if (c->kind == conn_kind::fresh || c->kind == conn_kind::samba) consider(c->opened_at + cfg_.handshake_timeout);
        else if (c->kind == conn_kind::query) consider(c->last_active + cfg_.idle_timeout);
    if (accept_paused_until_) consider(*accept_paused_until_);
    return next;
}

} // namespace npipe::broker
