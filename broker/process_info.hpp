// process_info.hpp - what the broker can say about a peer process for an event: its executable
// (Sysmon's Image), its user's name (User) and a ProcessGuid.
//
// A ProcessGuid names one process for good and is never reused: it is built from this boot's id
// (/proc/sys/kernel/random/boot_id), the process's start time and its pid - a pid is reused,
// a (boot, start time, pid) triple is not. The form is Sysmon's, braces and upper-case hex:
// {BBBBBBBB-SSSS-SSSS-SSSS-PPPPPPPPPPPP} (B: boot id, S: start time in clock ticks, P: pid).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <sys/types.h>

namespace npipe::broker {

struct process_info {
    std::string image; ///< readlink of /proc/PID/exe; empty when it cannot be read
    std::string user;  ///< the uid's passwd name, else the number
    std::string guid;  ///< ProcessGuid
};

class process_directory {
public:
    process_directory();
    /// `start_time` 0: read it now (empty guid when the process is gone).
    process_info describe(pid_t pid, uid_t uid, std::uint64_t start_time = 0);
    std::string user_name(uid_t uid);
    std::string guid(pid_t pid, std::uint64_t start_time) const;

private:
    std::string boot_prefix_; // 8 hex digits of the boot id
    std::map<uid_t, std::string> users_;
    /// Images seen, by (pid, start time): a process that has exited by the time of a later
    /// event (a disconnect) is still named.
    std::map<std::pair<pid_t, std::uint64_t>, std::string> images_;
};

} // namespace npipe::broker
