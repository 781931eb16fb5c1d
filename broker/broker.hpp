// broker.hpp - npiped: the Linux counterpart of the Named Pipe File System.
//
// One thread, one epoll loop. Every request comes over a Unix stream socket in the runtime
// directory; the peer's identity is the kernel's (SO_PEERCRED at accept). The broker matches
// opens with listening instances and passes the client's own connection to the server
// (SCM_RIGHTS): from then on the two processes talk directly and no byte passes through here.
#pragma once

#include "os/poller.hpp"
#include "os/socket.hpp"
#include "event_sinks.hpp"
#include "events.hpp"
#include "process_info.hpp"
#include "registry.hpp"
#include "saved_pipes.hpp"
#include "sigma/sigma.hpp"

#include <nlohmann/json.hpp>

#include <npipe/error.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace npipe::broker {

struct config {
    std::string runtime_dir;
    bool system_scope = false;
    std::chrono::seconds idle_exit{0};          ///< exit after this long with no pipes and no clients (0 = never)
    std::chrono::milliseconds handshake_timeout{10000}; ///< a fresh connection must finish its request by then
    std::chrono::milliseconds idle_timeout{10000};      ///< an answered connection must be closed by then
    int ready_fd = -1;                          ///< written to (then closed) once the socket listens
    bool verbose = false;
    /// What one uid may hold at once, so a flood from one user cannot starve another.
    /// Queued bytes are bounded per connection (a request is at most 64 KiB) and descriptors
    /// per request (one, on create_instance), so these three bound them per uid too.
    struct per_uid_limits {
        unsigned connections = 4096; ///< open control connections (instance links included)
        unsigned instances = 4096;   ///< server instances
        unsigned waiters = 1024;     ///< clients waiting in WaitNamedPipe
        /// Security descriptors (their SDDL's bytes) of the uid's pipes and reserved names: the
        /// broker keeps each in memory and on disk, and one may be 65,535 bytes of ACL.
        unsigned descriptor_bytes = 1u << 20;
    } limits;
    /// After a pipe's last instance closes, its name stays reserved this long for whoever may
    /// create instances of it (its DACL's FILE_CREATE_PIPE_INSTANCE): a server that closes its
    /// only instance and makes the next one does not lose its name to a squatter meanwhile.
    std::chrono::milliseconds name_reservation{10000};
    /// Events kept for `npipe monitor` (each a JSON line of a few hundred bytes).
    std::size_t event_capacity = 16384;
    /// Sinks besides the ring: a JSON-lines file rotated by size, the systemd journal.
    std::string event_file;
    std::uint64_t event_file_max_bytes = 10 * 1024 * 1024;
    unsigned event_file_keep = 5;
    bool journald = false;
    /// Sigma rules: the shipped set, more directories, and which matches refuse the operation.
    bool default_rules = true;
    std::vector<std::string> rule_dirs;
    bool prevent_all = false;
    std::vector<std::string> prevent_rules; ///< rule ids or titles
};

class broker {
public:
    explicit broker(config cfg);
    ~broker();
    /// Sets up the directory, lock and socket. A second broker for the same directory gets
    /// EWOULDBLOCK (the caller exits quietly: the other one serves).
    std::error_code start();
    /// Runs until stopped by a signal, a stop request or idleness. Returns the exit status.
    int run();

private:
    enum class conn_kind { fresh, instance_link, waiter, query, monitor };
    struct connection {
        std::uint64_t id = 0;
        os::fd sock;
        os::peer_credentials peer;
        std::uint64_t peer_start = 0; // the peer process's start time, read once when first needed
        conn_kind kind = conn_kind::fresh;
        std::vector<std::byte> inbox;
        std::vector<os::fd> inbox_fds;
        clock::time_point opened_at;
        clock::time_point last_active; // last request or answer
        std::uint64_t instance_id = 0; // instance_link
        std::string waiting_for;       // waiter: pipe key
        std::string waiting_name;      // waiter: the name it waits for, as spelled
        // monitor: the next event to send, what is left of a frame the socket did not take,
        // and whether the reader follows new events or only wants what is retained.
        std::uint64_t cursor = 0;
        std::vector<std::byte> outbox;
        bool follow = false;
        bool sees_all = false;
        bool waiting_writable = false;
        bool end_sent = false; // not following: the end marker is queued
        std::uint64_t end_seq = 0; // not following: events before this one
        std::int64_t since_unix_ms = 0;
        // An answer the socket did not take at once (not for monitors, which use outbox); while
        // it waits, the connection's requests wait too.
        std::vector<std::byte> unsent;
    };

    void accept_clients();
    /// Reads what `c` sent and handles its complete requests. `to_the_end`: the peer has
    /// closed (EPOLLRDHUP), so read on until the end is seen rather than stop at a short read.
    void on_readable(connection& c, bool to_the_end = false);
    /// Handles whatever instance links and server ends have ready now: called before any
    /// request from another connection, so a process's earlier DisconnectNamedPipe, CloseHandle
    /// or listen is seen before the request it (or anyone it told) sent afterwards, as Windows'
    /// synchronous calls would have it.
    void take_link_events();
    void on_link_event(const epoll_event& ev);
    /// Takes connections whose peers have already closed them (their last requests first); a
    /// per-uid connection limit calls it before refusing.
    void reap_closed_connections();
    bool handle_frame(connection& c, const protocol::frame_header& h, std::span<const std::byte> body);
    bool on_create(connection& c, std::span<const std::byte> body);
    bool on_open(connection& c, std::span<const std::byte> body);
    bool on_wait(connection& c, std::span<const std::byte> body);
    bool on_listen(connection& c);
    bool on_disconnect(connection& c, std::span<const std::byte> body);
    bool on_query(connection& c, std::span<const std::byte> body);
    bool on_list(connection& c);
    bool on_status(connection& c);
    bool on_stop(connection& c);
    bool on_monitor(connection& c, std::span<const std::byte> body);
    bool on_get_security(connection& c, std::span<const std::byte> body);
    bool on_set_security(connection& c, std::span<const std::byte> body);
    struct pipe_lookup {
        pipe_entry* pipe;
        win32_error error;
    };
    /// The pipe a handle belongs to: by name and id, so a newer pipe of the same name is not it.
    pipe_lookup find_pipe_for_handle(const std::string& name, std::uint64_t id);

    void client_hung_up(std::uint64_t instance_id);

    // ---- events ----
    /// The process an event is about: groups empty when not known, start time 0 when gone.
    struct actor {
        pid_t pid = 0;
        uid_t uid = 0;
        std::vector<gid_t> gids;
        std::uint64_t start_time = 0;
    };
    /// The connection's peer (its start time read once and kept), or the broker itself.
    actor actor_of(connection& c);
    actor self_actor() const;
    /// A new event with the common fields, done by `who`.
    nlohmann::json new_event(int id, const char* type, const actor& who);
    void add_pipe_fields(nlohmann::json& e, const pipe_entry& p) const;
    void add_peer_fields(nlohmann::json& e, pid_t pid, uid_t uid, std::uint64_t start_time);
    /// The connection's end: counts (when the server gave them) and how long it lasted.
    void emit_disconnected(instance& i, const char* reason, const protocol::disconnect_request* counts);
    void emit(nlohmann::json e, uid_t uid, std::optional<uid_t> peer_uid);
    /// Sends a monitor what it may see, as far as its socket takes it without blocking.
    void pump_monitor(connection& c);
    void pump_monitors();

    // ---- Sigma rules (rules.cpp) ----
    void load_rules();
    bool prevents(const sigma::rule& r) const;
    std::vector<std::shared_ptr<const sigma::rule>> match_rules(const nlohmann::json& event) const;
    static std::string rule_names(const std::vector<std::shared_ptr<const sigma::rule>>& hits);
    /// One Alert event per rule that matched `trigger` (Action: prevented or alert).
    void emit_alerts(const nlohmann::json& trigger, const std::vector<std::shared_ptr<const sigma::rule>>& hits,
                     bool prevented, uid_t uid, std::optional<uid_t> peer_uid);
    void release_server_end(instance& i);
    void instance_listening(pipe_entry& p);
    void close_connection(std::uint64_t id, const char* why);
    /// A control connection of `uid` ends (closed or handed over as a client's data socket).
    void count_out(uid_t uid);
    /// Sends an answer without ever waiting (see unsent).
    void reply(connection& c, const std::vector<std::byte>& frame);
    /// Watches `c` for requests, or for room to send what is unsent.
    void watch(connection& c);
    void send_unsent(connection& c);
    /// Handles the complete requests in `c`'s inbox, one at a time.
    void take_requests(connection& c);
    void reply_error(connection& c, win32_error e);
    void expire_deadlines();
    int next_timeout_ms() const;
    bool idle() const;
    void log(const char* level, const std::string& text) const;
    struct log_bucket {
        double tokens = 200;
        clock::time_point refilled = clock::now();
        std::uint64_t dropped = 0;
    };
    mutable log_bucket log_bucket_;

    config cfg_;
    os::poller poller_;
    /// Instance links and the server ends the broker keeps: watched apart (and before anything
    /// else) so that what a process did on its links is taken before any later request.
    os::poller links_;
    /// The connections reading events (kind monitor), so an event does not walk every connection.
    std::set<std::uint64_t> monitors_;
    os::fd listener_;
    os::fd lock_;
    os::fd signals_;
    registry registry_;
    std::map<std::uint64_t, std::unique_ptr<connection>> connections_;
    std::uint64_t next_connection_id_ = 1;
    std::uint64_t connections_served_ = 0;
    clock::time_point started_ = clock::now();
    clock::time_point idle_since_ = clock::now();
    std::optional<clock::time_point> accept_paused_until_;
    bool out_of_descriptors_ = false; // logged once per shortage
    std::map<uid_t, unsigned> connections_per_uid_;
    /// A name kept for those who may add instances to the pipe it had: for a while after the
    /// pipe's last instance closed (`until`), or after a restart while one of the processes that
    /// held its instances runs (`holders`).
    struct reservation {
        security_descriptor security; // of the pipe that was
        std::size_t descriptor_bytes = 0; // its SDDL's size, counted against the owner's limit
        uid_t owner_uid = 0;
        std::optional<clock::time_point> until;
        std::vector<server_process> holders;
        std::uint64_t pipe_id = 0;
        std::string display_name;
        bool saved = false; // its file is still in the store
    };
    bool in_force(const reservation& r) const;
    void load_saved_pipes();
    void sweep_reservations();
    std::uint64_t new_pipe_id();
    void save_pipe(pipe_entry& p);
    /// Saves the pipe again when the set of processes holding its instances changed.
    void save_servers(pipe_entry& p);
    sigma::rule_set rules_;
    std::set<std::string> prevent_rules_;
    event_ring events_{16384};
    file_sink event_file_;
    journal_sink journal_;
    bool sink_failing_ = false; // logged once per failure spell
    process_directory processes_;
    std::uint64_t events_lost_ = 0;
    pipe_store store_;
    std::uint64_t self_start_ = 0; // this process's start time, told to every server
    std::random_device random_;
    clock::time_point next_sweep_ = clock::now();
    std::map<std::string, reservation> reserved_names_; // canonical key -> the last pipe's rights
    std::uint64_t refused_by_limits_ = 0;
    unsigned instances_of(uid_t uid) const;
    unsigned waiters_of(uid_t uid) const;
    /// The uid a pipe with this descriptor belongs to: its owner's, root for BA, else `fallback`.
    static uid_t owner_uid_of(const security_descriptor& sd, uid_t fallback);
    /// SDDL bytes of the pipes and reserved names `uid` owns (limits.descriptor_bytes).
    std::size_t descriptor_bytes_of(uid_t uid) const;
    bool stopping_ = false;
    bool owns_socket_ = false;
};

} // namespace npipe::broker
