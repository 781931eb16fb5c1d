// The broker's use of Sigma rules: which rules it loads, what an event looks like to them, and
// the alert (or refusal) a match brings.
#include "broker.hpp"

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
        for (const auto& old : rules_.rules)
            if (old->file == p.file) {
                fresh.rules.push_back(old);
                kept = true;
            }
        log("warning", "rule skipped: " + sigma::to_string(p) + (kept ? " (its previous version stays in force)" : ""));
    }
    rules_ = std::move(fresh);
    prevent_rules_.clear();
    prevent_rules_.insert(cfg_.prevent_rules.begin(), cfg_.prevent_rules.end());
    if (!paths.empty())
        log("info", std::to_string(rules_.rules.size()) + " Sigma rules loaded" +
                        (cfg_.prevent_all ? " (prevent mode: a match refuses the operation)" : ""));
}

bool broker::prevents(const sigma::rule& r) const {
    return cfg_.prevent_all || prevent_rules_.count(r.id) || prevent_rules_.count(r.title);
}

std::vector<std::shared_ptr<const sigma::rule>> broker::match_rules(const nlohmann::json& e) const {
    if (rules_.rules.empty()) return {};
    return sigma::matching(rules_, [&](std::string_view field) -> std::optional<std::string> {
        // Sysmon's own name for the event number: 17 for every create, 18 for a connect.
        if (field == "EventID") return e.value("EventType", "") == "ConnectPipe" ? "18" : "17";
        auto it = e.find(std::string(field));
        if (it == e.end() || it->is_null()) return std::nullopt;
        return it->is_string() ? it->get<std::string>() : it->dump();
    });
}

std::string broker::rule_names(const std::vector<std::shared_ptr<const sigma::rule>>& hits) {
    std::string names;
    for (const auto& r : hits) names += (names.empty() ? "" : "; ") + (r->title.empty() ? r->id : r->title);
    return names;
}

void broker::emit_alerts(const nlohmann::json& trigger, const std::vector<std::shared_ptr<const sigma::rule>>& hits,
                         bool prevented, uid_t uid, std::optional<uid_t> peer_uid) {
    for (const auto& r : hits) {
        nlohmann::json e = trigger;
        e.erase("Sequence");
        e["EventId"] = event_id::rule_matched;
        e["TriggerEventType"] = trigger.value("EventType", "");
        e["EventType"] = "Alert";
        e["RuleName"] = r->title.empty() ? r->id : r->title;
        // The Detection Rule License: every view of a match names the rule and its author.
        e["RuleTitle"] = r->title;
        e["RuleId"] = r->id;
        e["RuleAuthor"] = r->author;
        e["RuleLevel"] = r->level;
        e["RuleFile"] = r->file;
        e["Action"] = prevented && prevents(*r) ? "prevented" : "alert";
        e["Result"] = prevented ? "denied" : "success";
        emit(std::move(e), uid, peer_uid);
    }
}

} // namespace npipe::broker
