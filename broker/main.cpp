// npiped - the npipe broker. Thin: parse arguments, set up, run.
#include "broker.hpp"
#include "runtime_dir.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>

int main(int argc, char** argv) {
    CLI::App app{"npiped - the npipe broker: owns the \\\\.\\pipe\\ namespace and connects clients to servers"};
    bool system_scope = false;
    std::string runtime_dir;
    int idle_exit = 0;
    int ready_fd = -1;
    int handshake_ms = 10000;
    int idle_ms = 10000;
    bool verbose = false;
    std::string log_file;
    app.add_flag("--system", system_scope, "serve the system scope (/run/npipe; one broker for all users)");
    app.add_option("--runtime-dir", runtime_dir, "runtime directory (default: NPIPE_RUNTIME_DIR, else the scope's)");
    app.add_option("--idle-exit", idle_exit, "exit after SECONDS with no pipes and no clients (0 = never)");
    app.add_option("--ready-fd", ready_fd, "write one byte to this descriptor once listening");
    app.add_option("--handshake-timeout", handshake_ms, "drop a connection that has not sent a whole request after MS milliseconds")
        ->check(CLI::Range(1, 3600000));
    app.add_option("--idle-timeout", idle_ms, "drop an answered connection the peer keeps open after MS milliseconds (default 10000)")
        ->check(CLI::Range(1, 3600000));
    app.add_option("--log-file", log_file, "append the log to FILE instead of stderr");
    app.add_flag("-v,--verbose", verbose, "log every pipe created and removed");
    npipe::broker::config::per_uid_limits limits;
    std::size_t events = 16384;
    app.add_option("--events", events, "events kept for npipe monitor (default 16384)")->check(CLI::Range(1, 1 << 24));
    int reserve_ms = 10000;
    app.add_option("--reserve-names", reserve_ms,
                   "keep a gone pipe's name for those who could add instances to it, MS milliseconds (default 10000)")
        ->check(CLI::Range(0, 3600000));
    app.add_option("--max-connections-per-uid", limits.connections, "control connections one uid may hold (default 4096)")
        ->check(CLI::Range(1u, 1u << 20));
    app.add_option("--max-instances-per-uid", limits.instances, "server instances one uid may hold (default 4096)")
        ->check(CLI::Range(1u, 1u << 20));
    app.add_option("--max-waiters-per-uid", limits.waiters, "clients of one uid waiting in WaitNamedPipe (default 1024)")
        ->check(CLI::Range(1u, 1u << 20));
    CLI11_PARSE(app, argc, argv);

    npipe::endpoint where;
    where.scope = system_scope ? npipe::scope::system : npipe::scope::user;
    if (!runtime_dir.empty()) where.runtime_dir = runtime_dir;
    auto location = npipe::detail::resolve_location(where);

    if (!log_file.empty()) npipe::os::redirect_stderr(log_file);

    npipe::broker::config cfg;
    cfg.runtime_dir = location.dir;
    cfg.system_scope = system_scope;
    cfg.idle_exit = std::chrono::seconds(idle_exit);
    cfg.ready_fd = ready_fd;
    cfg.verbose = verbose;
    cfg.handshake_timeout = std::chrono::milliseconds(handshake_ms);
    cfg.idle_timeout = std::chrono::milliseconds(idle_ms);
    cfg.limits = limits;
    cfg.name_reservation = std::chrono::milliseconds(reserve_ms);
    cfg.event_capacity = events;
    npipe::broker::broker b(cfg);
    if (auto ec = b.start()) {
        if (ec == std::errc::operation_would_block) {
            std::fprintf(stderr, "npiped: another broker already serves %s\n", location.dir.c_str());
            return 3;
        }
        std::fprintf(stderr, "npiped: cannot start: %s\n", ec.message().c_str());
        return 1;
    }
    return b.run();
}
