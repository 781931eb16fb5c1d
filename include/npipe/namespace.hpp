// npipe/namespace.hpp - looking at the namespace: list pipes, one pipe's detail, the broker.
//
// Thread safety: free functions, safe from any thread.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>
#include <npipe/types.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace npipe {

/// One server instance as the broker sees it.
struct instance_status {
    instance_state state = instance_state::listening;
    pid_t server_pid = 0;
    uid_t server_uid = 0; ///< kernel-attested, like the client's
    std::optional<pid_t> client_pid; ///< empty when no client is attached
    std::optional<uid_t> client_uid;
    /// A client that came over the network (SMB, through Samba's smbd): its DOMAIN\account and
    /// address:port as smbd said them; empty for a local client or none.
    std::string client_account;
    std::string client_address;
    std::uint32_t out_buffer_size = 0; ///< the instance's own, as its server asked (its clients see these)
    std::uint32_t in_buffer_size = 0;
};

/// One pipe in the namespace.
struct pipe_status {
    std::string name; ///< `\\.\pipe\NAME`, spelled as the first instance's creator spelled it
    pipe_type type = pipe_type::byte;
    pipe_direction direction = pipe_direction::duplex;
    unsigned max_instances = 0;
    uid_t owner_uid = 0; ///< uid of the process that created the first instance
    std::string owner_sid; ///< the owner as a SID (S-1-22-1-<uid>)
    std::string sddl;      ///< the pipe's security descriptor (npipe/security.hpp)
    bool remote = false;   ///< whether remote clients may open it
    /// Type, direction, max_instances and default_timeout are the pipe's (its first instance
    /// made them; a further instance that asks for others gets these). The buffer sizes are
    /// those the instance that made the pipe asked for; each instance has its own.
    std::uint32_t out_buffer_size = 0;
    std::uint32_t in_buffer_size = 0;
    std::chrono::milliseconds default_timeout{0};
    bool reject_remote_clients = false;
    std::vector<instance_status> instances;
};

/// The broker that owns a namespace. for_each_field() below is the one list of its fields.
struct broker_status {
    pid_t pid = 0;
    uid_t uid = 0;
    bool system_scope = false;
    std::string runtime_dir;
    std::uint32_t protocol_version = 0;
    std::chrono::seconds uptime{0};
    std::uint64_t pipes = 0;
    std::uint64_t instances = 0;
    std::uint64_t connections_served = 0;
    std::uint64_t control_connections = 0;
    /// Per-uid limits (npiped --max-*-per-uid) and the handshake timeout.
    std::uint32_t limit_connections_per_uid = 0;
    std::uint32_t limit_instances_per_uid = 0;
    std::uint32_t limit_waiters_per_uid = 0;
    std::uint32_t limit_descriptor_bytes_per_uid = 0; ///< SDDL bytes of its pipes and reserved names
    std::chrono::milliseconds handshake_timeout{0};
    std::chrono::milliseconds idle_timeout{0}; ///< an answered connection kept open longer is dropped
    std::uint64_t refused_by_limits = 0; ///< requests refused by a per-uid limit since the start
    std::uint64_t waiters = 0;           ///< clients waiting in WaitNamedPipe now
    std::uint64_t events = 0;            ///< events emitted since the start
    std::uint64_t events_retained = 0;   ///< in the broker's ring now
    std::uint64_t event_capacity = 0;    ///< npiped --events
    std::uint64_t events_lost = 0;       ///< events monitors missed because the ring had moved on
    std::uint64_t monitors = 0;          ///< readers connected now

    friend bool operator==(const broker_status&, const broker_status&) = default;
};

/// What a broker_status field is called where npipe shows it (`npipe broker status`).
struct broker_status_field {
    /// How its value reads beyond what its type says.
    enum class shown : std::uint8_t {
        as_is, ///< numbers and text as they are; durations as a count in JSON, readable in text
        user,  ///< a uid: with its user name in text
        scope, ///< a bool: "system" when true, "user" when false
    };
    std::string_view name;  ///< its key in the JSON form
    std::string_view group; ///< the JSON object that holds it; empty: the top level
    std::string_view line;  ///< the label of its line in the text form
    /// Its part of that line, "{}" standing for the value. The fields of one line are joined
    /// with ", "; a part in parentheses qualifies the one before it.
    std::string_view phrase = "{}";
    shown as = shown::as_is;
};

/// Calls `visit(field, member)` for every field of `status`, in the order the broker sends them.
/// This is the one list of the status fields: the broker protocol encodes and decodes the status
/// by walking it, and `npipe broker status` prints it by walking it (text and JSON), so a field
/// added here travels and shows everywhere (the order is the wire's: a field added or moved
/// needs a new protocol version). `Status` is broker_status or const broker_status.
template <class Status, class Visit>
    requires std::same_as<std::remove_const_t<Status>, broker_status>
constexpr void for_each_field(Status& s, Visit&& visit) {
    using field = broker_status_field;
    using enum broker_status_field::shown;
    visit(field{"pid", "", "pid"}, s.pid);
    visit(field{"uid", "", "uid", "{}", user}, s.uid);
    visit(field{"scope", "", "scope", "{}", scope}, s.system_scope);
    visit(field{"runtime_dir", "", "runtime dir"}, s.runtime_dir);
    visit(field{"protocol_version", "", "protocol version"}, s.protocol_version);
    visit(field{"uptime_seconds", "", "uptime"}, s.uptime);
    visit(field{"pipes", "", "pipes"}, s.pipes);
    visit(field{"instances", "", "instances"}, s.instances);
    visit(field{"connections_served", "", "connections served"}, s.connections_served);
    visit(field{"control_connections", "", "control connections"}, s.control_connections);
    visit(field{"connections_per_uid", "limits", "limits per uid", "{} connections"}, s.limit_connections_per_uid);
    visit(field{"instances_per_uid", "limits", "limits per uid", "{} instances"}, s.limit_instances_per_uid);
    visit(field{"waiters_per_uid", "limits", "limits per uid", "{} waiting clients"}, s.limit_waiters_per_uid);
    visit(field{"descriptor_bytes_per_uid", "limits", "limits per uid", "{} bytes of security descriptors"},
          s.limit_descriptor_bytes_per_uid);
    visit(field{"handshake_timeout_ms", "limits", "handshake timeout", "{} ms"}, s.handshake_timeout);
    visit(field{"idle_timeout_ms", "limits", "idle timeout", "{} ms"}, s.idle_timeout);
    visit(field{"refused_by_limits", "", "refused by limits"}, s.refused_by_limits);
    visit(field{"waiters", "", "waiting clients"}, s.waiters);
    visit(field{"emitted", "events", "events", "{} emitted"}, s.events);
    visit(field{"retained", "events", "events", "{} kept"}, s.events_retained);
    visit(field{"capacity", "events", "events", "(room for {})"}, s.event_capacity);
    visit(field{"lost", "events", "events", "{} lost by slow monitors"}, s.events_lost);
    visit(field{"monitors", "events", "events", "{} monitors"}, s.monitors);
}

/// What monitor_events() reads.
struct monitor_options {
    /// After the retained events, keep reading new ones as they happen (until on_event says stop).
    bool follow = false;
    /// Only events at or after this time; the epoch (default) means all the broker retains.
    std::chrono::system_clock::time_point since{};
};

/// Reads the broker's events, oldest first: one JSON object per event, with Sysmon's field names
/// (EventType, UtcTime, ProcessGuid, ProcessId, PipeName, Image, User) and npipe's (EventId, Uid,
/// Gids, PeerProcessId, PeerUid, PeerImage, OwnerSid, Sddl, Instances, MaxInstances, PipeType,
/// ImpersonationLevel, Result, Reason, Remote, RuleName, ...: <npipe/event_fields.hpp>). `on_event` gets
/// each event's sequence number and JSON text and returns false to stop; `on_lost` is told how
/// many events the ring overwrote before this reader took them (never silently). In system
/// scope only root and the broker's user see other users' events; others see those in which
/// their uid acts or is the peer. With `follow`, the user's broker is started when none runs (in
/// user scope, unless NPIPE_NO_AUTOSTART), as a client creating a pipe would start it.
/// Errors: ERROR_SERVICE_NOT_ACTIVE (no broker).
NPIPE_API void monitor_events(const monitor_options& options,
                              const std::function<bool(std::uint64_t sequence, const std::string& json)>& on_event,
                              const std::function<void(std::uint64_t lost)>& on_lost, const endpoint& where,
                              std::error_code& ec);

/// Every pipe, sorted by name. Never starts a broker: no broker means an empty namespace.
NPIPE_API std::vector<pipe_status> list_pipes(const endpoint& where = {});
NPIPE_API std::vector<pipe_status> list_pipes(const endpoint& where, std::error_code& ec) noexcept;

/// One pipe. ERROR_FILE_NOT_FOUND when it does not exist, ERROR_INVALID_NAME for a bad name.
NPIPE_API pipe_status query_pipe(std::string_view name, const endpoint& where = {});
NPIPE_API pipe_status query_pipe(std::string_view name, const endpoint& where,
                                 std::error_code& ec) noexcept;

/// The broker's status. ERROR_SERVICE_NOT_ACTIVE when no broker runs (none is started).
NPIPE_API broker_status get_broker_status(const endpoint& where = {});
NPIPE_API broker_status get_broker_status(const endpoint& where, std::error_code& ec) noexcept;

/// Asks the broker to exit (its owner or root only). Existing connections keep working.
NPIPE_API void stop_broker(const endpoint& where = {});
NPIPE_API void stop_broker(const endpoint& where, std::error_code& ec) noexcept;

/// The runtime directory `where` resolves to (NPIPE_RUNTIME_DIR, scope, XDG_RUNTIME_DIR).
NPIPE_API std::string resolve_runtime_dir(const endpoint& where = {});

} // namespace npipe
