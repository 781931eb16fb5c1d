// connections.hpp - the broker's side of every conversation: accepting, reading requests in
// pieces, answering without ever waiting for a peer (what a socket does not take is kept and
// sent when there is room), deadlines, and the order in which what peers did is taken.
//
// Instance links and the broker's copies of server data ends are watched by a poller of their
// own and drained before any request from another connection: what a process did on its links
// (DisconnectNamedPipe, CloseHandle of an instance, a listen) is seen before the requests it, or
// anyone it told, sent afterwards, as Windows' synchronous calls promise.
//
// Turns: requests on control connections (not links) are taken one per uid per turn, so a uid
// with a backlog of requests - a flood of connections, each with one - delays another uid's
// request by at most one turn, not by its backlog (docs/SECURITY.md, floods stay local).
//
// Nothing here decides anything: complete requests go to a request_handler.
#pragma once

#include "config.hpp"
#include "identity.hpp"
#include "registry.hpp"
#include "samba_listeners.hpp"
#include "uid_sockets.hpp"

#include "os/poller.hpp"
#include "os/socket.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/messages.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace npipe::broker {

/// samba: smbd, come to open an exported pipe for an SMB client; its named_pipe_auth request
/// (protocol/samba_npa.hpp) is read in pieces like any request, under the same deadline.
enum class conn_kind { fresh, instance_link, waiter, query, monitor, samba };

struct connection {
    std::uint64_t id = 0;
    os::fd sock;
    identity peer;
    std::uint64_t peer_start = 0; ///< the peer process's start time, read once when first needed
    conn_kind kind = conn_kind::fresh;
    /// Requests as they arrive. A fresh connection's request may bring two descriptors (a page
    /// and, re-registering a connected instance, its client); later ones none.
    protocol::frame_reader reader{protocol::max_request_body, 2};
    clock::time_point opened_at;
    clock::time_point last_active; ///< last request or answer
    std::uint64_t instance_id = 0; ///< instance_link
    std::string waiting_for;       ///< waiter: pipe key
    /// An answer the socket did not take at once; while it waits, the connection's requests wait too.
    std::vector<std::byte> unsent;
    // monitor: the next event to send, what is left of a frame the socket did not take, and
    // whether the reader follows new events or only wants what is retained.
    std::uint64_t cursor = 0;
    std::vector<std::byte> outbox;
    bool follow = false;
    bool sees_all = false;
    bool waiting_writable = false;
    bool queued = false;    ///< has requests waiting for its uid's turn
    bool peer_gone = false; ///< hung up with requests still to take (no longer watched)
    bool end_sent = false;     ///< not following: the end marker is queued
    std::uint64_t end_seq = 0; ///< not following: events before this one
    std::int64_t since_unix_ms = 0;
    // samba: the pipe whose socket smbd connected to, and its request as far as it came.
    std::string samba_pipe;
    std::vector<std::byte> handshake;
    std::uint32_t samba_level = 0; // the request's level, decoded: the reply must say the same
};

/// Where complete requests and ends go.
class request_handler {
public:
    /// A complete request from `c` (its descriptors in `f.fds`). False when `c` is gone or
    /// handed over (stop reading it).
    virtual bool on_request(connection& c, protocol::frame& f) = 0;
    /// `c` is about to be closed (its peer left, or it is dropped): undo what it held.
    virtual void on_closing(connection& c) = 0;
    /// The client end of a connection handed to instance `instance_id` hung up.
    /// A monitor's socket has room again.
    virtual void on_monitor_writable(connection& c) = 0;
    /// smbd's whole named_pipe_auth request on `c` (kind samba), for the pipe `c.samba_pipe`.
    virtual void on_samba_request(connection& c) = 0;

protected:
    ~request_handler() = default;
};

class connection_set {
public:
    using logger = std::function<void(const char* level, const std::string& text)>;
    connection_set(const config& cfg, request_handler& handler, logger log)
        : cfg_(cfg), handler_(handler), log_(std::move(log)) {}

    /// Sets up the pollers and watches `listener` and `other` (the signal descriptor: reported
    /// through wait()'s callback).
    std::error_code open(os::fd listener, int other);
    /// System scope: gives each uid heard from on the shared listener a socket of its own in
    /// `dir` (uid_sockets.hpp).
    std::error_code give_uids_sockets(const std::string& dir);
    /// Serves exported pipes to smbd from `dir` (samba_listeners.hpp).
    std::error_code serve_samba(const std::string& dir);
    /// The poller's tag of an exported pipe's socket (its descriptor in the low bits).
    static constexpr std::uint64_t samba_listener_tag = 6ull << 56;
    bool serves_samba() const noexcept { return samba_.enabled(); }
    /// Listens for smbd on pipe `key`'s socket (a failure is logged: the pipe is not exported).
    void samba_listen(const std::string& key);
    /// Stops listening for pipe `key` (nothing when it has no socket).
    void samba_unlisten(const std::string& key);
    /// Waits up to `timeout_ms` (not at all while requests wait for their turn), takes in what
    /// came, and serves turns; `other_ready` when `other` is readable.
    std::error_code wait(int timeout_ms, const std::function<void()>& other_ready);

    connection* find(std::uint64_t id);
    std::size_t size() const noexcept { return all_.size(); }
    bool empty() const noexcept { return all_.empty(); }

    /// Sends an answer without ever waiting (see connection::unsent).
    void reply(connection& c, const std::vector<std::byte>& frame);
    void reply_error(connection& c, win32_error e);
    /// Sends `frame` whole now with `fd` (none when -1), or fails (a handover must not wait).
    bool send_now(connection& c, const std::vector<std::byte>& frame, int fd);
    /// Pushes `frame` with `fd` to a link: true when the descriptor went (the rest may follow).
    bool push(connection& link, const std::vector<std::byte>& frame, int fd);
    /// Whether a link can take a handover now (nothing unsent, room in its socket).
    bool can_take_handover(connection& link);
    /// `c` becomes an instance link: watched with the links from now on.
    void make_link(connection& c);
    /// Watches the broker's copy of a server's data end for the client's hang-up.
    /// `c`'s socket now belongs to a server: forgotten here, no longer counted for its uid.
    os::fd hand_over(std::uint64_t id);
    /// Closes `c` (`why`: logged as a warning when given).
    void close(std::uint64_t id, const char* why);
    /// A monitor waits for room (or not).
    void watch_for_room(connection& c, bool room);

    /// Handles whatever instance links and server ends have ready now.
    void take_link_events();
    /// Drops connections past their deadlines.
    void expire(clock::time_point now);
    /// The earliest connection deadline.
    std::optional<clock::time_point> next_deadline() const;
    /// Says (once per shortage) that the broker is out of descriptors.
    void out_of_descriptors();
    /// Per-uid connections, for the broker's status.
    std::size_t count_of(uid_t uid) const;

private:
    std::error_code take_in(int timeout_ms, const std::function<void()>& other_ready);
    /// The next connection waiting on `listener`; an invalid fd when there is none now (out of
    /// descriptors: accepting pauses; anything else unexpected is logged with `what`).
    os::fd accept_next(int listener, const char* what);
    /// Accepts a few connections from `listener` (the shared one, or a uid's own).
    void accept_from(int listener, bool shared);
    /// Accepts smbd's connections on an exported pipe's socket.
    void accept_samba(int listener);
    /// Reads smbd's request in pieces; hands it over whole. False when `c` was closed.
    bool receive_handshake(connection& c);
    /// The first connection of a uid on the shared listener: its own socket, from now on.
    void give_socket_to(uid_t uid);
    void watch_listeners(bool on);
    /// Counts `c` against its uid's limit and watches it; `say_why`: a refusal is answered with
    /// the error first (smbd gets no npipe frame: it is hung up on).
    bool admit(connection& c, bool say_why = true);
    void on_readable(connection& c, bool to_the_end);
    /// Takes every request `c` has now (instance links: what a process did on its links is
    /// never kept waiting behind other uids).
    void take_requests(connection& c);
    /// `c`'s requests wait for its uid's turn.
    void queue(connection& c);
    /// One request from each uid that has some waiting.
    void serve_turn();
    void take_one(connection& c);
    /// `c` has no request left to take: closes it if it hung up or sent garbage.
    void close_if_done(connection& c);
    bool route(connection& c, protocol::frame& f);
    /// Receives what `c` sent, as far as the reader has room. False when `c` was closed.
    bool receive(connection& c, bool to_the_end);
    void send_unsent(connection& c);
    void watch(connection& c);
    void on_link_event(const epoll_event& ev);
    void on_event(const epoll_event& ev);
    void reap_closed();
    void count_out(uid_t uid);
    void pause_accepting();

    const config& cfg_;
    request_handler& handler_;
    logger log_;
    os::poller poller_;
    /// Instance links and the server ends the broker keeps, drained before any other request.
    os::poller links_;
    os::fd listener_;
    uid_sockets uid_sockets_;
    samba_listeners samba_;
    std::map<std::uint64_t, std::unique_ptr<connection>> all_;
    std::map<uid_t, unsigned> per_uid_;
    /// Connections with requests waiting for their turn, per uid, oldest first.
    std::map<uid_t, std::deque<std::uint64_t>> turns_;
    std::uint64_t next_id_ = 1;
    std::optional<clock::time_point> accept_paused_until_;
    bool out_of_descriptors_ = false; // logged once per shortage

public:
    std::uint64_t refused_by_limits = 0; ///< connections refused by the per-uid limit
};

} // namespace npipe::broker
