// broker.hpp - npiped: the Linux counterpart of the Named Pipe File System.
//
// One thread, one epoll loop, three parts:
//   connections.hpp  every conversation: accept, framing, answers that never wait, deadlines,
//                    handing descriptors over;
//   decisions.hpp    what is allowed: create, open, wait, disconnect, security changes,
//                    reservations and the per-uid limits, as functions of (identity, request,
//                    namespace) - no sockets;
//   event_builder.hpp  what defenders are told, emitted here to the ring, the sinks and monitors.
// The broker itself (requests.cpp) asks the decisions and carries their outcome out: it matches
// opens with listening instances and passes the client's own connection to the server
// (SCM_RIGHTS); from then on the two processes talk directly and no byte passes through here.
#pragma once

#include "config.hpp"
#include "connections.hpp"
#include "decisions.hpp"
#include "event_builder.hpp"
#include "event_sinks.hpp"
#include "events.hpp"
#include "process_info.hpp"
#include "registry.hpp"
#include "reservations.hpp"
#include "saved_pipes.hpp"

#include "os/fd.hpp"
#include "sigma/sigma.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace npipe::broker {

class broker final : private request_handler {
public:
    explicit broker(config cfg);
    ~broker();
    /// Sets up the directory, lock and socket. A second broker for the same directory gets
    /// EWOULDBLOCK (the caller exits quietly: the other one serves).
    std::error_code start();
    /// Runs until stopped by a signal, a stop request or idleness. Returns the exit status.
    int run();

private:
    // ---- request_handler (requests.cpp) ----
    bool on_request(connection& c, protocol::frame& f) override;
    void on_closing(connection& c) override;
    void on_monitor_writable(connection& c) override { pump_monitor(c); }
    // ---- SMB clients through smbd (samba_opens.cpp) ----
    void on_samba_request(connection& c) override;
    /// Answers smbd and hands its connection to `inst`, as connect_client does a local client's.
    void connect_remote_client(connection& c, const identity& who, const open_decision& d, pipe_entry& pipe,
                               instance& inst, const rule_hits& hits);

    bool on_create(connection& c, protocol::frame& f);
    bool on_open(connection& c, std::span<const std::byte> body);
    bool open_pipe(connection& c, const protocol::open_request& req);
    bool on_wait(connection& c, std::span<const std::byte> body);
    bool wait_for_pipe(connection& c, const protocol::wait_request& req);
    bool on_listen(connection& c);
    bool on_disconnect(connection& c, std::span<const std::byte> body);
    bool on_query(connection& c, std::span<const std::byte> body);
    bool on_list(connection& c);
    bool on_status(connection& c);
    bool on_stop(connection& c);
    bool on_monitor(connection& c, std::span<const std::byte> body);
    bool on_get_security(connection& c, std::span<const std::byte> body);
    bool on_set_security(connection& c, std::span<const std::byte> body);

    namespace_view view() const { return {registry_, reserved_, cfg_.limits, clock::now(), &held_per_uid_}; }
    /// A refusal carried out: logged, its event emitted, the error answered.
    void refuse(connection& c, const refusal& r, nlohmann::json event, std::optional<uid_t> peer_uid);
    /// The instance that a create adds (and the pipe it makes, when it is new).
    instance& add_instance(connection& c, const protocol::create_instance_request& req, const create_decision& d,
                           os::fd page, bool& created_pipe);
    void restore_instance(instance& inst, const protocol::create_instance_request& req, os::fd data,
                          const std::optional<os::peer_credentials>& client);
    /// Hands the client's connection to the listening instance. False when the client is gone.
    bool connect_client(connection& c, const protocol::open_request& req, const open_decision& d, pipe_entry& pipe,
                        instance& inst, const rule_hits& hits);
    void instance_listening(pipe_entry& p);
    void release_server_end(instance& i);
    /// Marks the connected instances of `pipe` whose client has hung up as closing.
    void check_hang_ups(const pipe_entry& pipe);
    /// The instance link closed: the instance is gone, and the pipe with its last instance.
    void instance_closed(connection& c);
    void expire_waits(clock::time_point now);

    // ---- requests held for pipes coming back after a restart (held_requests.cpp) ----
    /// A CreateFile or WaitNamedPipe of a name whose pipe is coming back: taken again when an
    /// instance of it listens, when its servers are gone, or at `until`.
    struct held_request {
        std::uint64_t connection = 0;
        uid_t uid = 0;
        std::variant<protocol::open_request, protocol::wait_request> request;
        clock::time_point until;                        ///< the pipe's time to come back ends
        std::optional<clock::time_point> wait_deadline; ///< a WaitNamedPipe's own time
    };
    void hold(connection& c, const std::string& key, held_request h);
    /// An instance of `p` listens: held waits are answered, held opens taken again (as many as
    /// instances listen).
    void release_held(pipe_entry& p);
    /// Takes again what waited too long or whose pipe will not come (its servers are gone).
    void expire_held(clock::time_point now);
    void forget_held(const connection& c);
    /// Takes `h` again as a request that arrives now.
    void retake(held_request h);
    std::optional<clock::time_point> next_held_deadline() const;

    // ---- events and monitors (monitors.cpp) ----
    actor actor_of(connection& c);
    actor self_actor() const;
    void emit(nlohmann::json e, uid_t uid, std::optional<uid_t> peer_uid);
    void pump_monitor(connection& c);
    void pump_monitors();

    // ---- Sigma rules (rules.cpp) ----
    void load_rules();
    bool prevents(const sigma::rule& r) const;
    rule_hits match_rules(const nlohmann::json& event) const;
    /// The rules that match `probe`; the first that prevents refuses (its reason in `prevented`).
    rule_hits screen(const nlohmann::json& probe, const std::string& what, pid_t pid, uid_t uid,
                     std::optional<uid_t> peer_uid, std::optional<refusal>& prevented);
    void emit_alerts(const nlohmann::json& trigger, const rule_hits& hits, bool prevented, uid_t uid,
                     std::optional<uid_t> peer_uid);

    // ---- what survives a restart ----
    std::uint64_t new_pipe_id();
    void save_pipe(pipe_entry& p);
    /// Saves the pipe again when the set of processes holding its instances changed.
    void save_servers(pipe_entry& p);

    // ---- housekeeping (broker.cpp) ----
    int next_timeout_ms() const;
    bool idle() const;
    void housekeeping();
    /// Raises RLIMIT_NOFILE to its hard limit and fits the per-uid limits to it.
    void fit_to_descriptors();
    void on_signal();
    void log(const char* level, const std::string& text) const;
    struct log_bucket {
        double tokens = 200;
        clock::time_point refilled = clock::now();
        std::uint64_t dropped = 0;
    };
    mutable log_bucket log_bucket_;

    config cfg_;
    connection_set connections_;
    os::fd lock_;
    os::fd signals_;
    registry registry_;
    pipe_store store_;
    reservation_table reserved_;
    process_directory processes_;
    event_builder events_built_{processes_};
    std::map<std::string, std::vector<held_request>> held_; ///< by pipe key, oldest first
    std::map<uid_t, unsigned> held_per_uid_;
    /// The connections reading events (kind monitor), so an event does not walk every connection.
    std::set<std::uint64_t> monitors_;
    std::uint64_t connections_served_ = 0;
    std::uint64_t refused_by_limits_ = 0;
    clock::time_point started_ = clock::now();
    clock::time_point idle_since_ = clock::now();
    clock::time_point next_sweep_ = clock::now();
    mutable sigma::memo_matcher matcher_{{}}; // the loaded rules, with the answers they gave remembered
    std::set<std::string> prevent_rules_;
    /// Some loaded rule prevents what it matches: creates and opens are screened before they
    /// are answered (else after).
    bool rules_may_refuse_ = false;
    event_ring events_{16384};
    file_sink event_file_;
    journal_sink journal_;
    bool sink_failing_ = false; // logged once per failure spell
    std::uint64_t events_lost_ = 0;
    std::uint64_t self_start_ = 0; // this process's start time, told to every server
    std::random_device random_;
    bool stopping_ = false;
    bool owns_socket_ = false;
};

} // namespace npipe::broker
