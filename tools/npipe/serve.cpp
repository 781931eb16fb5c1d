// npipe serve: create a named pipe and serve its clients - echo, run a command (serve_exec.cpp),
// or join the first client to the terminal (bridge.cpp). Instances are created as clients
// arrive, up to --instances: --echo serves them all on one thread with the asynchronous API
// (serve_echo.cpp); --exec gives each its own thread.
//
// On a message pipe a zero-length message means "end of data" (the writer's half-close, as
// go-winio's CloseWrite does it). Byte pipes have no such signal: there a side ends only when
// the other closes the pipe.
#include "bridge.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "serve.hpp"

#include "os/poller.hpp"
#include "os/stdio.hpp"

#include <npipe/pipe_name.hpp>
#include <npipe/security.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <signal.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace npipe::cli {

void take_exec_command(std::vector<std::string>& args, context& ctx) {
    auto serve = std::find(args.begin(), args.end(), "serve");
    if (serve == args.end()) return;
    for (auto it = serve + 1; it != args.end(); ++it) {
        if (*it == "--") return; // positionals only from here
        if (*it == "--exec") {
            ctx.exec_command.assign(it + 1, args.end());
            args.erase(it + 1, args.end());
            return;
        }
        if (it->rfind("--exec=", 0) == 0) {
            ctx.exec_command.assign(1, it->substr(7));
            ctx.exec_command.insert(ctx.exec_command.end(), it + 1, args.end());
            args.erase(it, args.end());
            args.emplace_back("--exec");
            return;
        }
    }
}

namespace {

using namespace std::chrono_literals;

struct serve_args {
    std::string name;
    bool message = false;
    std::string instances;
    bool inbound = false, outbound = false;
    bool first_instance = false;
    bool echo = false, exec = false;
    std::string default_timeout;
    std::optional<std::string> sddl;
    bool windows_default_acl = false;
    bool remote = false;
    bool reject_remote = false;
};

// ---- one instance ------------------------------------------------------------------------------

/// ConnectNamedPipe that a stop request interrupts: PIPE_NOWAIT connect, wait, repeat.
/// False with `ec` clear when stopped.
bool await_client(server_instance& inst, const event& stop, std::error_code& ec) {
    for (;;) {
        inst.set_state(std::nullopt, wait_mode::nowait, ec);
        if (ec) return false;
        inst.connect(ec);
        std::error_code restore;
        inst.set_state(std::nullopt, wait_mode::wait, restore);
        if (!ec) {
            ec = restore;
            return !ec;
        }
        if (ec == win32_error::pipe_listening) {
            if (wait_readable(inst.native_handle(), {&stop}) == woke::event) {
                ec.clear();
                return false;
            }
            continue;
        }
        if (ec == win32_error::no_data) {
            // The client came and went before we looked (Windows reports that as ERROR_NO_DATA):
            // what it wrote is still there, so serve it like any client.
            ec.clear();
            return true;
        }
        return false;
    }
}

/// The terminal serves one client; its end is the end of serve.
void terminal_session(server_instance& inst, server_state& st) {
    bridge_options o;
    o.can_read = st.server_reads();
    o.can_write = st.server_writes();
    o.message_pipe = o.whole_messages = st.message;
    o.stop = &st.stop;
    int status = bridge_stdio(inst, o);
    std::lock_guard lock(st.mutex);
    st.status = status;
    st.stop.set();
}

void run_worker(server_state& st, server_instance inst);

/// A client took an instance: make sure another one listens, up to the limit.
void grow(server_state& st) {
    {
        std::lock_guard lock(st.mutex);
        if (st.mode == serve_mode::bridge || st.idle > 0 || st.instances >= st.options.max_instances ||
            st.stop.is_set())
            return;
        ++st.instances;
        ++st.idle;
        ++st.running;
    }
    server_options o = st.options;
    o.first_instance = false;
    std::error_code ec;
    auto next = server_instance::create(st.name, o, ec);
    std::lock_guard lock(st.mutex);
    if (ec) {
        --st.instances;
        --st.idle;
        --st.running;
        // Another process may hold the remaining instances; that is no error of ours.
        if (ec != win32_error::pipe_busy) report(fmt::format("cannot create another instance of {}", st.name), ec);
        st.changed.notify_all();
        return;
    }
    st.threads.emplace_back(run_worker, std::ref(st), std::move(next));
}

/// Waits for a client, serves it, disconnects, again; until stopped. Returns whether the
/// instance was counted as idle when it ended.
bool serve_instance(server_state& st, server_instance& inst) {
    for (;;) {
        std::error_code ec;
        bool connected = await_client(inst, st.stop, ec);
        if (!connected) {
            if (ec) report(fmt::format("{}: cannot wait for a client", st.name), ec);
            return true;
        }
        {
            std::lock_guard lock(st.mutex);
            --st.idle;
        }
        grow(st);
        if (st.mode == serve_mode::bridge) {
            terminal_session(inst, st);
            return false;
        }
        exec_session(inst, st); // --echo is served by serve_echo.cpp
        if (st.stop.is_set()) return false;
        inst.disconnect(ec);
        if (ec) {
            report(fmt::format("{}: cannot disconnect the client", st.name), ec);
            return false;
        }
        std::lock_guard lock(st.mutex);
        ++st.idle;
    }
}

/// One instance's thread.
void run_worker(server_state& st, server_instance inst) {
    bool idle = false;
    {
        server_instance mine = std::move(inst);
        idle = serve_instance(st, mine);
    } // closed here: its client reads what is left, then ERROR_BROKEN_PIPE
    std::lock_guard lock(st.mutex);
    if (idle) --st.idle;
    --st.instances;
    if (--st.running == 0 && !st.stop.is_set()) { // every instance failed
        st.status = exit_failure;
        st.stop.set();
    }
    st.changed.notify_all();
}

// ---- the command -------------------------------------------------------------------------------

/// --instances: 1..255 or "unlimited"; empty after reporting a bad value.
std::optional<unsigned> parse_instances(const serve_args& a, serve_mode mode) {
    unsigned max = mode == serve_mode::bridge ? 1 : unlimited_instances;
    if (a.instances.empty()) return max;
    if (a.instances == "unlimited") return unlimited_instances;
    auto [end, err] = std::from_chars(a.instances.data(), a.instances.data() + a.instances.size(), max);
    if (err != std::errc{} || end != a.instances.data() + a.instances.size() || max < 1 || max > unlimited_instances) {
        bad_usage(fmt::format("--instances: expected 1..255 or 'unlimited', not '{}'", a.instances));
        return std::nullopt;
    }
    return max;
}

/// The command line into `st`: exit_ok, or exit_usage after saying what is wrong.
int configure(const serve_args& a, const context& ctx, server_state& st) {
    if (a.echo && a.exec) return bad_usage("--echo and --exec exclude each other");
    if (a.echo && (a.inbound || a.outbound)) return bad_usage("--echo needs a duplex pipe (no --inbound/--outbound)");
    if (a.exec && ctx.exec_command.empty()) return bad_usage("--exec needs a command: --exec CMD [ARGS...]");
    if (a.inbound && a.outbound) return bad_usage("--inbound and --outbound exclude each other");

    st.name = expand_pipe_name(a.name);
    st.mode = a.echo ? serve_mode::echo : a.exec ? serve_mode::exec : serve_mode::bridge;
    st.message = a.message;
    st.command = ctx.exec_command;
    auto max = parse_instances(a, st.mode);
    if (!max) return exit_usage;
    auto& o = st.options;
    o.type = a.message ? pipe_type::message : pipe_type::byte;
    o.read_mode = a.message ? read_mode::message : read_mode::byte;
    o.direction = a.inbound ? pipe_direction::inbound : a.outbound ? pipe_direction::outbound : pipe_direction::duplex;
    o.first_instance = a.first_instance;
    if (a.sddl) {
        // Checked here too, so the mistake is shown with its position (the broker only logs it).
        std::error_code sddl_ec;
        sddl_error where;
        if (!parse_sddl(*a.sddl, sddl_ec, &where)) return bad_usage("--sddl: " + where.message);
        o.sddl = *a.sddl;
    }
    o.windows_default_acl = a.windows_default_acl;
    o.remote = a.remote;
    o.reject_remote_clients = a.reject_remote;
    o.max_instances = *max;
    o.endpoint = ctx.endpoint();
    if (!a.default_timeout.empty()) {
        auto t = parse_timeout(a.default_timeout);
        if (!t || *t == wait_forever) return bad_usage("--default-timeout: expected milliseconds");
        o.default_timeout = *t;
    }
    return exit_ok;
}

/// The first instance, which creates the pipe; empty after saying why not.
std::optional<server_instance> create_pipe(const server_state& st) {
    std::error_code ec;
    auto first = server_instance::create(st.name, st.options, ec);
    if (!ec) return first;
    std::string hint;
    if (ec == win32_error::access_denied)
        hint = st.options.first_instance ? "the pipe exists already (--first-instance)"
                                         : "the pipe exists with another type, direction or instance limit, "
                                           "or belongs to another user";
    else if (ec == win32_error::pipe_busy)
        hint = "the pipe's instance limit is reached";
    report(fmt::format("cannot create {}", st.name), ec, hint);
    return std::nullopt;
}

/// Until a signal (SIGINT, SIGTERM, SIGHUP) or the instances stop serve. `signals` is a
/// signalfd for them.
void wait_for_stop(server_state& st, int signals) {
    while (!st.stop.is_set()) {
        std::array<os::io_watch, 2> watches{{{st.stop.fd(), os::io_ready::readable},
                                             {signals, os::io_ready::readable}}};
        if (!os::wait_ready(watches, -1)) break;
        if (watches[1].found != os::io_ready::none) {
            while (os::read_signal(signals)) {}
            st.stop.set();
        }
    }
}

int run_serve(const serve_args& a, const context& ctx) {
    auto st = std::make_unique<server_state>();
    if (int usage = configure(a, ctx, *st); usage != exit_ok) return usage;
    // Signals arrive through a descriptor, blocked before the library starts any thread (its
    // reactor may start with the first instance): a thread that did not block SIGTERM would take
    // it and die of it instead of closing the instances.
    os::fd signals = os::signal_descriptor({SIGINT, SIGTERM, SIGHUP}).value;
    auto first = create_pipe(*st);
    if (!first) return exit_failure;
    std::string listening = fmt::format("listening on {}\n", first->name());
    std::fwrite(listening.data(), 1, listening.size(), stderr);
    std::fflush(stderr);

    if (st->mode == serve_mode::echo) return echo_serve(*st, std::move(*first), signals.get());
    {
        std::lock_guard lock(st->mutex);
        st->instances = st->idle = st->running = 1;
        st->threads.emplace_back(run_worker, std::ref(*st), std::move(*first));
    }
    wait_for_stop(*st, signals.get());

    std::unique_lock lock(st->mutex);
    if (!st->changed.wait_for(lock, 5s, [&] { return st->running == 0; })) {
        report_line("a client session did not end in time; exiting anyway");
        std::_Exit(st->status);
    }
    auto threads = std::move(st->threads);
    lock.unlock();
    for (auto& t : threads) t.join();
    return st->status;
}

} // namespace

runner setup_serve(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<serve_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_flag("--message", a->message, "Message pipe (PIPE_TYPE_MESSAGE, message read mode); default: byte pipe");
    sub.add_option("--instances", a->instances,
                   "Most clients at once, 1..255 or 'unlimited' (default: unlimited with --echo/--exec, else 1); "
                   "instances are created as clients arrive")
        ->type_name("N|unlimited");
    auto in = sub.add_flag("--inbound", a->inbound, "Clients write, the server reads (PIPE_ACCESS_INBOUND)");
    auto out = sub.add_flag("--outbound", a->outbound, "The server writes, clients read (PIPE_ACCESS_OUTBOUND)");
    in->excludes(out);
    sub.add_flag("--first-instance", a->first_instance, "Fail if the pipe exists already (FILE_FLAG_FIRST_PIPE_INSTANCE)");
    sub.add_option("--default-timeout", a->default_timeout, "The pipe's default WaitNamedPipe timeout (default 50)")
        ->type_name("MS");
    auto sddl = sub.add_option("--sddl", a->sddl,
                               "The pipe's security descriptor, e.g. \"D:(A;;FA;;;OW)(A;;GRGW;;;S-1-22-1-1000)\" "
                               "(default: the owner and root, nobody else)")
                    ->type_name("SDDL");
    sub.add_flag("--windows-default-acl", a->windows_default_acl,
                 "Windows' default instead: also Everyone and Anonymous read")
        ->excludes(sddl);
    sub.add_flag("--remote", a->remote,
                 "Export the pipe to SMB clients through Samba (\\\\HOST\\pipe\\NAME; the broker must serve "
                 "Samba: npiped --samba); the DACL must grant them (NETWORK, or their accounts)");
    sub.add_flag("--reject-remote-clients", a->reject_remote, "PIPE_REJECT_REMOTE_CLIENTS: no SMB client may open it");
    auto echo = sub.add_flag("--echo", a->echo, "Send every message (or chunk, on a byte pipe) back to its client");
    auto exec = sub.add_flag("--exec", a->exec,
                             "CMD [ARGS...]: run CMD for each client, its stdin and stdout joined to the pipe; "
                             "everything after --exec is the command");
    echo->excludes(exec);
    sub.footer(
        "Without --echo or --exec the first client is joined to the terminal (stdin to the pipe, the pipe to\n"
        "stdout) and serve exits when that conversation ends. \"listening on NAME\" goes to stderr once the pipe\n"
        "exists; nothing else is printed on stdout. SIGINT/SIGTERM close every instance and exit 0.\n"
        "--exec pumps data between the pipe and the child: on a message pipe each message is written to the\n"
        "child's stdin and each chunk the child writes (up to 64 KiB) becomes one message. With --inbound the\n"
        "child's stdout is serve's stdout; with --outbound its stdin is /dev/null.\n"
        "End of data: on a message pipe a zero-length message ends the data (it closes the child's stdin, and is\n"
        "sent when the child's stdout ends). Byte pipes have no such signal: the child's stdin ends when the\n"
        "client closes the pipe.");
    return [a, &ctx] { return run_serve(*a, ctx); };
}

} // namespace npipe::cli
