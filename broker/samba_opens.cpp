// An SMB client's open of an exported pipe, as smbd brings it (samba_listeners.hpp): the
// request decoded, the remote user's identity built (samba_identity.hpp), the same decisions as
// a local open, then smbd's 36-byte answer and the connection handed to a listening instance as
// a local client's is. smbd 4.17 ignores the answer's status: the only refusal it understands is
// the socket closed before an answer (the SMB client sees STATUS_CONNECTION_DISCONNECTED).
#include "broker.hpp"

#include "samba_identity.hpp"

namespace npipe::broker {
namespace {

/// smbd does not say what the SMB client asked for: a remote client is checked for what the
/// pipe's direction lets a client do (read on an outbound or duplex pipe, write on an inbound
/// or duplex one), so the DACL must grant all of it. Nor does it pass the client's SQOS: the
/// level is the broker's setting (config.hpp, samba_impersonation).
std::uint8_t remote_level(bool impersonation) {
    return static_cast<std::uint8_t>(impersonation ? impersonation_level::impersonation
                                                   : impersonation_level::identification);
}

protocol::open_request remote_open(const pipe_entry& p, bool impersonation) {
    protocol::open_request req;
    req.name = p.display_name;
    req.read = (p.direction & 2) != 0;
    req.write = (p.direction & 1) != 0;
    req.impersonation = remote_level(impersonation);
    return req;
}

remote_peer peer_of(const identity& who) {
    return {who.qualified_account(), who.computer, who.address, who.port};
}

/// Events name a remote user by the Unix ids smbd gave it and by what smbd said of it; there
/// is no local process (pid 0).
actor remote_actor(const identity& who) {
    actor a{0, who.uid, {who.gid}, 0, peer_of(who)};
    for (auto g : who.groups)
        if (g != who.gid) a.gids.push_back(g);
    return a;
}

std::string remote_name(const identity& who) {
    return (who.account.empty() ? std::string("an anonymous SMB user") : "SMB user " + who.qualified_account()) +
           " (from " + peer_of(who).address_and_port() + ")";
}

/// What the server is told of its remote client.
protocol::client_arrived_push arrival_of(const identity& who, std::uint8_t level) {
    protocol::client_arrived_push push;
    push.uid = who.uid;
    push.gid = who.gid;
    push.groups.assign(who.groups.begin(), who.groups.end());
    push.anonymous = who.anonymous;
    push.impersonation = level;
    push.remote = true;
    push.account = who.account;
    push.domain = who.domain;
    push.computer = who.computer;
    push.address = who.address;
    push.port = who.port;
    for (const auto& s : who.token_sids) push.sids.push_back({s.to_string()});
    return push;
}

/// The reply to smbd's request at `level` (smbd refuses one at another level).
protocol::samba::reply answer_for(const pipe_entry& p, std::uint32_t level) {
    protocol::samba::reply r;
    r.level = level;
    bool message = p.type == static_cast<std::uint8_t>(pipe_type::message);
    r.type = message ? protocol::samba::file_type::message_mode : protocol::samba::file_type::byte_mode;
    // As Samba's own pipes answer: unlimited instances, and the message-mode bits.
    r.device_state = static_cast<std::uint16_t>(0xFF | (message ? 0x0500 : 0));
    r.allocation_size = 4096;
    return r;
}

} // namespace

void broker::on_samba_request(connection& c) {
    std::string why;
    auto r = protocol::samba::decode_request(c.handshake, &why);
    std::optional<identity> who = r ? remote_identity(*r, why) : std::nullopt;
    pipe_entry* pipe = registry_.find(c.samba_pipe);
    if (r) c.samba_level = r->level;
    if (!who || !pipe) {
        connections_.close(c.id, who ? "the pipe is gone" : ("smbd's request refused: " + why).c_str());
        return;
    }
    // `c.peer` stays smbd's: the connection is counted against smbd's uid until it goes.
    auto req = remote_open(*pipe, cfg_.samba_impersonation);
    auto d = decide_open(*who, req, view());
    const actor client = remote_actor(*who);
    const std::string whom = remote_name(*who);
    if (d.refused) {
        log("info", "refused " + whom + " " + pipe->display_name + ": " + d.refused->reason);
        if (d.refused->event)
            emit(events_built_.open_denied(client, *pipe, d.refused->reason, d.desired, req.impersonation), who->uid,
                 pipe->owner_uid);
        connections_.close(c.id, nullptr);
        return;
    }
    instance* inst = d.listening ? registry_.find_instance(d.listening) : nullptr;
    connection* link = inst ? connections_.find(inst->link_connection) : nullptr;
    if (!inst || !link || !connections_.can_take_handover(*link)) {
        // Windows answers STATUS_PIPE_NOT_AVAILABLE at once; smbd can only be hung up on.
        if (cfg_.verbose) log("debug", "no instance of " + pipe->display_name + " listens for " + whom);
        connections_.close(c.id, nullptr);
        return;
    }
    rule_hits hits;
    if (rules_may_refuse_) { // as for a local open: a preventing rule sees the connect first
        std::optional<refusal> prevented;
        hits = screen(events_built_.connect_probe(client, *pipe, *inst, req.impersonation), "open of " + pipe->display_name,
                      0, who->uid, inst->server_uid, prevented);
        if (prevented) {
            emit(events_built_.open_denied(client, *pipe, prevented->reason, d.desired, req.impersonation), who->uid,
                 pipe->owner_uid);
            connections_.close(c.id, nullptr);
            return;
        }
    }
    connect_remote_client(c, *who, d, *pipe, *inst, hits);
}

void broker::connect_remote_client(connection& c, const identity& who, const open_decision& d, pipe_entry& pipe,
                                   instance& inst, const rule_hits& hits) {
    auto answer = protocol::samba::encode_reply(answer_for(pipe, c.samba_level));
    if (!connections_.send_now(c, answer, -1)) {
        connections_.close(c.id, "smbd does not read");
        return;
    }
    inst.generation++;
    auto push = arrival_of(who, remote_level(cfg_.samba_impersonation));
    push.generation = inst.generation;
    connection* link = connections_.find(inst.link_connection);
    if (!link || !connections_.push(*link, protocol::encode(push), c.sock.get())) {
        connections_.close(c.id, nullptr);
        return;
    }
    inst.state = instance_state::connected;
    inst.client_pid = 0;
    inst.client_uid = who.uid;
    inst.client_start = 0;
    inst.client_impersonation = push.impersonation;
    inst.client_remote = peer_of(who);
    inst.connected_at = clock::now();
    connections_served_++;
    log("info", remote_name(who) + " connected to " + pipe.display_name);
    const actor client = remote_actor(who);
    rule_hits seen = hits;
    if (!rules_may_refuse_ && !matcher_.rules().rules.empty())
        seen = match_rules(events_built_.connect_probe(client, pipe, inst, push.impersonation));
    auto e = events_built_.connected(client, pipe, inst, push.impersonation, d.granted, seen);
    nlohmann::json trigger = e;
    emit(std::move(e), who.uid, inst.server_uid);
    emit_alerts(trigger, seen, false, who.uid, inst.server_uid);
    inst.server_end = connections_.hand_over(c.id); // `c` is gone from here on (check_hang_ups)
}

} // namespace npipe::broker
