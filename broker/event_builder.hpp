// event_builder.hpp - the broker's events, one typed builder per kind, with the field names of
// <npipe/event_fields.hpp>. The builders only build: the broker emits (events.hpp's ring, the
// sinks, the monitors).
#pragma once

#include "decisions.hpp"
#include "events.hpp"
#include "process_info.hpp"
#include "registry.hpp"

#include "sigma/sigma.hpp"

#include <nlohmann/json.hpp>

#include <memory>
#include <vector>

namespace npipe::broker {

/// The process an event is about: groups empty when not known, start time 0 when gone.
struct actor {
    pid_t pid = 0;
    uid_t uid = 0;
    std::vector<gid_t> gids;
    std::uint64_t start_time = 0;
    std::optional<remote_peer> remote; ///< an SMB client (pid 0): who and where smbd says it is
};

using rule_hits = std::vector<std::shared_ptr<const sigma::rule>>;

class event_builder {
public:
    explicit event_builder(process_directory& processes) : processes_(processes) {}

    /// The fields every event has, done by `who`.
    nlohmann::json base(int id, const char* type, const actor& who);

    nlohmann::json broker_started(const actor& self, bool system_scope, const std::string& runtime_dir,
                                  std::size_t kept_names);
    nlohmann::json broker_stopped(const actor& self, std::size_t pipes);
    /// CreatePipe: Sysmon logs EID 17 for every CreateNamedPipe; EventId tells a new pipe apart.
    nlohmann::json created(const actor& who, const pipe_entry& p, bool new_pipe, bool reregistered,
                           const rule_hits& hits);
    /// What a Sigma rule sees before a create happens (the pipe exists, or only its name).
    nlohmann::json create_probe(const actor& who, const pipe_entry* existing, const std::string& name);
    /// A create refused: squatting or another reason (the refusal's event kind).
    nlohmann::json create_refused(const actor& who, const refusal& r, const pipe_entry* existing,
                                  const std::string& name);
    nlohmann::json connected(const actor& client, const pipe_entry& p, const instance& server, std::uint8_t level,
                             std::uint32_t granted, const rule_hits& hits);
    /// What a Sigma rule sees before a connect happens.
    nlohmann::json connect_probe(const actor& client, const pipe_entry& p, const instance& server, std::uint8_t level);
    nlohmann::json open_denied(const actor& who, const pipe_entry& p, const std::string& reason, std::uint32_t desired,
                               std::uint8_t level);
    /// The connection's end: counts (when the server gave them) and how long it lasted.
    nlohmann::json disconnected(const instance& i, const char* reason, const protocol::disconnect_request* counts);
    nlohmann::json wait_timed_out(const actor& who, const pipe_entry& p);
    nlohmann::json pipe_gone(const actor& who, const std::string& display_name, const security_descriptor& sd,
                             uid_t owner_uid);
    nlohmann::json security_changed(const actor& who, const pipe_entry& p, const std::string& before);
    nlohmann::json security_change_denied(const actor& who, const pipe_entry& p, const std::string& reason);
    /// One Alert per rule that matched `trigger` (Action: prevented or alert).
    nlohmann::json alert(const nlohmann::json& trigger, const sigma::rule& r, bool prevented, bool prevents);

    static std::string rule_names(const rule_hits& hits);
    static const char* level_name(std::uint8_t level);

private:
    void add_pipe(nlohmann::json& e, const pipe_entry& p) const;
    void add_peer(nlohmann::json& e, pid_t pid, uid_t uid, std::uint64_t start_time);
    static void add_remote(nlohmann::json& e, const remote_peer& r);
    process_directory& processes_;
};

} // namespace npipe::broker
