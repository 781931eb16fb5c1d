// decisions.hpp - what the broker decides, apart from how it talks: create, open, wait,
// disconnect, security changes, reservations and the per-uid limits, as functions of
// (identity, request, namespace) returning an outcome: what is granted, or a Win32 error with
// its reason and the event it makes. No sockets, no /proc, no clock reads: the handlers
// (requests.cpp) gather the facts, call these, and carry out the outcome.
#pragma once

#include "config.hpp"
#include "identity.hpp"
#include "registry.hpp"
#include "reservations.hpp"

#include "protocol/messages.hpp"
#include "security/pipe_access.hpp"

#include <npipe/error.hpp>
#include <npipe/pipe_name.hpp>
#include <npipe/security.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace npipe::broker {

/// What a decision may read: the namespace as it is now.
struct namespace_view {
    const registry& pipes;
    const reservation_table& reserved;
    const per_uid_limits& limits;
    clock::time_point now;
    /// Opens and waits held for pipes coming back after a restart, per uid (counted with the
    /// waiters against limits.waiters).
    const std::map<uid_t, unsigned>* held_per_uid = nullptr;
};

/// A request refused: the error the caller gets, why, and the event it makes (0: none).
struct refusal {
    win32_error error = win32_error::success;
    int event = 0;        ///< event_id::squatting_attempt, create_denied, open_denied, security_changed
    std::string reason;
    bool by_limit = false; ///< a per-uid limit refused it (counted in the broker's status)
    bool warn = false;     ///< worth a warning in the log (squatting, limits), not only an event
};

// ---- what one uid holds ----
unsigned instances_of(const registry& pipes, uid_t uid);
/// Clients of `uid` waiting for an instance: in WaitNamedPipe, or held for a pipe coming back.
unsigned waiters_of(const namespace_view& ns, uid_t uid);
/// SDDL bytes of the pipes and reserved names `uid` owns (limits.descriptor_bytes).
std::size_t descriptor_bytes_of(const namespace_view& ns, uid_t uid);
/// The uid a pipe with this descriptor belongs to: its owner's, root for BA, else `fallback`.
uid_t owner_uid_of(const security_descriptor& sd, uid_t fallback);

/// The per-uid limits that fit `descriptors` (the broker's RLIMIT_NOFILE): a control connection
/// holds one descriptor, an instance two more (its page, and its client's end once connected),
/// so one uid at its limits holds at most a quarter of them in system scope (many users share
/// it), three quarters in user scope (one user and root). Limits above that are lowered;
/// returns true when one was.
bool fit_limits_to_descriptors(per_uid_limits& limits, std::uint64_t descriptors, bool system_scope);

/// A new control connection of a uid that already holds `held`.
std::optional<refusal> decide_connection(uid_t uid, unsigned held, const per_uid_limits& limits);

// ---- CreateNamedPipe ----
struct create_decision {
    std::optional<refusal> refused;
    std::optional<pipe_name> name;
    /// The pipe of this name (its key), which a granted create adds an instance to; empty:
    /// a new pipe, described below.
    std::string existing;
    security_descriptor security;
    std::uint64_t restored_id = 0; ///< the pipe's id before a restart (0: a new id)
    std::string display_name;
    std::size_t descriptor_bytes = 0;
    uid_t owner_uid = 0;
    /// The descriptor was given (now, or before a restart the pipe comes back from), not
    /// npipe's default: pipe_entry::explicit_dacl.
    bool explicit_dacl = false;
};
/// `page_sealed`: the instance page the request brought is a sealed memfd.
create_decision decide_create(const identity& who, const protocol::create_instance_request& req, bool page_sealed,
                              const namespace_view& ns);

// ---- CreateFile ----
struct open_decision {
    std::optional<refusal> refused;
    std::string pipe;               ///< its key
    std::uint64_t listening = 0;    ///< the instance to connect (0: none listens: ERROR_PIPE_BUSY)
    std::uint32_t desired = 0;      ///< what was asked, with CreateFile's implicit rights
    std::uint32_t granted = 0;      ///< what the DACL granted
    /// No pipe has the name yet, but its pipe is coming back after a restart (its servers run
    /// and register again): the open waits for it until `until`, then is taken again.
    bool held = false;
    clock::time_point until{};
};
open_decision decide_open(const identity& who, const protocol::open_request& req, const namespace_view& ns);

// ---- WaitNamedPipe ----
struct wait_decision {
    std::optional<refusal> refused;
    std::string pipe;        ///< its key
    bool ready = false;      ///< an instance listens: answer at once
    std::uint32_t timeout_ms = 0; ///< else wait this long (0xFFFFFFFF: forever)
    /// The pipe is coming back after a restart: wait for it until `until` (then take the wait
    /// again for what is left of `timeout_ms`; 0: the caller named no time).
    bool held = false;
    clock::time_point until{};
};
wait_decision decide_wait(const identity& who, const protocol::wait_request& req, const namespace_view& ns);

// ---- listen and DisconnectNamedPipe on an instance link ----
/// ConnectNamedPipe on an instance: true when the server needs an answer (it was listening
/// already, so a client may be in flight); false after a disconnect (no client can be).
bool listen_needs_answer(const instance& inst);
struct disconnect_decision {
    const char* event_reason = nullptr; ///< the disconnect event's reason; null: no connection ended
    bool answer = false;                ///< the instance was listening: acknowledge
};
disconnect_decision decide_disconnect(const instance& inst, const protocol::disconnect_request& counts);

// ---- GetSecurityInfo / SetSecurityInfo ----
struct security_decision {
    std::optional<refusal> refused;
    std::string pipe;                  ///< its key
    security_descriptor next;          ///< set: the descriptor after the change
    std::string sddl;                  ///< get: the descriptor; set: after the change
    std::uint32_t descriptor_bytes = 0;
};
security_decision decide_get_security(const identity& who, const protocol::get_security_request& req,
                                      const namespace_view& ns);
security_decision decide_set_security(const identity& who, const protocol::set_security_request& req,
                                      const namespace_view& ns);

/// A stop request: the broker's own user and root may stop it.
bool may_stop(const identity& who, uid_t broker_uid);

} // namespace npipe::broker
