// The broker's use of Sigma rules: which rules it loads, what an event looks like to them, and
// the alert (or refusal) a match brings.
#include "broker.hpp"

#include <npipe/event_fields.hpp>

#include <set>

namespace npipe::broker {

void broker::load_rules() {
    std::vector<std::string> paths;
    if (cfg_.default_rules) {
        std::string dir = sigma::default_rules_directory();
        if (dir.empty()) log("warning", "the default Sigma rules are not installed; only --rules directories are used");
        else paths.push_back(dir);
    }
    paths.insert(paths.end(), cfg_.rule_dirs.begin(), cfg_.rule_dirs.end());
    auto fresh = sigma::load_rules(paths);
    // On a reload, a file that no longer loads keeps the rules it gave before: a typo made
    // while editing a rule must not switch its detection off.
    for (const auto& p : fresh.problems) {
        bool kept = false;
        for (const auto& old : matcher_.rules().rules)
            if (old->file == p.file) {
                fresh.rules.push_back(old);
                kept = true;
            }
        log("warning", "rule skipped: " + sigma::to_string(p) + (kept ? " (its previous version stays in force)" : ""));
    }
    matcher_ = sigma::memo_matcher(std::move(fresh));
    prevent_rules_.clear();
    prevent_rules_.insert(cfg_.prevent_rules.begin(), cfg_.prevent_rules.end());
    rules_may_refuse_ = false;
    for (const auto& r : matcher_.rules().rules) rules_may_refuse_ = rules_may_refuse_ || prevents(*r);
    if (!paths.empty())
        log("info", std::to_string(matcher_.rules().rules.size()) + " Sigma rules loaded" +
                        (cfg_.prevent_all ? " (prevent mode: a match refuses the operation)" : ""));
}

bool broker::prevents(const sigma::rule& r) const {
    return cfg_.prevent_all || prevent_rules_.count(r.id) || prevent_rules_.count(r.title);
}

rule_hits broker::match_rules(const nlohmann::json& e) const {
    return matcher_.matching([&](std::string_view field) -> std::optional<std::string> {
        // Sysmon's own name for the event number: 17 for every create, 18 for a connect.
        if (field == "EventID") return e.value(event_field::event_type, "") == event_type::connect_pipe ? "18" : "17";
        auto it = e.find(std::string(field));
        if (it == e.end() || it->is_null()) return std::nullopt;
        return it->is_string() ? it->get<std::string>() : it->dump();
    });
}

rule_hits broker::screen(const nlohmann::json& probe, const std::string& what, pid_t pid, uid_t uid,
                         std::optional<uid_t> peer_uid, std::optional<refusal>& prevented) {
    rule_hits hits = match_rules(probe);
    for (const auto& r : hits) {
        if (!prevents(*r)) continue;
        log("warning", what + " by pid " + std::to_string(pid) + " prevented by Sigma rule '" + r->title + "' (" +
                           r->id + ")");
        emit_alerts(probe, hits, true, uid, peer_uid);
        int event = probe.value(event_field::event_type, "") == event_type::connect_pipe ? event_id::open_denied
                                                                                         : event_id::create_denied;
        prevented = refusal{win32_error::access_denied, event,
                            "prevented by Sigma rule '" + r->title + "' (" + r->id + ", " + r->author + ")", false, false};
        break;
    }
    return hits;
}

void broker::emit_alerts(const nlohmann::json& trigger, const rule_hits& hits, bool prevented, uid_t uid,
                         std::optional<uid_t> peer_uid) {
    for (const auto& r : hits) emit(events_built_.alert(trigger, *r, prevented, prevents(*r)), uid, peer_uid);
}

} // namespace npipe::broker
