// commands.hpp - the sub-commands of the npipe tool, as main.cpp's table sees them. Each family
// lives in one file, its options beside its run function.
#pragma once

#include "context.hpp"

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace npipe::cli {

/// Runs a command once the command line has been parsed; returns the exit status.
using runner = std::function<int()>;

/// Adds a command's options and positionals to `sub`; the returned runner reads them.
using setup_fn = runner (*)(CLI::App& sub, context& ctx);

runner setup_serve(CLI::App& sub, context& ctx);   // serve.cpp (serve_exec.cpp: --exec)
runner setup_connect(CLI::App& sub, context& ctx); // connect.cpp
runner setup_call(CLI::App& sub, context& ctx);    // connect.cpp
runner setup_wait(CLI::App& sub, context& ctx);    // connect.cpp
runner setup_list(CLI::App& sub, context& ctx);    // inspect.cpp
runner setup_info(CLI::App& sub, context& ctx);    // inspect.cpp
runner setup_acl(CLI::App& sub, context& ctx);     // inspect.cpp
runner setup_broker(CLI::App& sub, context& ctx);  // broker_cmd.cpp
runner setup_monitor(CLI::App& sub, context& ctx); // monitor.cpp
runner setup_rules(CLI::App& sub, context& ctx);   // rules_cmd.cpp
runner setup_audit(CLI::App& sub, context& ctx);   // audit.cpp

/// Splits `serve ... --exec CMD [ARGS...]`: removes everything from --exec on from `args`
/// (leaving a bare "--exec" flag) and stores CMD and ARGS in ctx.exec_command (serve.cpp).
void take_exec_command(std::vector<std::string>& args, context& ctx);

} // namespace npipe::cli
