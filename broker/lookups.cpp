// The broker's requests that look (query, list, status) or change a pipe's security, and stop.
#include "broker.hpp"

#include <unistd.h>

namespace npipe::broker {

bool broker::on_query(connection& c, std::span<const std::byte> body) {
    protocol::name_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed query");
        return false;
    }
    c.kind = conn_kind::query;
    std::error_code ec;
    auto name = parse_pipe_name(req.name, ec);
    if (!name) {
        connections_.reply_error(c, win32_error::invalid_name);
        return true;
    }
    const pipe_entry* pipe = name->is_local() ? registry_.find(name->key) : nullptr;
    if (!pipe) {
        connections_.reply_error(c, win32_error::file_not_found);
        return true;
    }
    check_hang_ups(*pipe);
    protocol::pipe_list_reply r;
    r.pipes.push_back(registry_.record(*pipe));
    r.pipes.back().remote = r.pipes.back().remote && connections_.serves_samba();
    connections_.reply(c, protocol::encode(r));
    return true;
}

bool broker::on_list(connection& c) {
    c.kind = conn_kind::query;
    protocol::pipe_list_reply r;
    for (const auto& [key, pipe] : registry_.pipes()) {
        check_hang_ups(*pipe);
        r.pipes.push_back(registry_.record(*pipe));
        r.pipes.back().remote = r.pipes.back().remote && connections_.serves_samba();
    }
    connections_.reply(c, protocol::encode(r));
    return true;
}

bool broker::on_status(connection& c) {
    c.kind = conn_kind::query;
    npipe::broker_status r; // the reply's body (protocol::broker_status_reply)
    r.pid = ::getpid();
    r.uid = ::geteuid();
    r.system_scope = cfg_.system_scope;
    r.runtime_dir = cfg_.runtime_dir;
    r.protocol_version = protocol::version;
    r.uptime = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started_);
    r.pipes = registry_.pipes().size();
    r.instances = registry_.instance_count();
    r.connections_served = connections_served_;
    r.control_connections = connections_.size();
    r.limit_connections_per_uid = cfg_.limits.connections;
    r.limit_instances_per_uid = cfg_.limits.instances;
    r.limit_waiters_per_uid = cfg_.limits.waiters;
    r.limit_descriptor_bytes_per_uid = cfg_.limits.descriptor_bytes;
    r.handshake_timeout = cfg_.handshake_timeout;
    r.idle_timeout = cfg_.idle_timeout;
    r.refused_by_limits = refused_by_limits_ + connections_.refused_by_limits;
    for (const auto& [key, pipe] : registry_.pipes()) r.waiters += pipe->waiters.size();
    for (const auto& [uid, n] : held_per_uid_) r.waiters += n; // held for pipes coming back
    r.events = events_.next_seq() - 1;
    r.events_retained = events_.size();
    r.event_capacity = events_.capacity();
    r.events_lost = events_lost_;
    r.monitors = monitors_.size();
    connections_.reply(c, protocol::encode(r));
    return true;
}

bool broker::on_stop(connection& c) {
    c.kind = conn_kind::query;
    if (!may_stop(c.peer, ::geteuid())) {
        connections_.reply_error(c, win32_error::access_denied);
        return true;
    }
    log("info", "stop requested by pid " + std::to_string(c.peer.pid));
    connections_.reply(c, protocol::encode(protocol::message_type::ok, {}));
    stopping_ = true;
    return true;
}

// ---- security descriptors after creation (GetSecurityInfo / SetSecurityInfo) -----------------

bool broker::on_get_security(connection& c, std::span<const std::byte> body) {
    protocol::get_security_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed get_security");
        return false;
    }
    c.kind = conn_kind::query;
    auto d = decide_get_security(c.peer, req, view());
    if (d.refused) {
        if (d.refused->error == win32_error::access_denied) log("info", d.refused->reason);
        connections_.reply_error(c, d.refused->error);
        return true;
    }
    connections_.reply(c, protocol::encode(protocol::security_reply{d.sddl}));
    return true;
}

bool broker::on_set_security(connection& c, std::span<const std::byte> body) {
    protocol::set_security_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed set_security");
        return false;
    }
    c.kind = conn_kind::query;
    auto d = decide_set_security(c.peer, req, view());
    pipe_entry* pipe = d.pipe.empty() ? nullptr : registry_.find(d.pipe);
    if (d.refused) {
        nlohmann::json e;
        if (d.refused->event && pipe) e = events_built_.security_change_denied(actor_of(c), *pipe, d.refused->reason);
        if (pipe && d.refused->error != win32_error::invalid_name)
            log(d.refused->warn ? "warning" : "info", "security of " + pipe->display_name + " not changed for uid " +
                                                          std::to_string(c.peer.uid) + ": " + d.refused->reason);
        if (d.refused->by_limit) ++refused_by_limits_;
        if (!e.is_null()) emit(std::move(e), c.peer.uid, pipe->owner_uid);
        connections_.reply_error(c, d.refused->error);
        return true;
    }
    std::string before = pipe->security.to_sddl();
    log("info", "security of " + pipe->display_name + " changed by uid " + std::to_string(c.peer.uid) + " (pid " +
                    std::to_string(c.peer.pid) + "): " + before + " -> " + d.sddl);
    uid_t owner_before = pipe->owner_uid;
    pipe->descriptor_bytes = d.descriptor_bytes;
    pipe->security = std::move(d.next);
    pipe->explicit_dacl = true;
    pipe->owner_uid = owner_uid_of(pipe->security, pipe->owner_uid);
    save_pipe(*pipe);
    emit(events_built_.security_changed(actor_of(c), *pipe, before), c.peer.uid, owner_before);
    connections_.reply(c, protocol::encode(protocol::security_reply{pipe->security.to_sddl()}));
    return true;
}

} // namespace npipe::broker
