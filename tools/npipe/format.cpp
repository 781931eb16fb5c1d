// format.cpp - tables for people, JSON for scripts.
#include "format.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

namespace npipe::cli {
namespace {

/// Columns aligned on the widest cell; the last column is not padded.
class text_table {
public:
    explicit text_table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

    std::string render() const {
        std::vector<std::size_t> width;
        for (const auto& row : rows_) {
            if (width.size() < row.size()) width.resize(row.size(), 0);
            for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
        }
        std::string out;
        for (const auto& row : rows_) {
            std::string line;
            for (std::size_t i = 0; i < row.size(); ++i) {
                line += row[i];
                if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
            }
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out += line;
            out += '\n';
        }
        return out;
    }

private:
    std::vector<std::vector<std::string>> rows_;
};

std::optional<std::string> user_name(uid_t uid) {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found || !found->pw_name) return std::nullopt;
    return std::string(found->pw_name);
}

std::string uid_text(uid_t uid) {
    auto name = user_name(uid);
    return name ? fmt::format("{} ({})", uid, *name) : fmt::format("{}", uid);
}

std::string max_text(unsigned max_instances) {
    return max_instances >= unlimited_instances ? std::string("unlimited") : fmt::format("{}", max_instances);
}

template <typename T>
std::string optional_text(const std::optional<T>& v) {
    return v ? fmt::format("{}", *v) : std::string("-");
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

std::vector<std::string> instance_cells(std::size_t index, const instance_status& i) {
    return {fmt::format("#{}", index), to_string(i.state), fmt::format("{}", i.server_pid),
            optional_text(i.client_pid), optional_text(i.client_uid)};
}

} // namespace

const char* to_string(pipe_type t) noexcept { return t == pipe_type::message ? "message" : "byte"; }

const char* to_string(pipe_direction d) noexcept {
    switch (d) {
    case pipe_direction::inbound: return "inbound";
    case pipe_direction::outbound: return "outbound";
    case pipe_direction::duplex: return "duplex";
    }
    return "unknown";
}

const char* to_string(instance_state s) noexcept {
    switch (s) {
    case instance_state::listening: return "listening";
    case instance_state::connected: return "connected";
    case instance_state::closing: return "closing";
    case instance_state::disconnected: return "disconnected";
    }
    return "unknown";
}

nlohmann::json to_json(const pipe_status& p) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : p.instances) {
        instances.push_back({{"state", to_string(i.state)},
                             {"server_pid", i.server_pid},
                             {"server_uid", i.server_uid},
                             {"client_pid", optional_json(i.client_pid)},
                             {"client_uid", optional_json(i.client_uid)}});
    }
    return {{"name", p.name},
            {"type", to_string(p.type)},
            {"access", to_string(p.direction)},
            {"max_instances", p.max_instances},
            {"current_instances", p.instances.size()},
            {"owner_uid", p.owner_uid},
            {"owner_sid", p.owner_sid},
            {"sddl", p.sddl},
            {"remote", p.remote},
            {"out_buffer_size", p.out_buffer_size},
            {"in_buffer_size", p.in_buffer_size},
            {"default_timeout_ms", p.default_timeout.count()},
            {"reject_remote_clients", p.reject_remote_clients},
            {"instances", std::move(instances)}};
}

nlohmann::json to_json(const std::vector<pipe_status>& pipes) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : pipes) out.push_back(to_json(p));
    return out;
}

nlohmann::json to_json(const broker_status& b) {
    return {{"pid", b.pid},
            {"uid", b.uid},
            {"scope", b.system_scope ? "system" : "user"},
            {"runtime_dir", b.runtime_dir},
            {"protocol_version", b.protocol_version},
            {"uptime_seconds", b.uptime.count()},
            {"pipes", b.pipes},
            {"instances", b.instances},
            {"connections_served", b.connections_served},
            {"control_connections", b.control_connections},
            {"limits",
             {{"connections_per_uid", b.limit_connections_per_uid},
              {"instances_per_uid", b.limit_instances_per_uid},
              {"waiters_per_uid", b.limit_waiters_per_uid},
              {"descriptor_bytes_per_uid", b.limit_descriptor_bytes_per_uid},
              {"handshake_timeout_ms", b.handshake_timeout.count()},
              {"idle_timeout_ms", b.idle_timeout.count()}}},
            {"refused_by_limits", b.refused_by_limits},
            {"waiters", b.waiters},
            {"events",
             {{"emitted", b.events},
              {"retained", b.events_retained},
              {"capacity", b.event_capacity},
              {"lost", b.events_lost},
              {"monitors", b.monitors}}}};
}

std::string format_pipe_table(const std::vector<pipe_status>& pipes) {
    if (pipes.empty()) return "(no pipes)\n";
    text_table t({"NAME", "TYPE", "ACCESS", "INSTANCES", "OWNER", "STATE", "SERVER", "CLIENT", "CLIENT-UID"});
    for (const auto& p : pipes) {
        t.add({p.name, to_string(p.type), to_string(p.direction),
               fmt::format("{}/{}", p.instances.size(), max_text(p.max_instances)), uid_text(p.owner_uid)});
        for (std::size_t n = 0; n < p.instances.size(); ++n) {
            auto cells = instance_cells(n, p.instances[n]);
            t.add({"  " + cells[0], "", "", "", "", cells[1], cells[2], cells[3], cells[4]});
        }
    }
    return t.render();
}

std::string format_pipe_detail(const pipe_status& p) {
    std::string timeout = p.default_timeout.count() == 0 ? std::string("0 (WaitNamedPipe default: 50 ms)")
                                                          : fmt::format("{} ms", p.default_timeout.count());
    text_table fields({"name:", p.name});
    fields.add({"type:", to_string(p.type)});
    fields.add({"access:", to_string(p.direction)});
    fields.add({"instances:", fmt::format("{} of {}", p.instances.size(), max_text(p.max_instances))});
    fields.add({"owner uid:", uid_text(p.owner_uid)});
    fields.add({"owner sid:", p.owner_sid});
    fields.add({"security:", p.sddl});
    fields.add({"out buffer size:", fmt::format("{}", p.out_buffer_size)});
    fields.add({"in buffer size:", fmt::format("{}", p.in_buffer_size)});
    fields.add({"default timeout:", timeout});
    fields.add({"remote clients:", p.reject_remote_clients ? "rejected" : "accepted"});
    std::string out = fields.render();
    if (!p.instances.empty()) {
        text_table t({"INSTANCE", "STATE", "SERVER", "CLIENT", "CLIENT-UID"});
        for (std::size_t n = 0; n < p.instances.size(); ++n) t.add(instance_cells(n, p.instances[n]));
        out += '\n';
        out += t.render();
    }
    return out;
}

std::string format_broker_status(const broker_status& b) {
    text_table t({"pid:", fmt::format("{}", b.pid)});
    t.add({"uid:", uid_text(b.uid)});
    t.add({"scope:", b.system_scope ? "system" : "user"});
    t.add({"runtime dir:", b.runtime_dir});
    t.add({"protocol version:", fmt::format("{}", b.protocol_version)});
    t.add({"uptime:", format_duration(b.uptime)});
    t.add({"pipes:", fmt::format("{}", b.pipes)});
    t.add({"instances:", fmt::format("{}", b.instances)});
    t.add({"connections served:", fmt::format("{}", b.connections_served)});
    t.add({"control connections:", fmt::format("{}", b.control_connections)});
    t.add({"limits per uid:", fmt::format("{} connections, {} instances, {} waiting clients, {} bytes of "
                                          "security descriptors",
                                          b.limit_connections_per_uid, b.limit_instances_per_uid,
                                          b.limit_waiters_per_uid, b.limit_descriptor_bytes_per_uid)});
    t.add({"handshake timeout:", fmt::format("{} ms", b.handshake_timeout.count())});
    t.add({"idle timeout:", fmt::format("{} ms", b.idle_timeout.count())});
    t.add({"events:", fmt::format("{} emitted, {} kept (room for {}), {} lost by slow monitors, {} monitors",
                                  b.events, b.events_retained, b.event_capacity, b.events_lost, b.monitors)});
    t.add({"waiting clients:", fmt::format("{}", b.waiters)});
    t.add({"refused by limits:", fmt::format("{}", b.refused_by_limits)});
    return t.render();
}

std::string format_duration(std::chrono::seconds s) {
    auto total = s.count() < 0 ? 0 : s.count();
    auto days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60, seconds = total % 60;
    if (days > 0) return fmt::format("{}d {:02}h {:02}m {:02}s", days, hours, minutes, seconds);
    if (hours > 0) return fmt::format("{}h {:02}m {:02}s", hours, minutes, seconds);
    if (minutes > 0) return fmt::format("{}m {:02}s", minutes, seconds);
    return fmt::format("{}s", seconds);
}

} // namespace npipe::cli
