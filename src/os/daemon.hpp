// os/daemon.hpp - starting the broker in the background, and finding it on disk.
#pragma once

#include "os/fd.hpp"

#include <string>
#include <vector>

namespace npipe::os {

/// Starts `program` with `args` as a daemon: its own session, stdin/stdout/stderr on
/// /dev/null, no descriptor of ours but `keep_fd` (kept at its number), parent is init.
/// Returns once the intermediate process has been reaped.
std::error_code spawn_daemon(const std::string& program, const std::vector<std::string>& args,
                             int keep_fd) noexcept;

/// A pipe (both ends CLOEXEC).
std::error_code make_pipe(fd& read_end, fd& write_end) noexcept;

/// Path of the shared object (or executable) that contains `address`.
std::string object_path_of(const void* address);

/// True when `path` is an executable regular file.
bool is_executable(const std::string& path) noexcept;

} // namespace npipe::os
