// config.hpp - what npiped is told: where it serves, its limits and timeouts, its event sinks
// and Sigma rules. Filled by options.cpp (command line and configuration file).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace npipe::broker {

/// What one uid may hold at once, so a flood from one user cannot starve another.
/// Queued bytes are bounded per connection (a request is at most 64 KiB) and descriptors
/// per request (one, on create_instance), so these bound them per uid too.
struct per_uid_limits {
    unsigned connections = 4096; ///< open control connections (instance links included)
    unsigned instances = 4096;   ///< server instances
    unsigned waiters = 1024;     ///< clients waiting in WaitNamedPipe
    /// Security descriptors (their SDDL's bytes) of the uid's pipes and reserved names: the
    /// broker keeps each in memory and on disk, and one may be 65,535 bytes of ACL.
    unsigned descriptor_bytes = 1u << 20;
};

struct config {
    std::string runtime_dir;
    bool system_scope = false;
    std::chrono::seconds idle_exit{0};          ///< exit after this long with no pipes and no clients (0 = never)
    std::chrono::milliseconds handshake_timeout{10000}; ///< a fresh connection must finish its request by then
    std::chrono::milliseconds idle_timeout{10000};      ///< an answered connection must be closed by then
    int ready_fd = -1;                          ///< written to (then closed) once the socket listens
    bool verbose = false;
    per_uid_limits limits;
    /// After a pipe's last instance closes, its name stays reserved this long for whoever may
    /// create instances of it (its DACL's FILE_CREATE_PIPE_INSTANCE): a server that closes its
    /// only instance and makes the next one does not lose its name to a squatter meanwhile.
    std::chrono::milliseconds name_reservation{10000};
    /// After a restart, a CreateFile or WaitNamedPipe of a pipe whose servers still run but have
    /// not registered again waits for them this long at most (they take well under a second).
    std::chrono::milliseconds restore_wait{5000};
    /// Events kept for `npipe monitor` (each a JSON line of a few hundred bytes).
    std::size_t event_capacity = 16384;
    /// Sinks besides the ring: a JSON-lines file rotated by size, the systemd journal.
    std::string event_file;
    std::uint64_t event_file_max_bytes = 10 * 1024 * 1024;
    unsigned event_file_keep = 5;
    bool journald = false;
    /// Sigma rules: the shipped set, more directories, and which matches refuse the operation.
    bool default_rules = true;
    std::vector<std::string> rule_dirs;
    bool prevent_all = false;
    std::vector<std::string> prevent_rules; ///< rule ids or titles
    /// Serve exported pipes to SMB clients through Samba's smbd (samba_listeners.hpp): a socket
    /// per exported pipe in `samba_dir`, smbd's `<ncalrpc dir>/np`. The configuration file's
    /// samba.serve counts in the system scope only; --samba in any scope (tests).
    bool samba = false;
    std::string samba_dir = default_samba_dir;
    /// The impersonation level every SMB client allows. smbd does not pass on the SQOS of the
    /// SMB CREATE, so the client's own choice is unknown; Windows, for remote clients, ignores
    /// the client's flags too and takes the level from the server's side (Platform SDK,
    /// "Impersonation Levels": "When the named pipe, RPC, or DDE connection is remote, the flags
    /// passed to CreateFile to set the impersonation level are ignored"). npipe's side is this
    /// setting: identification (npipe's default, as for a local client that says nothing), or
    /// impersonation (Windows NT's fixed answer) with --samba-impersonation or
    /// samba.impersonation: true.
    bool samba_impersonation = false;
    /// Debian's `ncalrpc dir` plus /np; elsewhere `testparm -s --parameter-name='ncalrpc dir'`
    /// says the directory (the broker runs no program to ask).
    static constexpr const char* default_samba_dir = "/run/samba/ncalrpc/np";
};

} // namespace npipe::broker
