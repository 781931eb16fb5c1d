// os/cpu.hpp - which processors there are and which ones a process's threads may run on: what
// Get/SetProcessAffinityMask and GetSystemInfo need from the kernel. In the style of os/fd.hpp:
// EINTR is retried, errno comes back as a generic-category error_code.
//
// Masks are 64-bit, bit N for CPU N, as a Win32 affinity mask (one processor group): CPUs
// numbered 64 and up are not represented.
#pragma once

#include "os/fd.hpp"

#include <cstdint>
#include <sys/types.h>
#include <vector>

namespace npipe::os {

/// The CPUs that are online (/sys/devices/system/cpu/online); when that cannot be read, the
/// CPUs this process may run on.
sys_result<std::uint64_t> online_cpus() noexcept;

/// The CPUs thread `tid` may run on (sched_getaffinity; 0 is the calling thread).
sys_result<std::uint64_t> thread_affinity(pid_t tid) noexcept;

/// Restricts every thread of process `pid` to the CPUs of `mask`, the ones it starts meanwhile
/// included (threads inherit their creator's mask). EINVAL when none of them may be used (a
/// cpuset); ESRCH when the process is gone.
std::error_code set_process_affinity(pid_t pid, std::uint64_t mask);

} // namespace npipe::os
