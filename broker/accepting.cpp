// connection_set taking connections in: the shared listener and each uid's own socket, a few at
// a time, the per-uid limit on connections, and pausing when descriptors run out.
#include "connection_tags.hpp"
#include "connections.hpp"

#include "decisions.hpp"

namespace npipe::broker {
namespace {

// Connections taken from one listener before the others (and the requests already in) get
// their turn: a listener under a flood is always ready, and every connection taken costs the
// broker a few system calls and its request - what a uid on another listener waits behind.
constexpr int accepts_per_round = 8;

} // namespace

void connection_set::out_of_descriptors() {
    if (!out_of_descriptors_) // once per shortage, not every 100 ms
        log_("warning", "out of file descriptors: new work is refused or waits until some close");
    out_of_descriptors_ = true;
}

void connection_set::pause_accepting() {
    // Out of descriptors: stop accepting for a moment instead of spinning; pending clients wait
    // in the backlog and everything already open keeps working.
    out_of_descriptors();
    watch_listeners(false);
    accept_paused_until_ = clock::now() + std::chrono::milliseconds(100);
}

std::error_code connection_set::give_uids_sockets(const std::string& dir) { return uid_sockets_.open(dir); }

void connection_set::watch_listeners(bool on) {
    auto watch = [&](int fd, std::uint64_t which) {
        if (on) poller_.add(fd, EPOLLIN, tag_listener | which);
        else poller_.remove(fd);
    };
    watch(listener_.get(), shared_listener);
    for (const auto& [uid, sock] : uid_sockets_.all())
        if (sock.valid()) watch(sock.get(), std::uint64_t{uid} + 1);
    for (const auto& [key, sock] : samba_.all()) {
        auto fd = static_cast<std::uint64_t>(sock.get());
        if (on) poller_.add(sock.get(), EPOLLIN, samba_listener_tag | fd);
        else poller_.remove(sock.get());
    }
}

void connection_set::give_socket_to(uid_t uid) {
    std::error_code ec;
    int fd = uid_sockets_.add(uid, ec);
    if (fd < 0) {
        if (ec == std::errc::no_buffer_space)
            log_("warning", "all " + std::to_string(uid_sockets::max_uids) +
                                " per-uid sockets are taken: further uids share the broker's socket");
        else if (ec)
            log_("warning", "uid " + std::to_string(uid) + " shares the broker's socket: " + ec.message());
        return;
    }
    if (!accept_paused_until_) poller_.add(fd, EPOLLIN, tag_listener | (std::uint64_t{uid} + 1));
}

os::fd connection_set::accept_next(int listener, const char* what) {
    for (;;) {
        auto a = os::accept_nonblocking(listener);
        if (a) {
            if (out_of_descriptors_) {
                log_("info", "descriptors available again");
                out_of_descriptors_ = false;
            }
            return std::move(a.value);
        }
        if (a.error == std::errc::connection_aborted) continue; // that one gave up; the next
        if (a.error == std::errc::too_many_files_open || a.error == std::errc::too_many_files_open_in_system)
            pause_accepting();
        else if (a.error != std::errc::resource_unavailable_try_again)
            log_("error", std::string(what) + ": " + a.error.message());
        return {};
    }
}

void connection_set::accept_from(int listener, bool shared) {
    // A few at a time, then a turn: under a flood of connections a listener is always ready,
    // and a long accepting spell (1,024 at a time tripled another uid's p99 in ./dev soak's
    // flood; 32 a round kept root's p50 at 1.6-2 ms, 8 at 1 ms) delays the requests already in. The
    // listener stays ready; the rest come next round.
    for (int taken = 0; taken < accepts_per_round; ++taken) {
        os::fd sock = accept_next(listener, "accept");
        if (!sock.valid()) return;
        auto c = std::make_unique<connection>();
        c->id = next_id_++;
        c->sock = std::move(sock);
        c->opened_at = clock::now();
        c->last_active = c->opened_at;
        auto cred = os::peer_credentials_of(c->sock.get());
        if (!cred) continue; // the peer vanished already
        c->peer = local_identity(cred.value);
        if (shared && uid_sockets_.enabled() && !uid_sockets_.has(c->peer.uid)) give_socket_to(c->peer.uid);
        if (!admit(*c)) continue;
        auto& added = *all_.emplace(c->id, std::move(c)).first->second;
        // A client sends its request right after connecting: it is usually here already, and
        // reading it now saves a trip through epoll_wait (it is taken in its uid's turn).
        on_readable(added, false);
    }
}

bool connection_set::admit(connection& c, bool say_why) {
    // Connections closed a moment ago may not have been taken yet: a limit counts only those
    // really open.
    if (count_of(c.peer.uid) >= cfg_.limits.connections) reap_closed();
    if (auto refused = decide_connection(c.peer.uid, static_cast<unsigned>(count_of(c.peer.uid)), cfg_.limits)) {
        ++refused_by_limits;
        log_("warning", refused->reason + ": refusing pid " + std::to_string(c.peer.pid));
        if (!say_why) return false;
        // Say why before hanging up: the client's request gets this as its reply.
        auto refusal = protocol::encode(protocol::error_reply{static_cast<std::uint32_t>(refused->error)});
        (void)os::send_some(c.sock.get(), refusal.data(), refusal.size(), os::io_flags::dont_wait);
        return false;
    }
    if (poller_.add(c.sock.get(), EPOLLIN | EPOLLRDHUP, tag_connection | c.id)) return false;
    ++per_uid_[c.peer.uid]; // counted only once really taken
    return true;
}

std::size_t connection_set::count_of(uid_t uid) const {
    auto it = per_uid_.find(uid);
    return it == per_uid_.end() ? 0 : it->second;
}

void connection_set::count_out(uid_t uid) {
    if (auto held = per_uid_.find(uid); held != per_uid_.end() && held->second > 0)
        if (--held->second == 0) per_uid_.erase(held);
}

} // namespace npipe::broker
