// runtime_dir.hpp - where a broker lives, and the checks that keep its directory ours.
#pragma once

#include <npipe/types.hpp>

#include <string>
#include <system_error>

namespace npipe::detail {

struct runtime_location {
    std::string dir;
    bool system = false;    ///< system scope: root-owned directory, one broker for all users
    bool autostart = false; ///< start a broker when none answers (user scope only)
};

/// Resolves an endpoint: explicit dir > NPIPE_RUNTIME_DIR > scope default
/// ($XDG_RUNTIME_DIR/npipe or /tmp/npipe-<uid>; /run/npipe for system scope).
runtime_location resolve_location(const endpoint& where);

/// Checks (and with `create`, makes) the directory: a real directory, not a symlink; user scope:
/// owned by this uid, mode 0700; system scope: owned by root, not writable by group or others.
/// ERROR_ACCESS_DENIED with a log line when the checks fail.
std::error_code check_runtime_dir(const std::string& dir, bool system, bool create);

inline std::string broker_socket_path(const std::string& dir) { return dir + "/broker.sock"; }
inline std::string broker_lock_path(const std::string& dir) { return dir + "/broker.lock"; }
inline std::string broker_log_path(const std::string& dir) { return dir + "/npiped.log"; }
/// System scope: the directory of the sockets the broker gives each uid it hears from (a flood
/// from one uid fills only its own accept queue; broker/uid_sockets.hpp), and uid's socket.
inline std::string uid_sockets_dir(const std::string& dir) { return dir + "/by-uid"; }
inline std::string uid_socket_path_in(const std::string& sockets_dir, unsigned uid) {
    return sockets_dir + "/" + std::to_string(uid);
}
/// Held by whoever starts a user's broker: one start per outage, however many find it gone.
inline std::string broker_start_lock_path(const std::string& dir) { return dir + "/start.lock"; }

} // namespace npipe::detail
