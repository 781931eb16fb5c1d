#include "decisions.hpp"

#include "events.hpp"

#include <algorithm>

namespace npipe::broker {
namespace {

constexpr std::uint32_t default_wait_ms = 50; // nDefaultTimeOut 0 means 50 ms, as on Windows

refusal refuse(win32_error e, int event, std::string reason, bool warn = false) {
    return {e, event, std::move(reason), false, warn};
}

refusal over_limit(std::string reason, int event = event_id::create_denied) {
    return {win32_error::not_enough_quota, event, std::move(reason), true, true};
}

/// The pipe a client names (CreateFile, WaitNamedPipe): ERROR_INVALID_NAME, ERROR_BAD_NETPATH
/// for a remote one, ERROR_FILE_NOT_FOUND when none has the name.
const pipe_entry* pipe_named(const std::string& spelled, const namespace_view& ns, std::optional<refusal>& refused) {
    std::error_code ec;
    auto name = parse_pipe_name(spelled, ec);
    if (!name) refused = refuse(win32_error::invalid_name, 0, "not a pipe name");
    else if (!name->is_local()) refused = refuse(win32_error::bad_netpath, 0, "a remote pipe");
    const pipe_entry* pipe = refused ? nullptr : ns.pipes.find(name->key);
    if (!pipe && !refused) refused = refuse(win32_error::file_not_found, 0, "no such pipe");
    return pipe;
}

/// An SMB client's open (through Samba): the pipe must be exported by its owner, and its
/// servers must not have asked for PIPE_REJECT_REMOTE_CLIENTS. A pipe that is not exported is
/// not there for the network (ERROR_FILE_NOT_FOUND, as if it did not exist); the reason, for
/// the event, says what it was.
std::optional<refusal> refuse_remote(const pipe_entry& pipe) {
    if (!pipe.exported)
        return refuse(win32_error::file_not_found, event_id::open_denied, "the pipe is not exported to remote clients");
    if (pipe.reject_remote)
        return refuse(win32_error::access_denied, event_id::open_denied, "the pipe rejects remote clients");
    if (!pipe.explicit_dacl)
        return refuse(win32_error::access_denied, event_id::open_denied,
                      "npipe's default DACL grants the network nothing (give the pipe a DACL that names remote users)");
    return std::nullopt;
}

/// The reservation of a pipe that is coming back: saved before a restart while its servers
/// ran, and still within the time they are given to register again.
const reservation* coming_back(const std::string& spelled, const namespace_view& ns, std::string& key) {
    std::error_code ec;
    auto name = parse_pipe_name(spelled, ec);
    if (!name || !name->is_local()) return nullptr;
    const reservation* r = ns.reserved.find(name->key);
    if (!r || !r->restoring_until || ns.now >= *r->restoring_until) return nullptr;
    key = name->key;
    return r;
}

/// A client that waits for a pipe coming back counts as a waiter.
std::optional<refusal> too_many_waiters(const identity& who, const namespace_view& ns) {
    if (waiters_of(ns, who.uid) < ns.limits.waiters) return std::nullopt;
    return over_limit("the uid is at its limit of " + std::to_string(ns.limits.waiters) + " waiting clients", 0);
}

/// The pipe a handle belongs to: by name and id, so a newer pipe of the same name is not it.
const pipe_entry* pipe_of_handle(const std::string& spelled, std::uint64_t id, const namespace_view& ns,
                                 std::optional<refusal>& refused) {
    std::error_code ec;
    auto name = parse_pipe_name(spelled, ec);
    if (!name || !name->is_local()) {
        refused = refuse(win32_error::invalid_name, 0, "not a local pipe name");
        return nullptr;
    }
    const pipe_entry* pipe = ns.pipes.find(name->key);
    // The handle's pipe is gone (perhaps replaced by another of the same name): nothing to do.
    if (!pipe || pipe->id != id) {
        refused = refuse(win32_error::pipe_not_connected, 0, "the handle's pipe is gone");
        return nullptr;
    }
    return pipe;
}

/// Another instance of `pipe`: the caller needs FILE_CREATE_PIPE_INSTANCE on it, which write
/// access does not imply in npipe, and room under the pipe's limit, and must ask for the pipe's
/// direction.
std::optional<refusal> check_another_instance(const identity& who, const protocol::create_instance_request& req,
                                              const pipe_entry& pipe) {
    auto check = access_check(pipe.security, access_identity_of(who), rights::FILE_CREATE_PIPE_INSTANCE);
    if (!check.granted)
        return refuse(win32_error::access_denied, event_id::squatting_attempt,
                      "uid " + std::to_string(who.uid) + " may not add an instance to " + pipe.display_name +
                          " owned by uid " + std::to_string(pipe.owner_uid) + ": " + check.reason,
                      true);
    // An instance coming back after a restart belongs to its own pipe, not to one someone else
    // made under the name meanwhile.
    if (req.reregister && req.pipe_id != 0 && req.pipe_id != pipe.id)
        return refuse(win32_error::access_denied, event_id::squatting_attempt,
                      "an instance of another pipe of this name came back after a restart", true);
    // In NPFS's order (Wine's ntdll test_pipe_local_info, run on Windows, sees a full pipe
    // refuse an instance that also asks FILE_CREATE and another direction: busy): the pipe's
    // limit first - its own, as the first instance set it, whatever this one asks for.
    if (pipe.full()) return refuse(win32_error::pipe_busy, event_id::create_denied, "all instances exist");
    // FILE_FLAG_FIRST_PIPE_INSTANCE. (An instance coming back after a restart was not the first
    // one, whatever it asked then.)
    if (req.first_instance && !req.reregister)
        return refuse(win32_error::access_denied, event_id::create_denied, "FILE_FLAG_FIRST_PIPE_INSTANCE and the pipe exists");
    // Only the direction must agree (Wine's kernel32 test_CreateNamedPipe_instances_must_match,
    // run on Windows); another type, limit, buffer size or timeout is taken, and the pipe's type,
    // limit and timeout stay.
    if (req.direction != pipe.direction)
        return refuse(win32_error::access_denied, event_id::create_denied, "the direction differs from the pipe's");
    // The instance is of the pipe's type: message read mode needs a message pipe, as for the
    // first instance and SetNamedPipeHandleState.
    if (req.message_read_mode && pipe.type != 1)
        return refuse(win32_error::invalid_parameter, 0, "message read mode on a byte pipe");
    return std::nullopt;
}

/// The new pipe's security descriptor: the creator's SDDL, or npipe's default.
std::optional<refusal> creators_descriptor(const identity& who, const protocol::create_instance_request& req,
                                           security_descriptor& sd) {
    if (req.sddl.empty()) {
        sd = default_descriptor(who.uid, req.windows_default_acl ? default_dacl::windows_compatible
                                                                  : default_dacl::owner_and_root,
                                who.gid);
        return std::nullopt;
    }
    std::error_code ec;
    sddl_error where;
    auto parsed = parse_sddl(req.sddl, ec, &where);
    if (!parsed) return refuse(win32_error::invalid_parameter, event_id::create_denied, "malformed SDDL: " + where.message);
    sd = std::move(*parsed);
    if (!sd.owner) sd.owner = sid::user(who.uid); // the creator owns what it creates
    // Only root may give a pipe to someone else, as only a privileged thread can make another
    // user a file's owner on Windows.
    if (sd.owner != sid::user(who.uid) && who.uid != 0)
        return refuse(win32_error::invalid_owner, event_id::create_denied,
                      "only root may make " + sd.owner->to_string() + " the owner");
    return std::nullopt;
}

/// A pipe of a name nobody serves: a reservation in force lets only those who could add
/// instances to the pipe that was take it; one coming back after a restart gets its old
/// descriptor and id.
void decide_new_pipe(const identity& who, const protocol::create_instance_request& req, const namespace_view& ns,
                     create_decision& d) {
    const reservation* kept = ns.reserved.find(d.name->key);
    bool kept_in_force = kept && ns.reserved.in_force(*kept, ns.now);
    if (kept_in_force) {
        auto check = access_check(kept->security, access_identity_of(who), rights::FILE_CREATE_PIPE_INSTANCE);
        if (!check.granted) {
            d.refused = refuse(win32_error::access_denied, event_id::squatting_attempt,
                               "the name is reserved for uid " + std::to_string(kept->owner_uid) + ": " + check.reason,
                               true);
            return;
        }
    }
    d.display_name = d.name->full();
    bool restored = req.reregister && kept_in_force && kept->pipe_id == req.pipe_id;
    if (restored) {
        d.security = kept->security;
        d.explicit_dacl = kept->explicit_dacl;
        d.restored_id = kept->pipe_id;
        if (!kept->display_name.empty()) d.display_name = kept->display_name;
    } else if (auto bad = creators_descriptor(who, req, d.security)) {
        d.refused = std::move(bad);
        return;
    } else {
        d.explicit_dacl = !req.sddl.empty();
    }
    // The descriptor is kept in memory and on disk: its owner's budget must hold it (the
    // reservation it replaces gives its share back). A pipe coming back after a restart with
    // its kept descriptor had it counted already.
    d.descriptor_bytes = d.security.to_sddl().size();
    d.owner_uid = owner_uid_of(d.security, who.uid);
    std::size_t held = descriptor_bytes_of(ns, d.owner_uid) -
                       (kept && kept->owner_uid == d.owner_uid ? kept->descriptor_bytes : 0);
    if (!restored && held + d.descriptor_bytes > ns.limits.descriptor_bytes)
        d.refused = over_limit("the uid is at its limit of " + std::to_string(ns.limits.descriptor_bytes) +
                               " bytes of security descriptors");
}

namespace parts = protocol::security_parts;
constexpr std::uint32_t protected_dacl = 0x80000000, unprotected_dacl = 0x20000000; // PROTECTED_/UNPROTECTED_DACL_SECURITY_INFORMATION

/// The rights a change of these parts needs: WRITE_OWNER for owner and group, WRITE_DAC for the DACL.
std::uint32_t rights_to_change(std::uint32_t which) {
    return ((which & (parts::owner | parts::group)) ? rights::WRITE_OWNER : 0u) |
           ((which & (parts::dacl | protected_dacl | unprotected_dacl)) ? rights::WRITE_DAC : 0u);
}

/// `current` with the parts of `given` that `which` names.
std::optional<refusal> apply_parts(const identity& who, std::uint32_t which, const security_descriptor& given,
                                   security_descriptor& next) {
    if (which & parts::owner) {
        if (!given.owner) return refuse(win32_error::invalid_parameter, 0, "no owner given");
        // As on Windows without SeRestorePrivilege: one may only make oneself the owner.
        if (*given.owner != sid::user(who.uid) && who.uid != 0)
            return refuse(win32_error::invalid_owner, 0, "only root may make " + given.owner->to_string() + " the owner");
        next.owner = given.owner;
    }
    if (which & parts::group) {
        if (!given.group) return refuse(win32_error::invalid_parameter, 0, "no group given");
        next.group = given.group;
    }
    constexpr std::uint16_t dacl_bits = sd_control::DACL_PROTECTED | sd_control::DACL_AUTO_INHERITED |
                                        sd_control::DACL_AUTO_INHERIT_REQ;
    if (which & parts::dacl) {
        next.dacl = given.dacl; // nullopt: a NULL DACL, everyone may do everything
        next.control = static_cast<std::uint16_t>((next.control & ~dacl_bits) | (given.control & dacl_bits) |
                                                  sd_control::DACL_PRESENT);
    }
    if (which & protected_dacl) next.control |= sd_control::DACL_PROTECTED;
    if (which & unprotected_dacl) next.control = static_cast<std::uint16_t>(next.control & ~sd_control::DACL_PROTECTED);
    return std::nullopt;
}

} // namespace

unsigned instances_of(const registry& pipes, uid_t uid) {
    unsigned n = 0;
    for (const auto& [key, pipe] : pipes.pipes())
        for (const instance* i : pipe->instances) n += i->server_uid == uid;
    return n;
}

unsigned waiters_of(const namespace_view& ns, uid_t uid) {
    unsigned n = 0;
    for (const auto& [key, pipe] : ns.pipes.pipes())
        for (const waiter& w : pipe->waiters) n += w.uid == uid;
    if (ns.held_per_uid)
        if (auto it = ns.held_per_uid->find(uid); it != ns.held_per_uid->end()) n += it->second;
    return n;
}

std::size_t descriptor_bytes_of(const namespace_view& ns, uid_t uid) {
    std::size_t n = ns.reserved.descriptor_bytes_of(uid);
    for (const auto& [key, p] : ns.pipes.pipes())
        if (p->owner_uid == uid) n += p->descriptor_bytes;
    return n;
}

uid_t owner_uid_of(const security_descriptor& sd, uid_t fallback) {
    if (sd.owner && sd.owner->uid()) return *sd.owner->uid();
    if (sd.owner && sd.owner->to_string() == "S-1-5-32-544") return 0; // BA: root
    return fallback;
}

bool fit_limits_to_descriptors(per_uid_limits& limits, std::uint64_t descriptors, bool system_scope) {
    // Kept for the broker itself: its sockets, log, rule files, /proc reads.
    std::uint64_t kept_for_the_broker = std::min<std::uint64_t>(64, descriptors / 4);
    std::uint64_t share = (descriptors - kept_for_the_broker) / 4 * (system_scope ? 1 : 3);
    // connections (links included) + 2 per instance <= share: half to each.
    auto connections = static_cast<unsigned>(std::max<std::uint64_t>(share / 2, 1));
    auto instances = static_cast<unsigned>(std::max<std::uint64_t>(share / 4, 1));
    bool lowered = limits.connections > connections || limits.instances > instances;
    limits.connections = std::min(limits.connections, connections);
    limits.instances = std::min(limits.instances, instances);
    limits.waiters = std::min(limits.waiters, limits.connections); // each waiter is a connection
    return lowered;
}

std::optional<refusal> decide_connection(uid_t uid, unsigned held, const per_uid_limits& limits) {
    if (held < limits.connections) return std::nullopt;
    return over_limit("uid " + std::to_string(uid) + " holds " + std::to_string(held) + " connections (the limit)", 0);
}

create_decision decide_create(const identity& who, const protocol::create_instance_request& req, bool page_sealed,
                              const namespace_view& ns) {
    create_decision d;
    std::error_code ec;
    d.name = parse_pipe_name(req.name, ec);
    if (!d.name || !d.name->is_local()) {
        d.refused = refuse(win32_error::invalid_name, 0, "not a local pipe name");
        return d;
    }
    if (req.direction < 1 || req.direction > 3 || req.type > 1 || req.max_instances < 1 || req.max_instances > 255 ||
        !page_sealed) {
        d.refused = refuse(win32_error::invalid_parameter, 0, "malformed instance parameters");
        return d;
    }
    const pipe_entry* pipe = ns.pipes.find(d.name->key);
    if (pipe) {
        d.existing = pipe->key; // named by the refusal's event too
        if ((d.refused = check_another_instance(who, req, *pipe))) return d;
    }
    if (instances_of(ns.pipes, who.uid) >= ns.limits.instances) {
        d.refused = over_limit("the uid is at its limit of " + std::to_string(ns.limits.instances) + " instances");
        return d;
    }
    if (!pipe) decide_new_pipe(who, req, ns, d);
    return d;
}

namespace {

/// An open of a pipe coming back waits for it - after the checks its saved descriptor allows
/// (the direction is not saved: the open is taken again when the pipe is back).
void hold_open(const identity& who, const reservation& back, const namespace_view& ns, open_decision& d) {
    d.refused.reset(); // not "no such pipe": it is on its way
    auto check = access_check(back.security, access_identity_of(who), d.desired);
    if (!check.granted) {
        d.refused = refuse(win32_error::access_denied, event_id::open_denied, check.reason);
        return;
    }
    if ((d.refused = too_many_waiters(who, ns))) return;
    d.held = true;
    d.until = *back.restoring_until;
}

} // namespace

open_decision decide_open(const identity& who, const protocol::open_request& req, const namespace_view& ns) {
    open_decision d;
    // The pipe's DACL must grant what the client asks for; CreateFile always adds SYNCHRONIZE
    // and FILE_READ_ATTRIBUTES, as Windows' does. The mask is what CreateFile was given; a
    // request without one (an older library) names the directions.
    std::uint32_t asked = req.desired_access ? req.desired_access
                                             : (req.read ? rights::GENERIC_READ : 0u) | (req.write ? rights::GENERIC_WRITE : 0u);
    d.desired = asked | rights::SYNCHRONIZE | rights::FILE_READ_ATTRIBUTES;
    const pipe_entry* pipe = pipe_named(req.name, ns, d.refused);
    if (!pipe) {
        if (const reservation* back = coming_back(req.name, ns, d.pipe)) hold_open(who, *back, ns, d);
        return d;
    }
    d.pipe = pipe->key;
    if (who.remote() && (d.refused = refuse_remote(*pipe))) return d;
    auto check = access_check(pipe->security, access_identity_of(who), d.desired);
    if (!check.granted) {
        d.refused = refuse(win32_error::access_denied, event_id::open_denied, check.reason);
        return d;
    }
    d.granted = check.granted_access;
    // Inbound: the client may only write. Outbound: only read.
    auto wants = detail::pipe_data_access_of(asked); // the same rule as the library's
    if ((wants.read && !(pipe->direction & 2)) || (wants.write && !(pipe->direction & 1))) {
        d.refused = refuse(win32_error::access_denied, event_id::open_denied,
                           "the access asked for does not fit the pipe's direction");
        return d;
    }
    if (const instance* i = pipe->first_listening()) d.listening = i->id;
    return d;
}

wait_decision decide_wait(const identity& who, const protocol::wait_request& req, const namespace_view& ns) {
    wait_decision d;
    const pipe_entry* pipe = pipe_named(req.name, ns, d.refused);
    if (!pipe) {
        // A pipe coming back after a restart exists for WaitNamedPipe: it waits for it.
        const reservation* back = coming_back(req.name, ns, d.pipe);
        if (!back) return d;
        if ((d.refused = too_many_waiters(who, ns))) return d;
        d.held = true;
        d.until = *back->restoring_until;
        d.timeout_ms = req.timeout_ms;
        return d;
    }
    d.pipe = pipe->key;
    if (pipe->any_listening()) {
        d.ready = true;
        return d;
    }
    if ((d.refused = too_many_waiters(who, ns))) return d;
    d.timeout_ms = req.timeout_ms;
    if (d.timeout_ms == 0) d.timeout_ms = pipe->default_timeout_ms ? pipe->default_timeout_ms : default_wait_ms;
    return d;
}

bool listen_needs_answer(const instance& inst) { return inst.state != instance_state::disconnected; }

disconnect_decision decide_disconnect(const instance& inst, const protocol::disconnect_request& counts) {
    disconnect_decision d;
    // Disconnecting a listening instance races with clients on their way: the answer marks the
    // point after which none can come. A connected instance needs no answer.
    d.answer = inst.state == instance_state::listening;
    if (inst.state == instance_state::connected || inst.state == instance_state::closing)
        d.event_reason = counts.client_closed    ? "client closed"
                         : counts.server_closing ? "server closed"
                                                 : "server disconnected";
    return d;
}

security_decision decide_get_security(const identity& who, const protocol::get_security_request& req,
                                      const namespace_view& ns) {
    security_decision d;
    const pipe_entry* pipe = pipe_of_handle(req.name, req.pipe_id, ns, d.refused);
    if (!pipe) return d;
    d.pipe = pipe->key;
    auto check = access_check(pipe->security, access_identity_of(who), rights::READ_CONTROL);
    if (!check.granted) {
        d.refused = refuse(win32_error::access_denied, 0, "reading the security of " + pipe->display_name +
                                                               " denied to uid " + std::to_string(who.uid) + ": " +
                                                               check.reason);
        return d;
    }
    d.sddl = pipe->security.to_sddl();
    return d;
}

security_decision decide_set_security(const identity& who, const protocol::set_security_request& req,
                                      const namespace_view& ns) {
    security_decision d;
    constexpr std::uint32_t known = parts::owner | parts::group | parts::dacl | parts::sacl | protected_dacl |
                                    unprotected_dacl;
    if (req.parts == 0 || (req.parts & ~known) || ((req.parts & protected_dacl) && (req.parts & unprotected_dacl))) {
        d.refused = refuse(win32_error::invalid_parameter, 0, "unknown or contradictory SECURITY_INFORMATION bits");
        return d;
    }
    const pipe_entry* pipe = pipe_of_handle(req.name, req.pipe_id, ns, d.refused);
    if (!pipe) return d;
    d.pipe = pipe->key;
    // Pipes carry no SACL, and nobody here holds the privilege (SeSecurityPrivilege) to set one.
    if (req.parts & parts::sacl) {
        d.refused = refuse(win32_error::access_denied, 0, "a SACL needs SeSecurityPrivilege");
        return d;
    }
    auto check = access_check(pipe->security, access_identity_of(who), rights_to_change(req.parts));
    if (!check.granted) {
        d.refused = refuse(win32_error::access_denied, event_id::security_changed, check.reason);
        return d;
    }
    std::error_code ec;
    sddl_error where;
    auto given = parse_sddl(req.sddl, ec, &where);
    if (!given) {
        d.refused = refuse(win32_error::invalid_parameter, 0, where.message);
        return d;
    }
    d.next = pipe->security;
    if ((d.refused = apply_parts(who, req.parts, *given, d.next))) return d;
    d.sddl = d.next.to_sddl();
    uid_t charged = owner_uid_of(d.next, pipe->owner_uid);
    std::size_t held = descriptor_bytes_of(ns, charged) - (charged == pipe->owner_uid ? pipe->descriptor_bytes : 0);
    if (held + d.sddl.size() > ns.limits.descriptor_bytes) {
        d.refused = over_limit("uid " + std::to_string(charged) + " would be over its limit of " +
                                   std::to_string(ns.limits.descriptor_bytes) + " bytes of security descriptors",
                               0);
        return d;
    }
    d.descriptor_bytes = static_cast<std::uint32_t>(d.sddl.size());
    return d;
}

bool may_stop(const identity& who, uid_t broker_uid) { return who.uid == broker_uid || who.uid == 0; }

} // namespace npipe::broker
