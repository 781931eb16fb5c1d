// commands.hpp - the sub-commands of the npipe tool, as main.cpp's table sees them.
#pragma once

#include <npipe/types.hpp>

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace npipe::cli {

/// Exit statuses shared by every command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;   ///< the operation failed (the message names the Win32 error)
inline constexpr int exit_usage = 2;     ///< bad command line
inline constexpr int exit_truncated = 3; ///< `call`: the reply did not fit the 64 KiB buffer

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

/// Runs a command once the command line has been parsed; returns the exit status.
using runner = std::function<int()>;

/// Adds a command's options and positionals to `sub`; the returned runner reads them.
using setup_fn = runner (*)(CLI::App& sub, context& ctx);

/// Adds --runtime-dir and --system to `app` (main and every command accept them).
void add_endpoint_options(CLI::App& app, context& ctx);

/// Splits `serve ... --exec CMD [ARGS...]`: removes everything from --exec on from `args`
/// (leaving a bare "--exec" flag) and stores CMD and ARGS in ctx.exec_command.
void take_exec_command(std::vector<std::string>& args, context& ctx);

runner setup_serve(CLI::App& sub, context& ctx);
runner setup_connect(CLI::App& sub, context& ctx);
runner setup_call(CLI::App& sub, context& ctx);
runner setup_wait(CLI::App& sub, context& ctx);
runner setup_list(CLI::App& sub, context& ctx);
runner setup_info(CLI::App& sub, context& ctx);
runner setup_acl(CLI::App& sub, context& ctx);
runner setup_broker(CLI::App& sub, context& ctx);
runner setup_monitor(CLI::App& sub, context& ctx); // monitor.cpp
runner setup_rules(CLI::App& sub, context& ctx);   // rules_cmd.cpp
runner setup_audit(CLI::App& sub, context& ctx);   // audit.cpp

} // namespace npipe::cli
