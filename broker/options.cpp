// npiped's options: CLI11 for the command line, config_file.cpp for the file.
#include "options.hpp"

#include "config_file.hpp"
#include "runtime_dir.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>

namespace npipe::broker {
namespace {

/// Every option, and whether it was given (only given ones override the file).
struct command_line {
    bool system_scope = false;
    std::string runtime_dir, log_file, config_path, event_file;
    int idle_exit = 0, ready_fd = -1;
    std::string samba_dir;
    int handshake_ms = 10000, idle_ms = 10000, reserve_ms = 10000;
    bool verbose = false, journald = false, prevent = false, no_default_rules = false, samba_impersonation = false;
    std::size_t events = config{}.event_capacity;
    std::vector<std::string> rule_dirs;
    per_uid_limits limits;
    CLI::Option *o_handshake{}, *o_idle{}, *o_events{}, *o_event_file{}, *o_journald{}, *o_no_default{},
        *o_prevent{}, *o_reserve{}, *o_conn{}, *o_inst{}, *o_wait{}, *o_sd{}, *o_samba{},
        *o_samba_imp{};
};

void add_general_options(CLI::App& app, command_line& o) {
    app.add_flag("--system", o.system_scope, "serve the system scope (/run/npipe; one broker for all users)");
    app.add_option("--runtime-dir", o.runtime_dir, "runtime directory (default: NPIPE_RUNTIME_DIR, else the scope's)");
    app.add_option("--config", o.config_path,
                   "configuration file (YAML; default /etc/npipe/npiped.yaml in system scope, "
                   "~/.config/npipe/npiped.yaml in user scope, when it exists); options given here win");
    app.add_option("--idle-exit", o.idle_exit, "exit after SECONDS with no pipes and no clients (0 = never)");
    app.add_option("--ready-fd", o.ready_fd, "write one byte to this descriptor once listening");
    o.o_handshake = app.add_option("--handshake-timeout", o.handshake_ms,
                                   "drop a connection that has not sent a whole request after MS milliseconds")
                        ->check(CLI::Range(1, 3600000));
    o.o_idle = app.add_option("--idle-timeout", o.idle_ms,
                              "drop an answered connection the peer keeps open after MS milliseconds (default 10000)")
                   ->check(CLI::Range(1, 3600000));
    app.add_option("--log-file", o.log_file, "append the log to FILE instead of stderr");
    app.add_flag("-v,--verbose", o.verbose, "log every pipe created and removed");
    o.o_reserve = app.add_option("--reserve-names", o.reserve_ms,
                                 "keep a gone pipe's name for those who could add instances to it, MS milliseconds "
                                 "(default 10000)")
                      ->check(CLI::Range(0, 3600000));
    o.o_samba = app.add_option("--samba", o.samba_dir,
                               std::string("serve the pipes their owners export to SMB clients through Samba's smbd: "
                                           "a socket per pipe in DIR, smbd's <ncalrpc dir>/np (default ") +
                                   config::default_samba_dir + ")")
                    ->expected(0, 1)
                    ->type_name("[DIR]");
    o.o_samba_imp = app.add_flag("--samba-impersonation", o.samba_impersonation,
                                 "SMB clients allow impersonation (smbd does not pass on what each asked for; "
                                 "default: identification)");
}

void add_event_options(CLI::App& app, command_line& o) {
    o.o_events = app.add_option("--events", o.events, "events kept for npipe monitor (default 16384)")
                     ->check(CLI::Range(1, 1 << 24));
    o.o_event_file = app.add_option("--event-file", o.event_file,
                                    "also append every event to FILE as a JSON line (rotated at 10 MiB, 5 kept)");
    o.o_journald = app.add_flag("--journald", o.journald, "also send every event to the systemd journal");
    app.add_option("--rules", o.rule_dirs, "load Sigma rules from DIR too (repeatable)")->type_name("DIR");
    o.o_no_default = app.add_flag("--no-default-rules", o.no_default_rules,
                                  "do not load the SigmaHQ pipe_created rules shipped with npipe");
    o.o_prevent = app.add_flag("--prevent", o.prevent,
                               "refuse (ERROR_ACCESS_DENIED) a create or open that a rule matches, not only alert");
}

void add_limit_options(CLI::App& app, command_line& o) {
    o.o_conn = app.add_option("--max-connections-per-uid", o.limits.connections,
                              "control connections one uid may hold (default 4096)")
                   ->check(CLI::Range(1u, 1u << 20));
    o.o_inst = app.add_option("--max-instances-per-uid", o.limits.instances,
                              "server instances one uid may hold (default 4096)")
                   ->check(CLI::Range(1u, 1u << 20));
    o.o_wait = app.add_option("--max-waiters-per-uid", o.limits.waiters,
                              "clients of one uid waiting in WaitNamedPipe (default 1024)")
                   ->check(CLI::Range(1u, 1u << 20));
    o.o_sd = app.add_option("--max-descriptor-bytes-per-uid", o.limits.descriptor_bytes,
                            "bytes of SDDL the pipes and reserved names of one uid may hold (default 1048576)")
                 ->check(CLI::Range(1024u, 1u << 30));
}

/// What the command line says explicitly wins over the file.
void apply_given(const command_line& o, config& cfg) {
    if (o.o_handshake->count()) cfg.handshake_timeout = std::chrono::milliseconds(o.handshake_ms);
    if (o.o_idle->count()) cfg.idle_timeout = std::chrono::milliseconds(o.idle_ms);
    if (o.o_conn->count()) cfg.limits.connections = o.limits.connections;
    if (o.o_inst->count()) cfg.limits.instances = o.limits.instances;
    if (o.o_wait->count()) cfg.limits.waiters = o.limits.waiters;
    if (o.o_sd->count()) cfg.limits.descriptor_bytes = o.limits.descriptor_bytes;
    if (o.o_reserve->count()) cfg.name_reservation = std::chrono::milliseconds(o.reserve_ms);
    if (o.o_events->count()) cfg.event_capacity = o.events;
    if (o.o_event_file->count()) cfg.event_file = o.event_file;
    if (o.o_journald->count()) cfg.journald = o.journald;
    if (o.o_no_default->count()) cfg.default_rules = false;
    if (o.o_prevent->count()) cfg.prevent_all = o.prevent;
    cfg.rule_dirs.insert(cfg.rule_dirs.end(), o.rule_dirs.begin(), o.rule_dirs.end());
    if (o.o_samba->count()) {
        cfg.samba = true;
        if (!o.samba_dir.empty()) cfg.samba_dir = o.samba_dir;
    } else if (!o.system_scope) {
        cfg.samba = false; // a user's configuration file cannot make its broker serve smbd's np/
    }
    if (o.o_samba_imp->count()) cfg.samba_impersonation = o.samba_impersonation;
}

} // namespace

std::optional<startup> parse_options(int argc, char** argv, int& exit_code) {
    CLI::App app{"npiped - the npipe broker: owns the \\\\.\\pipe\\ namespace and connects clients to servers"};
    command_line o;
    add_general_options(app, o);
    add_event_options(app, o);
    add_limit_options(app, o);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        exit_code = app.exit(e);
        return std::nullopt;
    }

    endpoint where;
    where.scope = o.system_scope ? scope::system : scope::user;
    if (!o.runtime_dir.empty()) where.runtime_dir = o.runtime_dir;
    auto location = detail::resolve_location(where);

    startup s;
    s.log_file = o.log_file;
    config& cfg = s.cfg;
    // The file first, then what the command line says explicitly.
    std::string file = o.config_path.empty() ? default_config_path(o.system_scope) : o.config_path;
    std::error_code exists_ec;
    if (!file.empty() && (!o.config_path.empty() || std::filesystem::exists(file, exists_ec))) {
        auto problems = load_config_file(file, cfg);
        for (const auto& p : problems) std::fprintf(stderr, "npiped: %s\n", p.c_str());
        if (!problems.empty()) {
            exit_code = 2;
            return std::nullopt;
        }
    }
    cfg.runtime_dir = location.dir;
    cfg.system_scope = o.system_scope;
    cfg.idle_exit = std::chrono::seconds(o.idle_exit);
    cfg.ready_fd = o.ready_fd;
    cfg.verbose = o.verbose;
    apply_given(o, cfg);
    return s;
}

} // namespace npipe::broker
