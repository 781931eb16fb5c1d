#include "config_file.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <functional>
#include <map>

namespace npipe::broker {
namespace {

std::string where(const YAML::Node& n) { return "line " + std::to_string(n.Mark().line + 1); }

/// Walks one mapping: each known key's handler reads its value; anything else is a problem.
void walk(const YAML::Node& map, const std::string& section,
          const std::map<std::string, std::function<void(const YAML::Node&)>>& handlers,
          std::vector<std::string>& problems) {
    if (!map.IsMap()) {
        problems.push_back(where(map) + ": '" + section + "' must be a mapping");
        return;
    }
    for (auto it = map.begin(); it != map.end(); ++it) {
        std::string key = it->first.as<std::string>();
        auto h = handlers.find(key);
        if (h == handlers.end()) {
            problems.push_back(where(it->first) + ": unknown key '" + (section.empty() ? "" : section + ".") + key + "'");
            continue;
        }
        try {
            h->second(it->second);
        } catch (const YAML::Exception&) {
            problems.push_back(where(it->second) + ": '" + key + "' has a value of the wrong type");
        }
    }
}

template <class T> std::function<void(const YAML::Node&)> into(T& target) {
    return [&target](const YAML::Node& n) { target = n.as<T>(); };
}

template <class T> std::function<void(const YAML::Node&)> millis(T& target) {
    return [&target](const YAML::Node& n) { target = T(n.as<long long>()); };
}

} // namespace

std::vector<std::string> load_config_file(const std::string& path, config& cfg) {
    std::vector<std::string> problems;
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        return {path + ": cannot be read"};
    } catch (const YAML::ParserException& e) {
        return {path + ": line " + std::to_string(e.mark.line + 1) + ": " + e.msg};
    }
    if (root.IsNull()) return {};
    std::vector<std::string> directories;
    walk(root, "",
         {{"events",
           [&](const YAML::Node& n) {
               walk(n, "events",
                    {{"capacity", into(cfg.event_capacity)},
                     {"file", into(cfg.event_file)},
                     {"file_max_bytes", into(cfg.event_file_max_bytes)},
                     {"file_keep", into(cfg.event_file_keep)},
                     {"journald", into(cfg.journald)}},
                    problems);
           }},
          {"rules",
           [&](const YAML::Node& n) {
               walk(n, "rules",
                    {{"default_set", into(cfg.default_rules)},
                     {"directories", into(directories)},
                     {"prevent", into(cfg.prevent_all)},
                     {"prevent_rules", into(cfg.prevent_rules)}},
                    problems);
           }},
          {"samba",
           [&](const YAML::Node& n) {
               walk(n, "samba",
                    {{"serve", into(cfg.samba)},
                     {"dir", into(cfg.samba_dir)},
                     {"impersonation", into(cfg.samba_impersonation)}},
                    problems);
           }},
          {"limits",
           [&](const YAML::Node& n) {
               walk(n, "limits",
                    {{"connections_per_uid", into(cfg.limits.connections)},
                     {"instances_per_uid", into(cfg.limits.instances)},
                     {"waiters_per_uid", into(cfg.limits.waiters)},
                     {"descriptor_bytes_per_uid", into(cfg.limits.descriptor_bytes)},
                     {"handshake_timeout_ms", millis(cfg.handshake_timeout)},
                     {"idle_timeout_ms", millis(cfg.idle_timeout)},
                     {"reserve_names_ms", millis(cfg.name_reservation)}},
                    problems);
           }}},
         problems);
    cfg.rule_dirs.insert(cfg.rule_dirs.end(), directories.begin(), directories.end());
    if (cfg.event_capacity == 0) problems.push_back("events.capacity must be at least 1");
    if (cfg.samba_dir.empty() || cfg.samba_dir.front() != '/') problems.push_back("samba.dir must be an absolute path");
    for (auto& p : problems) p = path + ": " + p;
    return problems;
}

std::string default_config_path(bool system_scope) {
    if (system_scope) return "/etc/npipe/npiped.yaml";
    if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg && *xdg) return std::string(xdg) + "/npipe/npiped.yaml";
    if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.config/npipe/npiped.yaml";
    return {};
}

} // namespace npipe::broker
