// npiped - the npipe broker. Thin: parse arguments and the configuration file, set up, run.
#include "broker.hpp"
#include "config_file.hpp"
#include "runtime_dir.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
    CLI::App app{"npiped - the npipe broker: owns the \\\\.\\pipe\\ namespace and connects clients to servers"};
    npipe::broker::config defaults;
    bool system_scope = false;
    std::string runtime_dir, log_file, config_path, event_file;
    int idle_exit = 0, ready_fd = -1;
    int handshake_ms = 10000, idle_ms = 10000, reserve_ms = 10000;
    bool verbose = false, journald = false, prevent = false, no_default_rules = false;
    std::size_t events = defaults.event_capacity;
    std::vector<std::string> rule_dirs;
    auto limits = defaults.limits;
    app.add_flag("--system", system_scope, "serve the system scope (/run/npipe; one broker for all users)");
    app.add_option("--runtime-dir", runtime_dir, "runtime directory (default: NPIPE_RUNTIME_DIR, else the scope's)");
    app.add_option("--config", config_path,
                   "configuration file (YAML; default /etc/npipe/npiped.yaml in system scope, "
                   "~/.config/npipe/npiped.yaml in user scope, when it exists); options given here win");
    app.add_option("--idle-exit", idle_exit, "exit after SECONDS with no pipes and no clients (0 = never)");
    app.add_option("--ready-fd", ready_fd, "write one byte to this descriptor once listening");
    auto o_handshake = app.add_option("--handshake-timeout", handshake_ms,
                                      "drop a connection that has not sent a whole request after MS milliseconds")
                           ->check(CLI::Range(1, 3600000));
    auto o_idle = app.add_option("--idle-timeout", idle_ms,
                                 "drop an answered connection the peer keeps open after MS milliseconds (default 10000)")
                      ->check(CLI::Range(1, 3600000));
    app.add_option("--log-file", log_file, "append the log to FILE instead of stderr");
    app.add_flag("-v,--verbose", verbose, "log every pipe created and removed");
    auto o_events = app.add_option("--events", events, "events kept for npipe monitor (default 16384)")
                        ->check(CLI::Range(1, 1 << 24));
    auto o_event_file = app.add_option("--event-file", event_file,
                                       "also append every event to FILE as a JSON line (rotated at 10 MiB, 5 kept)");
    auto o_journald = app.add_flag("--journald", journald, "also send every event to the systemd journal");
    app.add_option("--rules", rule_dirs, "load Sigma rules from DIR too (repeatable)")->type_name("DIR");
    auto o_no_default = app.add_flag("--no-default-rules", no_default_rules,
                                     "do not load the SigmaHQ pipe_created rules shipped with npipe");
    auto o_prevent = app.add_flag("--prevent", prevent,
                                  "refuse (ERROR_ACCESS_DENIED) a create or open that a rule matches, not only alert");
    auto o_reserve = app.add_option("--reserve-names", reserve_ms,
                                    "keep a gone pipe's name for those who could add instances to it, MS milliseconds "
                                    "(default 10000)")
                         ->check(CLI::Range(0, 3600000));
    auto o_conn = app.add_option("--max-connections-per-uid", limits.connections,
                                 "control connections one uid may hold (default 4096)")
                      ->check(CLI::Range(1u, 1u << 20));
    auto o_inst = app.add_option("--max-instances-per-uid", limits.instances,
                                 "server instances one uid may hold (default 4096)")
                      ->check(CLI::Range(1u, 1u << 20));
    auto o_wait = app.add_option("--max-waiters-per-uid", limits.waiters,
                                 "clients of one uid waiting in WaitNamedPipe (default 1024)")
                      ->check(CLI::Range(1u, 1u << 20));
    auto o_sd = app.add_option("--max-descriptor-bytes-per-uid", limits.descriptor_bytes,
                               "bytes of SDDL the pipes and reserved names of one uid may hold (default 1048576)")
                    ->check(CLI::Range(1024u, 1u << 30));
    CLI11_PARSE(app, argc, argv);

    npipe::endpoint where;
    where.scope = system_scope ? npipe::scope::system : npipe::scope::user;
    if (!runtime_dir.empty()) where.runtime_dir = runtime_dir;
    auto location = npipe::detail::resolve_location(where);

    if (!log_file.empty()) npipe::os::redirect_stderr(log_file);

    npipe::broker::config cfg;
    // The file first, then what the command line says explicitly.
    std::string file = config_path.empty() ? npipe::broker::default_config_path(system_scope) : config_path;
    std::error_code exists_ec;
    if (!file.empty() && (!config_path.empty() || std::filesystem::exists(file, exists_ec))) {
        auto problems = npipe::broker::load_config_file(file, cfg);
        for (const auto& p : problems) std::fprintf(stderr, "npiped: %s\n", p.c_str());
        if (!problems.empty()) return 2;
    }
    cfg.runtime_dir = location.dir;
    cfg.system_scope = system_scope;
    cfg.idle_exit = std::chrono::seconds(idle_exit);
    cfg.ready_fd = ready_fd;
    cfg.verbose = verbose;
    if (o_handshake->count()) cfg.handshake_timeout = std::chrono::milliseconds(handshake_ms);
    if (o_idle->count()) cfg.idle_timeout = std::chrono::milliseconds(idle_ms);
    if (o_conn->count()) cfg.limits.connections = limits.connections;
    if (o_inst->count()) cfg.limits.instances = limits.instances;
    if (o_wait->count()) cfg.limits.waiters = limits.waiters;
    if (o_sd->count()) cfg.limits.descriptor_bytes = limits.descriptor_bytes;
    if (o_reserve->count()) cfg.name_reservation = std::chrono::milliseconds(reserve_ms);
    if (o_events->count()) cfg.event_capacity = events;
    if (o_event_file->count()) cfg.event_file = event_file;
    if (o_journald->count()) cfg.journald = journald;
    if (o_no_default->count()) cfg.default_rules = false;
    if (o_prevent->count()) cfg.prevent_all = prevent;
    cfg.rule_dirs.insert(cfg.rule_dirs.end(), rule_dirs.begin(), rule_dirs.end());

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
