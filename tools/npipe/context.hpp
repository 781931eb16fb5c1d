// context.hpp - what every npipe command shares: the global options (which broker), the exit
// statuses, and the timeouts several commands take.
#pragma once

#include <npipe/types.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace npipe::cli {

/// Exit statuses shared by every command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1; ///< the operation failed (the message names the Win32 error)
inline constexpr int exit_usage = 2;   ///< bad command line

/// What every command may use: the global options and what main.cpp took off the command line.
struct context {
    std::string runtime_dir; ///< --runtime-dir
    bool system = false;     ///< --system
    /// `serve ... --exec CMD [ARGS...]`: everything after --exec, taken verbatim (so ARGS may
    /// start with '-').
    std::vector<std::string> exec_command;

    /// The broker these options select.
    npipe::endpoint endpoint() const;
};

/// Adds --runtime-dir and --system to `app` (main and every command accept them).
void add_endpoint_options(CLI::App& app, context& ctx);

/// "default" (the pipe's default timeout: use_default_wait), "forever" (wait_forever), or
/// milliseconds; empty when `text` is none of these.
std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text);

} // namespace npipe::cli
