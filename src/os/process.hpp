// os/process.hpp - kernel calls for anonymous pipes and child processes.
//
// Thin wrappers in the style of os/fd.hpp: errno comes back as a generic-category error_code and
// the caller maps it to Win32. Shared by the library and the broker, so nothing here may depend
// on library-only code.
#pragma once

#include "os/fd.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <sys/types.h>

namespace npipe::os {

struct pipe_pair {
    fd read;
    fd write;
};

/// pipe2(O_CLOEXEC): both ends close-on-exec, blocking.
sys_result<pipe_pair> make_pipe() noexcept;
/// F_GETPIPE_SZ / F_SETPIPE_SZ: the kernel buffer of a pipe, in bytes.
sys_result<int> pipe_capacity(int raw) noexcept;
std::error_code set_pipe_capacity(int raw, int bytes) noexcept;

/// pthread_atfork: `prepare` runs in the forking thread before fork(), `parent` and `child`
/// after it in each process (the child has only the forking thread).
std::error_code at_fork(void (*prepare)(), void (*parent)(), void (*child)()) noexcept;

/// One read(2). 0 means end of file.
sys_result<std::size_t> read_some(int raw, void* buffer, std::size_t size) noexcept;
/// Copies up to `size` bytes from the front of the pipe `raw` without consuming them and without
/// blocking: 0 when nothing is buffered.
sys_result<std::size_t> peek_pipe(int raw, void* buffer, std::size_t size) noexcept;

/// What the child of spawn() gets. Everything is prepared by the caller before fork(), because
/// between fork() and exec() a multithreaded parent's child may only make async-signal-safe calls.
struct spawn_request {
    const char* file = nullptr;              ///< looked up in PATH unless it contains '/'
    char* const* argv = nullptr;             ///< null-terminated
    const char* working_directory = nullptr; ///< null: the parent's
    int std_fds[3] = {-1, -1, -1};           ///< sources for 0, 1, 2; -1: the parent's own
    const int* keep = nullptr;               ///< further descriptors (all >= 3), sorted, unique
    std::size_t keep_count = 0;
    char* const* envp = nullptr;             ///< the child's environment; null: the parent's
};

/// fork + exec. Returns once the program runs: a failed exec (or a failure to set up the
/// descriptors) comes back as its errno, and that child is already reaped.
sys_result<pid_t> spawn(const spawn_request& request) noexcept;

/// A pidfd for `pid` (readable once the process exited), or an empty fd when the kernel has none.
sys_result<fd> pidfd_open(pid_t pid) noexcept;

/// Exit code of a child (128+N when killed by signal N). With `block` false, empty while it runs.
sys_result<std::optional<int>> reap(pid_t pid, bool block) noexcept;
/// How a child ended: its exit code, or the signal that killed it (then `code` is 128 + it).
struct child_status {
    int code = 0;
    int signal = 0; ///< 0 when it exited
};
/// reap() that also says whether a signal ended the child.
sys_result<std::optional<child_status>> reap_status(pid_t pid, bool block) noexcept;

/// Waits until `pid` (through `pidfd` when valid) has exited or `deadline` passed; true when it
/// exited. Does not reap.
sys_result<bool> wait_exited(pid_t pid, int pidfd,
                             std::chrono::steady_clock::time_point deadline) noexcept;

/// When `pid` started (clock ticks since boot, /proc/PID/stat's starttime); with the pid, it names
/// one process for good. Empty when there is no such process or it has exited (a zombie).
std::optional<std::uint64_t> process_start_time(pid_t pid) noexcept;
/// process_start_time() that tells "gone" (nullopt) from "cannot tell" (an error: the caller
/// is out of descriptors, EMFILE or ENFILE).
sys_result<std::optional<std::uint64_t>> read_process_start_time(pid_t pid) noexcept;

/// Whether the process `pid` that started at `start_time` still runs (not a zombie, not a newer
/// process that reuses the number). A `start_time` of 0 (unknown) only asks whether the pid exists.
bool process_running(pid_t pid, std::uint64_t start_time) noexcept;

/// The executable a process runs (readlink of /proc/PID/exe); empty when it cannot be read.
std::string executable_of(pid_t pid);
/// The executable this process runs (readlink of /proc/self/exe, so a pid namespace other than
/// /proc's does not matter).
sys_result<std::string> own_executable();

/// SIGKILL, through the pidfd when there is one (immune to pid reuse).
std::error_code kill_process(pid_t pid, int pidfd) noexcept;

} // namespace npipe::os
