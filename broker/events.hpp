// events.hpp - what the broker tells defenders: one event per create, connect, denial,
// squatting attempt, timeout, disconnect, security change, pipe gone, broker start/stop.
//
// An event is a JSON object with Sysmon's field names where Sysmon has the concept (EventType,
// UtcTime, ProcessGuid, ProcessId, PipeName, Image, User) and npipe's own otherwise (EventId,
// Uid, Gids, PeerProcessId, PeerUid, PeerImage, OwnerSid, Sddl, Instances, MaxInstances,
// PipeType, ImpersonationLevel, Result, Reason, Remote, RuleName, ...). EventId is Sysmon's 17
// and 18 for a pipe created and a client connected, npipe's own numbers (event_id) for the rest.
//
// Events live in a bounded ring: appending never blocks and never fails; the oldest event makes
// room, and a reader that had not read it yet learns how many it missed.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <sys/types.h>

namespace npipe::broker {

namespace event_id {
inline constexpr int broker_started = 1;
inline constexpr int broker_stopped = 2;
inline constexpr int pipe_created = 17;     ///< Sysmon EID 17: the first instance (a new pipe)
inline constexpr int client_connected = 18; ///< Sysmon EID 18
inline constexpr int instance_created = 101; ///< another instance of an existing pipe (EventType CreatePipe too)
inline constexpr int open_denied = 102;
inline constexpr int squatting_attempt = 103;
inline constexpr int wait_timed_out = 104;
inline constexpr int disconnected = 105;
inline constexpr int pipe_gone = 106;
inline constexpr int security_changed = 107;
inline constexpr int create_denied = 108;   ///< a create refused for another reason than squatting
inline constexpr int rule_matched = 109;    ///< an alert: a Sigma rule matched a create or connect
} // namespace event_id

struct event_record {
    std::uint64_t seq = 0;
    uid_t uid = 0;                  ///< the acting process's uid
    std::optional<uid_t> peer_uid;  ///< the other end's, when there is one
    std::int64_t unix_ms = 0;       ///< when it happened (its UnixTimeMs), for readers' --since
    std::string json;               ///< the whole event, one line
};

class event_ring {
public:
    /// At most `capacity` events and `max_bytes` of them (an event with a 64 KiB SDDL is big):
    /// the oldest make room.
    explicit event_ring(std::size_t capacity, std::size_t max_bytes = 64u << 20)
        : capacity_(capacity ? capacity : 1), max_bytes_(max_bytes) {}
    /// Stores the event; returns its sequence number (1, 2, ...).
    std::uint64_t append(uid_t uid, std::optional<uid_t> peer_uid, std::int64_t unix_ms, std::string json);
    std::uint64_t next_seq() const noexcept { return next_; }
    std::uint64_t oldest_seq() const noexcept { return next_ - records_.size(); }
    /// nullptr when `seq` is not (or no longer) held.
    const event_record* at(std::uint64_t seq) const noexcept;
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t size() const noexcept { return records_.size(); }
    /// Events pushed out of the ring to make room, since the start.
    std::uint64_t overwritten() const noexcept { return overwritten_; }

private:
    std::size_t capacity_;
    std::size_t max_bytes_;
    std::size_t bytes_ = 0;
    std::deque<event_record> records_;
    std::uint64_t next_ = 1;
    std::uint64_t overwritten_ = 0;
};

/// Sysmon's UtcTime: "2026-11-24 05:50:01.123".
std::string utc_time(std::chrono::system_clock::time_point t);

/// `\NAME` from a full pipe name (`\\.\pipe\NAME` -> `\NAME`), as Sysmon's PipeName.
std::string sysmon_pipe_name(const std::string& full_name);

} // namespace npipe::broker
