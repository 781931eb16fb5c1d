// format.hpp - how the npipe tool shows pipes and the broker: tables for people, JSON for scripts.
#pragma once

#include <npipe/namespace.hpp>
#include <npipe/types.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace npipe::cli {

const char* to_string(pipe_type t) noexcept;      ///< "byte" | "message"
const char* to_string(pipe_direction d) noexcept; ///< "duplex" | "inbound" | "outbound"
const char* to_string(instance_state s) noexcept; ///< "listening" | "connected" | "closing" | "disconnected"

/// One pipe as JSON: name, type, access, max_instances, current_instances, owner_uid,
/// out_buffer_size, in_buffer_size, default_timeout_ms, reject_remote_clients and instances
/// (state, server_pid, client_pid, client_uid; null where there is none).
nlohmann::json to_json(const pipe_status& p);
nlohmann::json to_json(const std::vector<pipe_status>& pipes);
/// pid, uid, scope, runtime_dir, protocol_version, uptime_seconds, pipes, instances,
/// connections_served, control_connections.
nlohmann::json to_json(const broker_status& b);

/// `npipe list`: one row per pipe, an indented row per instance, aligned columns.
/// "(no pipes)" for an empty namespace.
std::string format_pipe_table(const std::vector<pipe_status>& pipes);
/// `npipe info`: the pipe's fields one per line, then its instances as a table.
std::string format_pipe_detail(const pipe_status& p);
/// `npipe broker status`.
std::string format_broker_status(const broker_status& b);

/// "1h 02m 03s", "4m 05s", "12s".
std::string format_duration(std::chrono::seconds s);

} // namespace npipe::cli
