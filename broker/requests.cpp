// The broker's requests that change the namespace: create an instance, open, wait, listen,
// disconnect, and the end of an instance. Each asks decisions.hpp, then carries the outcome
// out: registry, answers, descriptors handed over, events.
#include "broker.hpp"

#include "os/fd.hpp"
#include "os/process.hpp"

#include <unistd.h>

namespace npipe::broker {

bool broker::on_request(connection& c, protocol::frame& f) {
    using protocol::message_type;
    std::span<const std::byte> body(f.body.data(), f.body.size());
    switch (f.type) {
    case message_type::create_instance: return on_create(c, f);
    case message_type::open: return on_open(c, body);
    case message_type::wait: return on_wait(c, body);
    case message_type::listen: return on_listen(c);
    case message_type::disconnect: return on_disconnect(c, body);
    case message_type::query: return on_query(c, body);
    case message_type::list: return on_list(c);
    case message_type::status: return on_status(c);
    case message_type::stop: return on_stop(c);
    case message_type::monitor: return on_monitor(c, body);
    case message_type::get_security: return on_get_security(c, body);
    case message_type::set_security: return on_set_security(c, body);
    default: return false;
    }
}

void broker::refuse(connection& c, const refusal& r, nlohmann::json event, std::optional<uid_t> peer_uid) {
    if (r.by_limit) ++refused_by_limits_;
    std::string who = "uid " + std::to_string(c.peer.uid) + " (pid " + std::to_string(c.peer.pid) + ")";
    if (r.warn) log("warning", "refused " + who + ": " + r.reason);
    else if (r.event && r.error != win32_error::pipe_busy) log("info", "refused " + who + ": " + r.reason);
    if (!event.is_null()) emit(std::move(event), c.peer.uid, peer_uid);
    connections_.reply_error(c, r.error);
}

// ---- CreateNamedPipe --------------------------------------------------------------------------

bool broker::on_create(connection& c, protocol::frame& f) {
    protocol::create_instance_request req;
    bool decoded = protocol::decode(f.body, req);
    bool has_client = decoded && req.reregister &&
                      (req.state == static_cast<std::uint8_t>(instance_state::connected) ||
                       req.state == static_cast<std::uint8_t>(instance_state::closing));
    if (!decoded || f.fds.size() != (has_client ? 2u : 1u)) {
        connections_.close(c.id, "malformed create_instance");
        return false;
    }
    os::fd page = std::move(f.fds.front());
    os::fd data = has_client ? std::move(f.fds.back()) : os::fd{};
    // A re-registered connected instance brings its data connection: the broker learns who the
    // client is from the kernel (the socket's peer), never from the server's word.
    std::optional<os::peer_credentials> client;
    if (has_client) {
        auto cred = os::peer_credentials_of(data.get());
        if (!cred) {
            connections_.reply_error(c, win32_error::invalid_parameter);
            return true;
        }
        client = cred.value;
    }
    auto d = decide_create(c.peer, req, os::shared_page::is_sealed_page(page.get()), view());
    const pipe_entry* existing = d.existing.empty() ? nullptr : registry_.find(d.existing);
    std::string name = d.name ? d.name->full() : req.name;
    std::optional<uid_t> owner = existing ? std::optional<uid_t>(existing->owner_uid) : std::nullopt;
    if (d.refused) {
        nlohmann::json e;
        if (d.refused->event) e = events_built_.create_refused(actor_of(c), *d.refused, existing, name);
        refuse(c, *d.refused, std::move(e), owner);
        return true;
    }
    actor who = actor_of(c);
    if (who.start_time == 0) {
        if (os::descriptors_exhausted()) { // /proc could not be read: we cannot tell, and say why
            connections_.out_of_descriptors();
            connections_.reply_error(c, win32_error::too_many_open_files);
            return true;
        }
        connections_.close(c.id, nullptr); // it has exited already: nothing to register
        return false;
    }
    // Sigma rules see the create before it happens when a match may refuse it; else after the
    // answer, off the caller's critical path.
    rule_hits hits;
    if (rules_may_refuse_) {
        std::optional<refusal> prevented;
        hits = screen(events_built_.create_probe(who, existing, name), "create of " + name, c.peer.pid, c.peer.uid,
                      std::nullopt, prevented);
        if (prevented) {
            refuse(c, *prevented, events_built_.create_refused(who, *prevented, existing, name), owner);
            return true;
        }
    }
    bool created_pipe = false;
    instance& inst = add_instance(c, req, d, std::move(page), created_pipe);
    if (req.reregister) restore_instance(inst, req, std::move(data), client);
    save_servers(*inst.pipe);
    const pipe_entry& pipe = *inst.pipe;
    connections_.reply(c, protocol::encode(protocol::created_reply{inst.id, pipe.id, ::getpid(), self_start_, pipe.type,
                                                                   pipe.max_instances, pipe.default_timeout_ms}));
    // What is told comes after what was asked for: the caller does not wait for it, and nobody
    // can ask the broker anything in between.
    if (!rules_may_refuse_ && !matcher_.rules().rules.empty())
        hits = match_rules(events_built_.create_probe(who, created_pipe ? nullptr : &pipe, name));
    auto e = events_built_.created(who, pipe, created_pipe, req.reregister, hits);
    nlohmann::json trigger = e;
    emit(std::move(e), c.peer.uid, std::nullopt);
    emit_alerts(trigger, hits, false, c.peer.uid, std::nullopt);
    if (inst.state == instance_state::listening) instance_listening(*inst.pipe);
    return true;
}

instance& broker::add_instance(connection& c, const protocol::create_instance_request& req, const create_decision& d,
                               os::fd page, bool& created_pipe) {
    pipe_entry* pipe = d.existing.empty() ? nullptr : registry_.find(d.existing);
    if (!pipe) {
        reserved_.release(d.name->key); // the name's reservation ends once its new pipe exists
        pipe = &registry_.add_pipe(d.name->key, d.restored_id ? d.restored_id : new_pipe_id());
        pipe->display_name = d.display_name;
        pipe->direction = req.direction;
        pipe->type = req.type;
        pipe->max_instances = req.max_instances;
        pipe->out_buffer_size = req.out_buffer_size;
        pipe->in_buffer_size = req.in_buffer_size;
        pipe->default_timeout_ms = req.default_timeout_ms;
        pipe->reject_remote = req.reject_remote;
        pipe->exported = req.exported;
        pipe->owner_uid = d.owner_uid;
        pipe->security = d.security;
        pipe->explicit_dacl = d.explicit_dacl;
        pipe->descriptor_bytes = d.descriptor_bytes;
        if (cfg_.verbose) log("debug", "pipe created: " + pipe->display_name);
        if (pipe->exported && !pipe->reject_remote) connections_.samba_listen(pipe->key);
        created_pipe = true;
    }
    instance& inst = registry_.add_instance(*pipe);
    inst.link_connection = c.id;
    inst.server_pid = c.peer.pid;
    inst.server_start = c.peer_start;
    inst.server_uid = c.peer.uid;
    inst.out_buffer_size = req.out_buffer_size;
    inst.in_buffer_size = req.in_buffer_size;
    inst.page = std::move(page);
    c.instance_id = inst.id;
    connections_.make_link(c);
    return inst;
}

void broker::restore_instance(instance& inst, const protocol::create_instance_request& req, os::fd data,
                              const std::optional<os::peer_credentials>& client) {
    // As it was before the restart: the same connection count (clients compare it with the
    // page), the same state, the same client.
    inst.generation = req.generation;
    inst.state = static_cast<instance_state>(req.state);
    if (client) {
        inst.client_pid = client->pid;
        inst.client_uid = client->uid;
        inst.client_start = os::process_start_time(client->pid).value_or(0);
        inst.connected_at = clock::now(); // as far as this broker knows
        inst.server_end = std::move(data);
    }
    log("info", "instance of " + inst.pipe->display_name + " re-registered by pid " + std::to_string(inst.server_pid));
}

// ---- CreateFile -------------------------------------------------------------------------------

bool broker::on_open(connection& c, std::span<const std::byte> body) {
    protocol::open_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed open");
        return false;
    }
    return open_pipe(c, req);
}

bool broker::open_pipe(connection& c, const protocol::open_request& req) {
    auto d = decide_open(c.peer, req, view());
    if (d.held) {
        hold(c, d.pipe, {c.id, c.peer.uid, req, d.until, std::nullopt});
        return true;
    }
    pipe_entry* pipe = d.pipe.empty() ? nullptr : registry_.find(d.pipe);
    if (d.refused) {
        nlohmann::json e;
        if (d.refused->event && pipe)
            e = events_built_.open_denied(actor_of(c), *pipe, d.refused->reason, d.desired, req.impersonation);
        refuse(c, *d.refused, std::move(e), pipe ? std::optional<uid_t>(pipe->owner_uid) : std::nullopt);
        return true;
    }
    instance* inst = d.listening ? registry_.find_instance(d.listening) : nullptr;
    // Sigma rules see the connect before it happens when a match may refuse it (else after the
    // client has its answer: connect_client).
    rule_hits hits;
    if (inst && rules_may_refuse_) {
        std::optional<refusal> prevented;
        hits = screen(events_built_.connect_probe(actor_of(c), *pipe, *inst, req.impersonation),
                      "open of " + pipe->display_name, c.peer.pid, c.peer.uid, inst->server_uid, prevented);
        if (prevented) {
            refuse(c, *prevented,
                   events_built_.open_denied(actor_of(c), *pipe, prevented->reason, d.desired, req.impersonation),
                   pipe->owner_uid);
            return true;
        }
    }
    if (!inst) {
        connections_.reply_error(c, win32_error::pipe_busy);
        return true;
    }
    if (c.reader.buffered() != 0) {
        // Bytes sent before the reply would belong to nobody: a confused or hostile client.
        connections_.close(c.id, "data sent before open completed");
        return false;
    }
    // The server takes the client through its link: a link that cannot take the handover now
    // (its server does not read it) would turn this open into success followed by a broken
    // pipe, so the open is refused before anything is said.
    connection* link = connections_.find(inst->link_connection);
    if (!link || !connections_.can_take_handover(*link)) {
        connections_.reply_error(c, win32_error::pipe_busy);
        return true;
    }
    return connect_client(c, req, d, *pipe, *inst, hits);
}

bool broker::connect_client(connection& c, const protocol::open_request& req, const open_decision& d,
                            pipe_entry& pipe, instance& inst, const rule_hits& hits) {
    inst.generation++;
    protocol::opened_reply ok;
    ok.server_pid = inst.server_pid;
    ok.type = pipe.type;
    ok.direction = pipe.direction;
    ok.max_instances = pipe.max_instances;
    ok.out_buffer_size = inst.out_buffer_size; // this instance's, not the pipe's first
    ok.in_buffer_size = inst.in_buffer_size;
    ok.generation = inst.generation;
    ok.pipe_id = pipe.id;
    ok.granted_access = d.granted;
    // The connection is handed over next: the answer must go whole now (a small frame on a
    // socket with nothing unsent always does, unless the peer is not reading at all).
    if (!connections_.send_now(c, protocol::encode(ok), inst.page.get())) {
        connections_.close(c.id, "the client does not read");
        return false;
    }
    protocol::client_arrived_push push;
    push.generation = inst.generation;
    push.pid = c.peer.pid;
    push.uid = c.peer.uid;
    push.gid = c.peer.gid;
    push.groups.assign(c.peer.groups.begin(), c.peer.groups.end());
    push.label = c.peer.label;
    push.anonymous = c.peer.anonymous;
    push.impersonation = req.impersonation;
    push.effective_only = req.effective_only;
    connection* link = connections_.find(inst.link_connection);
    if (!link || !connections_.push(*link, protocol::encode(push), c.sock.get())) {
        // The server is gone, or does not read its link; the client sees its connection end.
        connections_.close(c.id, nullptr);
        return false;
    }
    actor client = actor_of(c);
    inst.state = instance_state::connected;
    inst.client_pid = c.peer.pid;
    inst.client_uid = c.peer.uid;
    inst.client_start = client.start_time;
    inst.client_impersonation = req.impersonation;
    inst.client_remote.reset();
    inst.connected_at = clock::now();
    connections_served_++;
    rule_hits seen = hits;
    if (!rules_may_refuse_ && !matcher_.rules().rules.empty())
        seen = match_rules(events_built_.connect_probe(client, pipe, inst, req.impersonation));
    auto e = events_built_.connected(client, pipe, inst, req.impersonation, d.granted, seen);
    nlohmann::json trigger = e;
    emit(std::move(e), c.peer.uid, inst.server_uid);
    emit_alerts(trigger, seen, false, c.peer.uid, inst.server_uid);
    // Keep our copy of the server's end only to notice the client hanging up.
    // Our copy of the server's end tells whether the client has hung up (check_hang_ups).
    inst.server_end = connections_.hand_over(c.id); // `c` is gone from here on
    return false;
}

// ---- WaitNamedPipe ----------------------------------------------------------------------------

bool broker::on_wait(connection& c, std::span<const std::byte> body) {
    protocol::wait_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed wait");
        return false;
    }
    return wait_for_pipe(c, req);
}

bool broker::wait_for_pipe(connection& c, const protocol::wait_request& req) {
    auto d = decide_wait(c.peer, req, view());
    if (d.held) {
        std::optional<clock::time_point> deadline;
        if (d.timeout_ms != 0 && d.timeout_ms != 0xFFFFFFFFu)
            deadline = clock::now() + std::chrono::milliseconds(d.timeout_ms);
        hold(c, d.pipe, {c.id, c.peer.uid, req, d.until, deadline});
        return true;
    }
    if (d.refused) {
        refuse(c, *d.refused, {}, std::nullopt);
        return true;
    }
    if (d.ready) {
        connections_.reply(c, protocol::encode(protocol::message_type::ok, {}));
        return true;
    }
    waiter w{c.id, c.peer.uid, std::nullopt};
    if (d.timeout_ms != 0xFFFFFFFFu) w.deadline = clock::now() + std::chrono::milliseconds(d.timeout_ms);
    registry_.find(d.pipe)->waiters.push_back(w);
    c.kind = conn_kind::waiter;
    c.waiting_for = d.pipe;
    return true;
}

void broker::instance_listening(pipe_entry& p) {
    release_held(p);
    auto waiters = std::move(p.waiters);
    p.waiters.clear();
    for (const auto& w : waiters) {
        connection* c = connections_.find(w.connection);
        if (!c) continue;
        connections_.reply(*c, protocol::encode(protocol::message_type::ok, {}));
        c->kind = conn_kind::query; // answered; the client closes it
        c->waiting_for.clear();
    }
}

void broker::expire_waits(clock::time_point now) {
    for (const auto& [key, pipe] : registry_.pipes()) {
        std::vector<waiter> keep;
        for (const auto& w : pipe->waiters) {
            if (!w.deadline || now < *w.deadline) {
                keep.push_back(w);
                continue;
            }
            connection* c = connections_.find(w.connection);
            if (!c) continue;
            emit(events_built_.wait_timed_out(actor_of(*c), *pipe), c->peer.uid, pipe->owner_uid);
            connections_.reply_error(*c, win32_error::sem_timeout);
            c->kind = conn_kind::query;
        }
        pipe->waiters = std::move(keep);
    }
}

// ---- an instance's link: listen, disconnect, its end ------------------------------------------

bool broker::on_listen(connection& c) {
    instance* inst = registry_.find_instance(c.instance_id);
    if (!inst) return true;
    // Only a listen on an instance that was already listening needs an answer (has a client
    // come?); after a disconnect no client can be in flight, so the server does not wait.
    if (listen_needs_answer(*inst)) {
        connections_.reply(c, protocol::encode(protocol::message_type::listening, {}));
    } else {
        registry_.listen_again(*inst);
        instance_listening(*inst->pipe);
    }
    return true;
}

bool broker::on_disconnect(connection& c, std::span<const std::byte> body) {
    protocol::disconnect_request counts;
    if (!protocol::decode(body, counts)) {
        connections_.close(c.id, "malformed disconnect");
        return false;
    }
    instance* inst = registry_.find_instance(c.instance_id);
    if (!inst) return true;
    auto d = decide_disconnect(*inst, counts);
    if (d.event_reason) emit(events_built_.disconnected(*inst, d.event_reason, &counts), inst->server_uid, inst->client_uid);
    release_server_end(*inst);
    inst->state = instance_state::disconnected;
    inst->client_pid = 0;
    inst->client_remote.reset();
    if (d.answer) connections_.reply(c, protocol::encode(protocol::message_type::disconnected, {}));
    return true;
}

void broker::release_server_end(instance& i) { i.server_end.reset(); }

void broker::check_hang_ups(const pipe_entry& pipe) {
    // Asked when someone looks, not watched: a watch woke the broker once more for every
    // connection, at the client's close, only to keep this state for a list nobody asked for.
    for (instance* inst : pipe.instances) {
        if (inst->state != instance_state::connected || !inst->server_end) continue;
        auto ev = os::poll_one(inst->server_end.get(), POLLRDHUP, 0);
        if (ev && (ev.value & (POLLRDHUP | POLLHUP | POLLERR))) {
            release_server_end(*inst);
            inst->state = instance_state::closing;
        }
    }
}

void broker::on_closing(connection& c) {
    monitors_.erase(c.id);
    if (c.kind == conn_kind::waiter) {
        if (pipe_entry* p = registry_.find(c.waiting_for))
            std::erase_if(p->waiters, [&](const waiter& w) { return w.connection == c.id; });
        forget_held(c);
    }
    if (c.kind == conn_kind::instance_link) instance_closed(c);
}

void broker::instance_closed(connection& c) {
    // The instance's handle is closed (or its process died): the instance is gone, and the
    // pipe with it when it was the last.
    instance* inst = registry_.find_instance(c.instance_id);
    if (!inst) return;
    if (inst->state == instance_state::connected || inst->state == instance_state::closing)
        emit(events_built_.disconnected(*inst, "server closed", nullptr), inst->server_uid, inst->client_uid);
    release_server_end(*inst);
    pipe_entry* pipe = inst->pipe;
    std::vector<waiter> orphans;
    // The pipe's facts outlive it a moment: its name is kept for its owner.
    reservation kept;
    kept.security = pipe->security;
    kept.descriptor_bytes = pipe->descriptor_bytes;
    kept.owner_uid = pipe->owner_uid;
    kept.until = clock::now() + cfg_.name_reservation;
    kept.pipe_id = pipe->id;
    kept.display_name = pipe->display_name;
    kept.explicit_dacl = pipe->explicit_dacl;
    std::string key = pipe->key;
    if (!registry_.remove_instance(c.instance_id, orphans)) {
        save_servers(*pipe);
        return;
    }
    // `pipe` is gone from here on.
    connections_.samba_unlisten(key);
    if (cfg_.verbose) log("debug", "pipe gone: " + kept.display_name);
    emit(events_built_.pipe_gone(actor_of(c), kept.display_name, kept.security, kept.owner_uid), c.peer.uid, std::nullopt);
    // The pipe's file becomes its reservation's, so a broker that restarts meanwhile keeps it.
    std::uint64_t id = kept.pipe_id;
    if (cfg_.name_reservation.count() == 0 || !reserved_.keep(key, std::move(kept), cfg_.limits.instances))
        store_.remove(id);
    for (const auto& w : orphans) {
        connection* waiting = connections_.find(w.connection);
        if (!waiting) continue;
        connections_.reply_error(*waiting, win32_error::file_not_found);
        waiting->kind = conn_kind::query;
    }
}

} // namespace npipe::broker
