// bench/workspace.hpp - the private namespace a benchmark run works in: a fresh runtime directory
// (so the library starts a broker of the run's own) and a directory for AF_UNIX sockets; the
// broker's CPU time, and stopping it at the end.
#pragma once

#include <npipe/named_pipe.hpp>

#include <filesystem>
#include <optional>

#include <sys/types.h>

namespace bench {

struct workspace {
    std::filesystem::path root, run, sock;
    npipe::endpoint ep;
};

/// Creates the directories below /tmp and points NPIPE_RUNTIME_DIR at `run` (call it before any
/// library call or thread; the peers inherit it).
workspace make_workspace();

/// Stops the run's broker, if one runs, and waits (briefly) for it to exit.
void stop_broker(const workspace& w);

/// utime + stime of a process in milliseconds, from /proc/PID/stat.
std::optional<double> process_cpu_ms(pid_t pid);

/// Client options that reach the run's broker.
npipe::client_options client_opts(const workspace& w);

} // namespace bench
