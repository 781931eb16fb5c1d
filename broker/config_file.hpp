// config_file.hpp - npiped's configuration file (YAML). Every key is optional; command-line
// options given explicitly win over the file. Example (all keys):
//
//   events:
//     capacity: 16384            # events kept for `npipe monitor`
//     file: /var/log/npipe/events.jsonl   # JSON lines, one event per line
//     file_max_bytes: 10485760   # rotate when the file would grow past this (0: never)
//     file_keep: 5               # rotated files kept: events.jsonl.1 .. .5
//     journald: false            # also send each event to the systemd journal
//   rules:
//     default_set: true          # the SigmaHQ pipe_created rules shipped with npipe
//     directories: [/etc/npipe/rules]
//     prevent: false             # true: every matching rule refuses the operation
//     prevent_rules: [id, ...]   # rules (by id or title) that refuse rather than only alert
//   limits:
//     connections_per_uid: 4096
//     instances_per_uid: 4096
//     waiters_per_uid: 1024
//     handshake_timeout_ms: 10000
//     idle_timeout_ms: 10000
//     reserve_names_ms: 10000
//
// An unknown key or a value of the wrong type is an error naming the line: a typo in a security
// setting must not pass unnoticed.
#pragma once

#include "config.hpp"

#include <string>
#include <vector>

namespace npipe::broker {

/// Applies the file at `path` to `cfg`. Returns the problems; empty means it was applied.
std::vector<std::string> load_config_file(const std::string& path, config& cfg);

/// The file npiped reads when --config is not given and it exists: /etc/npipe/npiped.yaml for
/// the system scope, $XDG_CONFIG_HOME/npipe/npiped.yaml (else ~/.config/...) for the user scope.
std::string default_config_path(bool system_scope);

} // namespace npipe::broker
