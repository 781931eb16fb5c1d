// connection_set's side of smbd (samba_listeners.hpp): the sockets of exported pipes, smbd's
// connections to them, and its named_pipe_auth request read in pieces, never waited for.
#include "connections.hpp"

#include "protocol/samba_npa.hpp"

namespace npipe::broker {
namespace {

constexpr int samba_accepts_per_round = 8; // as on the broker's own sockets (connections.cpp)

} // namespace

std::error_code connection_set::serve_samba(const std::string& dir) { return samba_.open(dir); }

void connection_set::samba_listen(const std::string& key) {
    if (!samba_.enabled()) return;
    std::error_code ec;
    int fd = samba_.add(key, ec);
    if (fd < 0) {
        log_("warning", "pipe " + key + " is not exported to SMB clients: " +
                            (ec == std::errc::invalid_argument ? std::string("smbd cannot ask for this name")
                                                               : ec.message()));
        return;
    }
    if (!accept_paused_until_) poller_.add(fd, EPOLLIN, samba_listener_tag | static_cast<std::uint64_t>(fd));
}

void connection_set::samba_unlisten(const std::string& key) {
    os::fd sock = samba_.remove(key);
    if (sock.valid()) poller_.remove(sock.get());
}

void connection_set::accept_samba(int listener) {
    for (int taken = 0; taken < samba_accepts_per_round; ++taken) {
        os::fd sock = accept_next(listener, "accept (Samba)");
        if (!sock.valid()) return;
        const std::string* key = samba_.pipe_of(listener);
        auto cred = os::peer_credentials_of(sock.get());
        if (!key || !cred) continue;
        if (!samba_.trusted(cred.value.uid)) {
            // Only smbd may speak for an SMB user here; anyone else is closed on without a word.
            log_("warning", "refused a connection to the SMB socket of " + *key + " from uid " +
                                std::to_string(cred.value.uid) + " (pid " + std::to_string(cred.value.pid) +
                                "): not smbd's user");
            continue;
        }
        auto c = std::make_unique<connection>();
        c->id = next_id_++;
        c->sock = std::move(sock);
        c->kind = conn_kind::samba;
        c->opened_at = clock::now();
        c->last_active = c->opened_at;
        c->peer = local_identity(cred.value);
        c->samba_pipe = *key;
        if (!admit(*c, false)) continue;
        auto& added = *all_.emplace(c->id, std::move(c)).first->second;
        on_readable(added, false);
    }
}

bool connection_set::receive_handshake(connection& c) {
    std::uint64_t id = c.id;
    for (;;) {
        std::size_t want = protocol::samba::max_request_size;
        if (c.handshake.size() < 4) want = 4;
        else if (auto whole = protocol::samba::request_size(std::span<const std::byte, 4>(c.handshake.data(), 4)))
            want = *whole;
        else {
            close(id, "malformed named_pipe_auth request from smbd");
            return false;
        }
        if (c.handshake.size() == want && want > 4) break;
        std::size_t had = c.handshake.size();
        c.handshake.resize(want);
        auto r = os::recv_some(c.sock.get(), c.handshake.data() + had, want - had, os::io_flags::dont_wait);
        c.handshake.resize(had + (r ? r.value : 0));
        if (!r && r.error == std::errc::resource_unavailable_try_again) return true;
        if (!r || r.value == 0) {
            close(id, had ? "smbd left mid-request" : nullptr);
            return false;
        }
    }
    take_link_events(); // what the servers did before smbd asked goes first, as for a local open
    if (connection* still = find(id)) handler_.on_samba_request(*still);
    return false;
}

} // namespace npipe::broker
