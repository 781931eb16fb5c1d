// npipe - the command-line tool: serve, connect to, call and inspect named pipes.
// Thin: a table of sub-commands; commands.hpp says which file holds each.
#include "commands.hpp"

#include "os/stdio.hpp"

#include <CLI/CLI.hpp>

#include <signal.h>
#include <string>
#include <vector>

namespace {

struct command {
    const char* name;
    const char* description;
    npipe::cli::setup_fn setup;
};

constexpr command commands[] = {
    {"serve", "Create a named pipe and serve its clients (echo, run a command, or bridge to the terminal)",
     npipe::cli::setup_serve},
    {"connect", "Open a named pipe and copy stdin to it and it to stdout (netcat for pipes)",
     npipe::cli::setup_connect},
    {"call", "Send one message and print the reply (CallNamedPipe)", npipe::cli::setup_call},
    {"wait", "Wait until an instance of a pipe is available (WaitNamedPipe)", npipe::cli::setup_wait},
    {"list", "List every pipe with its instances", npipe::cli::setup_list},
    {"info", "Show one pipe with its instances", npipe::cli::setup_info},
    {"acl", "Show a pipe's owner and DACL in words (who may read, write, create instances)", npipe::cli::setup_acl},
    {"broker", "Show the status of the broker (npiped) or stop it", npipe::cli::setup_broker},
    {"monitor", "Show the broker's events (creates, connects, denials, ...), live with --follow", npipe::cli::setup_monitor},
    {"rules", "List the Sigma rules, or test which ones a pipe name triggers", npipe::cli::setup_rules},
    {"audit", "Report risky pipes, rule matches, open root servers and privilege-inverted connections", npipe::cli::setup_audit},
};

} // namespace

int main(int argc, char** argv) {
    // A reader that went away is an error we handle, not a reason to die. Blocked rather than
    // ignored: commands run by `serve --exec` start with the default disposition again.
    npipe::os::block_signals({SIGPIPE});

    npipe::cli::context ctx;
    std::vector<std::string> args(argv + 1, argv + argc);
    npipe::cli::take_exec_command(args, ctx);

    CLI::App app{"npipe - Windows named pipes on Linux: serve, connect, call and inspect \\\\.\\pipe\\ names.\n"
                 "NAME is \\\\.\\pipe\\NAME or just NAME."};
    app.name("npipe");
    app.require_subcommand(1);
    npipe::cli::add_endpoint_options(app, ctx);

    std::vector<std::pair<CLI::App*, npipe::cli::runner>> runners;
    for (const auto& c : commands) {
        CLI::App* sub = app.add_subcommand(c.name, c.description);
        runners.emplace_back(sub, c.setup(*sub, ctx));
    }
    // After the commands, which would otherwise inherit it.
    app.footer("Exit status: 0 success, 1 the operation failed, 2 usage error.\n"
               "Run 'npipe COMMAND --help' for a command's options.");

    // CLI11 wants the arguments last-first.
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    try {
        app.parse(reversed);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? npipe::cli::exit_ok : npipe::cli::exit_usage;
    }
    for (auto& [sub, run] : runners)
        if (sub->parsed()) return run();
    return npipe::cli::exit_usage;
}
