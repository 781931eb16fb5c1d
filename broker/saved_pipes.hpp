// saved_pipes.hpp - what a broker leaves for the broker after it: every pipe's name, id, owner,
// security descriptor and the server processes holding its instances, one small JSON file per
// pipe in <runtime dir>/pipes/. A pipe's file stays while its name is reserved after its last
// instance closed, and goes with the reservation. A broker that starts reserves those names for
// as long as one of those processes runs (or until they re-register), and every one of them for
// the reservation time at least, so a restart opens no window in which someone else could take
// a name (docs/SECURITY.md, hostile case 9).
//
// The directory lives in the runtime directory (root-owned in system scope, the user's 0700 one
// otherwise) and is itself 0700: nobody but the broker's user writes or reads it.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <system_error>
#include <vector>

namespace npipe::broker {

/// One process for good: a pid and when it started (a later process with the same pid differs).
struct server_process {
    pid_t pid = 0;
    std::uint64_t start_time = 0;
    friend bool operator==(const server_process&, const server_process&) = default;
    auto operator<=>(const server_process&) const = default;
};

struct saved_pipe {
    std::uint64_t id = 0;
    std::string key;          // canonical NAME
    std::string display_name; // as its first creator spelled it
    uid_t owner_uid = 0;
    std::string sddl;
    std::vector<server_process> servers;
    /// The DACL was given (pipe_entry::explicit_dacl): without it npipe's default DACL grants
    /// SMB clients nothing, so a restart must not forget it. A file without the key (an older
    /// broker's) reads as false: the safe side.
    bool explicit_dacl = false;
};

class pipe_store {
public:
    /// `runtime_dir`/pipes. Nothing touches the disk before open().
    explicit pipe_store(const std::string& runtime_dir);

    /// Creates the directory (0700) or checks the one there: a real directory of this user.
    std::error_code open();
    /// Writes the pipe's file atomically (a temporary file renamed over it).
    std::error_code save(const saved_pipe& pipe) const;
    void remove(std::uint64_t id) const;
    /// Every saved pipe. A file that does not parse is deleted and named in `problems`.
    std::vector<saved_pipe> load(std::vector<std::string>& problems) const;

private:
    std::string path_of(std::uint64_t id) const;
    std::string dir_;
    bool open_ = false;
};

} // namespace npipe::broker
