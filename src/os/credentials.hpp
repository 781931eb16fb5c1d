// os/credentials.hpp - the calling thread's own credentials, for impersonation.
//
// Linux keeps uids, gids and supplementary groups per thread in the kernel; glibc's setresuid()
// & co. copy every change to all threads of the process. Impersonation must change the calling
// thread alone, so these functions use the raw system calls.
#pragma once

#include "os/fd.hpp"

#include <span>
#include <sys/types.h>
#include <vector>

namespace npipe::os {

struct thread_credentials {
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    std::vector<gid_t> groups;
};

/// The calling thread's credentials.
sys_result<thread_credentials> current_thread_credentials() noexcept;

/// The calling thread's effective uid (the thread's own: an impersonating thread's client).
uid_t thread_effective_uid() noexcept;
/// The calling thread's kernel thread id (gettid).
pid_t thread_id() noexcept;

/// True when the calling thread holds CAP_SETUID and CAP_SETGID in its effective set.
bool can_change_identity() noexcept;

/// Makes the calling thread act as `uid`/`gid` with `groups` (effective ids and supplementary
/// groups; the real and saved ids stay, so the thread can come back). Groups and gid change
/// first, while the thread still holds CAP_SETGID. On failure the thread is left as it was.
std::error_code assume_identity(uid_t uid, gid_t gid, std::span<const gid_t> groups) noexcept;

/// Puts the calling thread back to `saved` (from current_thread_credentials before
/// assume_identity): uid first, which brings back the capabilities needed for the rest.
std::error_code restore_identity(const thread_credentials& saved) noexcept;

} // namespace npipe::os
