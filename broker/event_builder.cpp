#include "event_builder.hpp"

#include <npipe/event_fields.hpp>

#include <chrono>

namespace npipe::broker {

namespace f = event_field;
namespace type = event_type;

const char* event_builder::level_name(std::uint8_t level) {
    switch (level) {
    case 0: return "Anonymous";
    case 1: return "Identification";
    case 2: return "Impersonation";
    case 3: return "Delegation";
    }
    return "Unknown";
}

std::string event_builder::rule_names(const rule_hits& hits) {
    std::string names;
    for (const auto& r : hits) names += (names.empty() ? "" : "; ") + (r->title.empty() ? r->id : r->title);
    return names;
}

nlohmann::json event_builder::base(int id, const char* kind, const actor& who) {
    nlohmann::json e;
    e[f::event_id] = id;
    e[f::event_type] = kind;
    auto now = std::chrono::system_clock::now();
    e[f::utc_time] = utc_time(now);
    e[f::unix_time_ms] = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto info = processes_.describe(who.pid, who.uid, who.start_time);
    e[f::process_guid] = info.guid;
    e[f::process_id] = who.pid;
    e[f::image] = info.image;
    e[f::user] = info.user;
    e[f::uid] = who.uid;
    if (!who.gids.empty()) e[f::gids] = who.gids;
    e[f::remote] = who.remote.has_value();
    if (who.remote) add_remote(e, *who.remote);
    e[f::result] = "success";
    return e;
}

void event_builder::add_remote(nlohmann::json& e, const remote_peer& r) {
    e[f::remote_account] = r.account;
    e[f::remote_computer] = r.computer;
    e[f::remote_address] = r.address;
    e[f::remote_port] = r.port;
}

void event_builder::add_pipe(nlohmann::json& e, const pipe_entry& p) const {
    e[f::pipe_name] = sysmon_pipe_name(p.display_name);
    e[f::owner_sid] = p.security.owner ? p.security.owner->to_string() : sid::user(p.owner_uid).to_string();
    e[f::sddl] = p.security.to_sddl();
    e[f::instances] = p.instances.size();
    e[f::max_instances] = p.max_instances;
    e[f::pipe_type] = p.type == 1 ? "Message" : "Byte";
}

void event_builder::add_peer(nlohmann::json& e, pid_t pid, uid_t uid, std::uint64_t start_time) {
    auto info = processes_.describe(pid, uid, start_time);
    e[f::peer_process_id] = pid;
    e[f::peer_process_guid] = info.guid;
    e[f::peer_uid] = uid;
    e[f::peer_image] = info.image;
    e[f::peer_user] = info.user;
}

nlohmann::json event_builder::broker_started(const actor& self, bool system_scope, const std::string& runtime_dir,
                                             std::size_t kept_names) {
    auto e = base(event_id::broker_started, type::broker_started, self);
    e[f::scope] = system_scope ? "system" : "user";
    e[f::runtime_directory] = runtime_dir;
    e[f::kept_names] = kept_names;
    return e;
}

nlohmann::json event_builder::broker_stopped(const actor& self, std::size_t pipes) {
    auto e = base(event_id::broker_stopped, type::broker_stopped, self);
    e[f::pipes] = pipes;
    return e;
}

nlohmann::json event_builder::created(const actor& who, const pipe_entry& p, bool new_pipe, bool reregistered,
                                      const rule_hits& hits) {
    auto e = base(new_pipe ? event_id::pipe_created : event_id::instance_created, type::create_pipe, who);
    add_pipe(e, p);
    if (reregistered) e[f::reason] = "re-registered after a broker restart";
    if (!hits.empty()) e[f::rule_name] = rule_names(hits);
    return e;
}

nlohmann::json event_builder::create_probe(const actor& who, const pipe_entry* existing, const std::string& name) {
    auto e = base(existing ? event_id::instance_created : event_id::pipe_created, type::create_pipe, who);
    if (existing) add_pipe(e, *existing);
    else e[f::pipe_name] = sysmon_pipe_name(name);
    return e;
}

nlohmann::json event_builder::create_refused(const actor& who, const refusal& r, const pipe_entry* existing,
                                             const std::string& name) {
    bool squatting = r.event == event_id::squatting_attempt;
    auto e = base(r.event, squatting ? type::squatting_attempt : type::create_denied, who);
    if (existing) add_pipe(e, *existing);
    else e[f::pipe_name] = sysmon_pipe_name(name);
    e[f::result] = "denied";
    e[f::reason] = r.reason;
    e[f::error] = win32_category().message(static_cast<int>(r.error));
    return e;
}

nlohmann::json event_builder::connect_probe(const actor& client, const pipe_entry& p, const instance& server,
                                            std::uint8_t level) {
    auto e = base(event_id::client_connected, type::connect_pipe, client);
    add_pipe(e, p);
    add_peer(e, server.server_pid, server.server_uid, server.server_start);
    e[f::impersonation_level] = level_name(level);
    return e;
}

nlohmann::json event_builder::connected(const actor& client, const pipe_entry& p, const instance& server,
                                        std::uint8_t level, std::uint32_t granted, const rule_hits& hits) {
    auto e = connect_probe(client, p, server, level);
    e[f::granted_access] = access_mask_names(granted);
    if (!hits.empty()) e[f::rule_name] = rule_names(hits);
    return e;
}

nlohmann::json event_builder::open_denied(const actor& who, const pipe_entry& p, const std::string& reason,
                                          std::uint32_t desired, std::uint8_t level) {
    auto e = base(event_id::open_denied, type::open_denied, who);
    add_pipe(e, p);
    e[f::result] = "denied";
    e[f::reason] = reason;
    e[f::desired_access] = access_mask_names(desired);
    e[f::impersonation_level] = level_name(level);
    return e;
}

nlohmann::json event_builder::disconnected(const instance& i, const char* reason,
                                           const protocol::disconnect_request* counts) {
    // The server end is the actor; its groups are not kept per instance.
    auto e = base(event_id::disconnected, type::disconnect_pipe,
                  actor{i.server_pid, i.server_uid, {}, i.server_start, {}});
    add_pipe(e, *i.pipe);
    add_peer(e, i.client_pid, i.client_uid, i.client_start);
    if (i.client_remote) add_remote(e, *i.client_remote); // the client is the remote end here
    e[f::reason] = reason;
    e[f::duration_ms] = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - i.connected_at).count();
    if (counts) {
        e[f::bytes_from_client] = counts->bytes_from_client;
        e[f::bytes_to_client] = counts->bytes_to_client;
    }
    return e;
}

nlohmann::json event_builder::wait_timed_out(const actor& who, const pipe_entry& p) {
    auto e = base(event_id::wait_timed_out, type::wait_timeout, who);
    add_pipe(e, p);
    e[f::result] = "timeout";
    e[f::reason] = "no instance listened in time (ERROR_SEM_TIMEOUT)";
    return e;
}

nlohmann::json event_builder::pipe_gone(const actor& who, const std::string& display_name,
                                        const security_descriptor& sd, uid_t owner_uid) {
    auto e = base(event_id::pipe_gone, type::pipe_gone, who);
    e[f::pipe_name] = sysmon_pipe_name(display_name);
    e[f::owner_sid] = sd.owner ? sd.owner->to_string() : sid::user(owner_uid).to_string();
    e[f::sddl] = sd.to_sddl();
    e[f::instances] = 0;
    return e;
}

nlohmann::json event_builder::security_changed(const actor& who, const pipe_entry& p, const std::string& before) {
    auto e = base(event_id::security_changed, type::security_change, who);
    add_pipe(e, p);
    e[f::previous_sddl] = before;
    return e;
}

nlohmann::json event_builder::security_change_denied(const actor& who, const pipe_entry& p, const std::string& reason) {
    auto e = base(event_id::security_changed, type::security_change, who);
    add_pipe(e, p);
    e[f::result] = "denied";
    e[f::reason] = reason;
    return e;
}

nlohmann::json event_builder::alert(const nlohmann::json& trigger, const sigma::rule& r, bool prevented, bool prevents) {
    nlohmann::json e = trigger;
    e.erase(f::sequence);
    e[f::event_id] = event_id::rule_matched;
    e[f::trigger_event_type] = trigger.value(f::event_type, "");
    e[f::event_type] = type::alert;
    e[f::rule_name] = r.title.empty() ? r.id : r.title;
    // The Detection Rule License: every view of a match names the rule and its author.
    e[f::rule_title] = r.title;
    e[f::rule_id] = r.id;
    e[f::rule_author] = r.author;
    e[f::rule_level] = r.level;
    e[f::rule_file] = r.file;
    e[f::action] = prevented && prevents ? "prevented" : "alert";
    e[f::result] = prevented ? "denied" : "success";
    return e;
}

} // namespace npipe::broker
