// commands.cpp - what each npipe sub-command does.
//
// Conventions shared by the commands:
// - Errors are one line on stderr: "npipe: WHAT: ERROR_NAME (N): meaning; hint", exit status 1.
// - On a message pipe a zero-length message means "end of data" (the writer's half-close, as
//   go-winio's CloseWrite does it): `connect` and the terminal bridge of `serve` send one when
//   stdin ends and stop reading when one arrives; `serve --exec` closes the child's stdin on
//   one and sends one when the child's stdout ends. Byte pipes have no such signal: there a
//   side ends only when the other closes the pipe.
#include "commands.hpp"

#include "acl.hpp"

#include <npipe/security.hpp>
#include "format.hpp"

#include <npipe/anonymous_pipe.hpp>
#include <npipe/named_pipe.hpp>
#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "os/fd.hpp"
#include "os/poller.hpp"
#include "os/process.hpp"
#include "os/stdio.hpp"

#include <fcntl.h> // O_RDONLY
#include <signal.h>
#include <unistd.h> // STDIN_FILENO, STDOUT_FILENO

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

namespace npipe::cli {

npipe::endpoint context::endpoint() const {
    npipe::endpoint where;
    if (system) where.scope = npipe::scope::system;
    if (!runtime_dir.empty()) where.runtime_dir = runtime_dir;
    return where;
}

void add_endpoint_options(CLI::App& app, context& ctx) {
    app.add_option("--runtime-dir", ctx.runtime_dir,
                   "Runtime directory of the broker to use (default: NPIPE_RUNTIME_DIR, else the scope's)")
        ->type_name("DIR");
    app.add_flag("--system", ctx.system, "Use the system-wide namespace (/run/npipe) instead of the user's");
}

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
using clock = std::chrono::steady_clock;

constexpr std::size_t chunk_size = 64 * 1024;

// ---- reporting ---------------------------------------------------------------------------------

/// What a Win32 error usually means for the person at the terminal.
std::string default_hint(const std::error_code& ec) {
    if (ec.category() != win32_category()) return {};
    switch (static_cast<win32_error>(ec.value())) {
    case win32_error::file_not_found: return "no server has created this pipe (see 'npipe list')";
    case win32_error::pipe_busy: return "try --wait MS";
    case win32_error::service_not_active:
        return "unset NPIPE_NO_AUTOSTART or start npiped (the system broker: npiped --system)";
    case win32_error::sem_timeout: return "no instance became free in time";
    case win32_error::invalid_name: return "NAME is \\\\.\\pipe\\NAME or NAME, 1 to 256 characters";
    case win32_error::bad_netpath: return "only local pipes (\\\\.\\pipe\\NAME) are supported";
    case win32_error::broken_pipe:
    case win32_error::no_data:
    case win32_error::pipe_not_connected: return "the other end closed the pipe";
    default: return {};
    }
}

void report_line(std::string_view text) {
    auto line = fmt::format("npipe: {}\n", text);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

/// "npipe: WHAT: ERROR_X (N): meaning; hint". An empty `hint` picks the usual one; "-" none.
void report(std::string_view what, const std::error_code& ec, std::string hint = {}) {
    if (hint.empty()) hint = default_hint(ec);
    if (hint == "-") hint.clear();
    report_line(hint.empty() ? fmt::format("{}: {}", what, ec.message())
                             : fmt::format("{}: {}; {}", what, ec.message(), hint));
}

/// The peer has gone (closed, or disconnected us): the normal end of a conversation.
bool peer_gone(const std::error_code& ec) {
    return ec == win32_error::broken_pipe || ec == win32_error::pipe_not_connected || ec == win32_error::no_data;
}

// ---- options ----------------------------------------------------------------------------------

/// "default" (the pipe's default timeout), "forever", or milliseconds.
std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
    if (text == "default") return use_default_wait;
    if (text == "forever" || text == "infinite") return wait_forever;
    long long ms = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (err != std::errc{} || end != text.data() + text.size() || ms < 0 || ms >= wait_forever.count())
        return std::nullopt;
    return std::chrono::milliseconds(ms);
}

int bad_usage(std::string_view text) {
    report_line(text);
    return exit_usage;
}

// ---- waiting ----------------------------------------------------------------------------------

/// A flag that a wait can watch (an eventfd that stays readable once set).
class event {
public:
    event() : fd_(os::make_wake_flag().value) {}
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    void set() noexcept {
        if (set_.exchange(true)) return;
        (void)os::set_wake_flag(fd_.get());
    }
    bool is_set() const noexcept { return set_.load(); }
    int fd() const noexcept { return fd_.get(); }

private:
    os::fd fd_;
    std::atomic<bool> set_{false};
};

enum class woke { ready, event, timeout };

/// Waits until `fd` is readable (or hung up, or invalid: the next read tells) or one of
/// `events` is set. `fd` < 0 waits for the events only. `timeout_ms` -1 waits forever.
woke wait_readable(int fd, std::initializer_list<const event*> events, int timeout_ms = -1) {
    std::array<os::io_watch, 4> watches;
    std::size_t count = 0;
    watches[count++] = {fd, os::io_ready::readable};
    for (const event* e : events)
        if (e) watches[count++] = {e->fd(), os::io_ready::readable};
    auto r = os::wait_ready(std::span(watches).first(count), timeout_ms);
    if (!r) return woke::ready; // let the read report it
    if (r.value == 0) return woke::timeout;
    for (std::size_t i = 1; i < count; ++i)
        if (watches[i].found != os::io_ready::none) return woke::event;
    return woke::ready;
}

/// Waits until a non-blocking `fd` takes more (or fails: the next write tells).
void wait_writable(int fd) {
    os::io_watch w{fd, os::io_ready::writable};
    (void)os::wait_ready(std::span(&w, 1), -1);
}

// ---- plain descriptors -------------------------------------------------------------------------

bool write_all(int fd, std::span<const std::byte> data, std::error_code& ec) {
    while (!data.empty()) {
        auto r = os::write_some(fd, data.data(), data.size());
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) { // a non-blocking stdout
                wait_writable(fd);
                continue;
            }
            ec = r.error;
            return false;
        }
        data = data.subspan(r.value);
    }
    return true;
}

/// read(2) of what is there; 0 at end of file. An unusable stdin counts as an empty one.
std::size_t read_some(int fd, std::span<std::byte> buffer, std::error_code& ec) {
    for (;;) {
        auto r = os::read_some(fd, buffer.data(), buffer.size());
        if (r) return r.value;
        if (r.error == std::errc::resource_unavailable_try_again) {
            wait_readable(fd, {});
            continue;
        }
        if (r.error != std::errc::bad_file_descriptor) ec = r.error;
        return 0;
    }
}

std::vector<std::byte> read_all(int fd, std::error_code& ec) {
    std::vector<std::byte> out;
    for (;;) {
        std::size_t used = out.size();
        out.resize(used + chunk_size);
        std::size_t n = read_some(fd, std::span(out).subspan(used), ec);
        out.resize(used + n);
        if (n == 0 || ec) return out;
    }
}

// ---- pipe I/O -------------------------------------------------------------------------------

/// One read: a whole message when `whole_message` (message read mode), else what is there.
/// An empty result without error is a zero-length message.
bool read_unit(pipe_end_base& p, bool whole_message, std::vector<std::byte>& out, std::error_code& ec) {
    out.clear();
    std::size_t used = 0;
    for (;;) {
        out.resize(used + chunk_size);
        auto r = p.read(std::span(out).subspan(used, chunk_size), ec);
        used += r.bytes;
        if (r.more_data && whole_message) {
            ec.clear();
            continue;
        }
        out.resize(used);
        if (r.more_data) ec.clear();
        return !ec;
    }
}

/// How the terminal (stdin/stdout) is joined to a pipe end.
struct bridge_options {
    bool can_read = true;        ///< this end reads the pipe (to stdout)
    bool can_write = true;       ///< this end writes the pipe (from stdin)
    bool message_pipe = false;   ///< each stdin read is a message; an empty message ends the data
    bool whole_messages = false; ///< message read mode
    const event* stop = nullptr; ///< ends the bridge early (signals)
    std::optional<std::chrono::milliseconds> quit_after; ///< after stdin ends, wait at most this
};

/// stdin -> pipe and pipe -> stdout until both directions are finished: the writing side at
/// stdin's end (an empty message on message pipes), the reading side when the peer closes
/// or (message pipes) sends an empty message. A peer that closes ends both. Returns the exit
/// status.
int bridge_stdio(pipe_end_base& p, const bridge_options& o) {
    event reader_over;    // the peer is gone or reading failed: stop writing too
    event writer_over;    // stdin is finished (starts --quit-after)
    event writer_failed;  // stop reading
    std::atomic<int> status{exit_ok};

    std::thread reader;
    if (o.can_read) {
        reader = std::thread([&] {
            std::vector<std::byte> buf;
            std::optional<clock::time_point> deadline;
            bool end_of_data = false; // the peer sent its end of data; it may still read ours
            for (;;) {
                // After the peer's end of data, wait for our side (stdin) only, or a hang-up.
                if (end_of_data && (!o.can_write || writer_over.is_set())) break;
                int timeout = -1;
                const event* watch_writer = end_of_data ? &writer_over : nullptr;
                if (o.quit_after) {
                    if (!deadline && writer_over.is_set()) deadline = clock::now() + *o.quit_after;
                    if (deadline) {
                        auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
                        timeout = static_cast<int>(std::clamp<long long>(left.count(), 0, 1'000'000'000));
                    } else {
                        watch_writer = &writer_over;
                    }
                }
                auto w = wait_readable(p.native_handle(), {o.stop, &writer_failed, watch_writer}, timeout);
                if (w == woke::timeout) break;
                if (w == woke::event) {
                    if ((o.stop && o.stop->is_set()) || writer_failed.is_set()) break;
                    continue; // stdin ended: the --quit-after clock starts, or end of data both ways
                }
                std::error_code ec;
                if (!read_unit(p, o.whole_messages, buf, ec)) {
                    if (!peer_gone(ec)) {
                        report(fmt::format("cannot read from {}", p.name()), ec);
                        status = exit_failure;
                    }
                    break;
                }
                if (buf.empty()) {
                    if (o.message_pipe) end_of_data = true;
                    continue;
                }
                if (!write_all(STDOUT_FILENO, buf, ec)) {
                    if (ec != std::errc::broken_pipe) report("cannot write to stdout", ec); // a reader left: quietly
                    status = exit_failure;
                    break;
                }
            }
            reader_over.set(); // nothing more to wait for: stop reading stdin
        });
    }

    if (o.can_write) {
        std::vector<std::byte> buf(chunk_size);
        for (;;) {
            auto w = wait_readable(STDIN_FILENO, {o.stop, &reader_over});
            if (w != woke::ready) break;
            std::error_code ec;
            std::size_t n = read_some(STDIN_FILENO, buf, ec);
            if (ec) {
                report("cannot read stdin", ec);
                status = exit_failure;
                writer_failed.set();
                break;
            }
            if (n == 0) {
                if (o.message_pipe) p.write({}, ec); // end of data; a peer that left needs none
                break;
            }
            p.write(std::span(buf).first(n), ec);
            if (ec) {
                if (!peer_gone(ec)) {
                    report(fmt::format("cannot write to {}", p.name()), ec);
                    status = exit_failure;
                    writer_failed.set();
                }
                break;
            }
        }
        writer_over.set();
    }
    if (reader.joinable()) reader.join();
    return status;
}

// ---- serve --------------------------------------------------------------------------------

enum class serve_mode { bridge, echo, exec };

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
};

struct server_state {
    std::string name;
    server_options options;
    serve_mode mode = serve_mode::echo;
    bool message = false;
    std::vector<std::string> command;
    event stop;

    std::mutex mutex;
    std::condition_variable changed;
    unsigned instances = 0; ///< instances this process has open
    unsigned idle = 0;      ///< of them, listening for a client
    unsigned running = 0;   ///< worker threads alive
    std::vector<std::thread> threads;
    int status = exit_ok;

    bool server_reads() const { return options.direction != pipe_direction::outbound; }
    bool server_writes() const { return options.direction != pipe_direction::inbound; }
};

/// ConnectNamedPipe that a stop request interrupts: PIPE_NOWAIT connect, poll, repeat.
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

void echo_session(server_instance& inst, server_state& st) {
    std::vector<std::byte> buf;
    for (;;) {
        if (wait_readable(inst.native_handle(), {&st.stop}) == woke::event) return;
        std::error_code ec;
        if (!read_unit(inst, st.message, buf, ec)) {
            if (!peer_gone(ec)) report(fmt::format("{}: cannot read from the client", st.name), ec);
            return;
        }
        if (buf.empty() && !st.message) continue;
        inst.write(buf, ec); // a message comes back as one message, an empty one too
        if (ec) {
            if (!peer_gone(ec)) report(fmt::format("{}: cannot write to the client", st.name), ec);
            return;
        }
    }
}

/// Client -> child's stdin, until the client leaves, ends its data, or the session ends.
void pump_to_child(server_instance& inst, anonymous_pipe_end& to_child, server_state& st,
                   const event& session_over, event& client_gone) {
    std::vector<std::byte> buf;
    bool child_reads = true;
    for (;;) {
        if (wait_readable(inst.native_handle(), {&st.stop, &session_over}) == woke::event) break;
        std::error_code ec;
        if (!read_unit(inst, st.message, buf, ec)) {
            if (!peer_gone(ec)) report(fmt::format("{}: cannot read from the client", st.name), ec);
            client_gone.set();
            break;
        }
        if (buf.empty()) {
            if (st.message) break; // end of data: the child's stdin ends
            continue;
        }
        if (child_reads) {
            to_child.write(buf, ec);
            if (ec) child_reads = false; // the child closed its stdin: drop the rest
        }
    }
    to_child.close();
}

/// Child's stdout -> client. True when the child's output ended (rather than the client or a
/// stop request ending the session).
bool pump_from_child(anonymous_pipe_end& from_child, server_instance& inst, server_state& st,
                     const event& client_gone) {
    std::vector<std::byte> buf(chunk_size);
    for (;;) {
        if (wait_readable(from_child.native_handle(), {&st.stop, &client_gone}) == woke::event) return false;
        std::error_code ec;
        std::size_t n = from_child.read(buf, ec);
        if (ec) {
            if (ec == win32_error::broken_pipe) return true;
            report(fmt::format("{}: cannot read the command's output", st.name), ec);
            return false;
        }
        inst.write(std::span(buf).first(n), ec); // one message per chunk on message pipes
        if (ec) {
            if (!peer_gone(ec)) report(fmt::format("{}: cannot write to the client", st.name), ec);
            return false;
        }
    }
}

void exec_session(server_instance& inst, server_state& st) {
    std::error_code ec;
    anonymous_pipe to_child, from_child;
    spawn_options so;
    so.program = st.command.front();
    so.args.assign(st.command.begin() + 1, st.command.end());
    os::fd devnull;
    if (st.server_reads()) {
        to_child = anonymous_pipe::create(0, false, ec);
        so.stdin_fd = to_child.read_end.native_handle();
    } else {
        devnull = os::open_path("/dev/null", O_RDONLY, 0).value;
        so.stdin_fd = devnull.get();
    }
    if (!ec && st.server_writes()) {
        from_child = anonymous_pipe::create(0, false, ec);
        so.stdout_fd = from_child.write_end.native_handle();
    } // an inbound pipe's command writes to our stdout
    if (ec) {
        report(fmt::format("{}: cannot create a pipe for the command", st.name), ec);
        return;
    }
    child_process child = child_process::spawn(so, ec);
    devnull.reset();
    to_child.read_end.close();
    from_child.write_end.close();
    if (ec) {
        report(fmt::format("cannot run {}", so.program), ec,
               ec == win32_error::file_not_found ? "no such program" : "");
        return;
    }

    event session_over, client_gone, reader_over;
    std::thread reader;
    if (st.server_reads()) {
        reader = std::thread([&] {
            pump_to_child(inst, to_child.write_end, st, session_over, client_gone);
            reader_over.set();
        });
    }
    if (st.server_writes()) {
        bool output_ended = pump_from_child(from_child.read_end, inst, st, client_gone);
        from_child.read_end.close(); // a child still writing gets EPIPE
        if (output_ended && !st.stop.is_set()) {
            if (st.message) inst.write({}, ec); // end of data
            inst.flush(ec);                     // the client has read it all before we disconnect
        }
    } else {
        wait_readable(-1, {&reader_over, &st.stop});
    }
    session_over.set();
    for (;;) {
        if (st.stop.is_set()) child.kill();
        child.wait(100ms, ec);
        if (ec != win32_error::wait_timeout) break;
    }
    if (reader.joinable()) reader.join();
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
            bridge_options o;
            o.can_read = st.server_reads();
            o.can_write = st.server_writes();
            o.message_pipe = o.whole_messages = st.message;
            o.stop = &st.stop;
            int status = bridge_stdio(inst, o);
            std::lock_guard lock(st.mutex);
            st.status = status;
            st.stop.set(); // the terminal serves one client
            return false;
        }
        if (st.mode == serve_mode::echo) echo_session(inst, st);
        else exec_session(inst, st);
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

int run_serve(const serve_args& a, const context& ctx) {
    if (a.echo && a.exec) return bad_usage("--echo and --exec exclude each other");
    if (a.echo && (a.inbound || a.outbound)) return bad_usage("--echo needs a duplex pipe (no --inbound/--outbound)");
    if (a.exec && ctx.exec_command.empty()) return bad_usage("--exec needs a command: --exec CMD [ARGS...]");
    if (a.inbound && a.outbound) return bad_usage("--inbound and --outbound exclude each other");

    auto st = std::make_unique<server_state>();
    st->name = expand_pipe_name(a.name);
    st->mode = a.echo ? serve_mode::echo : a.exec ? serve_mode::exec : serve_mode::bridge;
    st->message = a.message;
    st->command = ctx.exec_command;

    unsigned max = st->mode == serve_mode::bridge ? 1 : unlimited_instances;
    if (!a.instances.empty()) {
        if (a.instances == "unlimited") {
            max = unlimited_instances;
        } else {
            auto [end, err] = std::from_chars(a.instances.data(), a.instances.data() + a.instances.size(), max);
            if (err != std::errc{} || end != a.instances.data() + a.instances.size() || max < 1 ||
                max > unlimited_instances)
                return bad_usage(fmt::format("--instances: expected 1..255 or 'unlimited', not '{}'", a.instances));
        }
    }
    auto& o = st->options;
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
    o.max_instances = max;
    o.endpoint = ctx.endpoint();
    if (!a.default_timeout.empty()) {
        auto t = parse_timeout(a.default_timeout);
        if (!t || *t == wait_forever) return bad_usage("--default-timeout: expected milliseconds");
        o.default_timeout = *t;
    }

    std::error_code ec;
    auto first = server_instance::create(st->name, o, ec);
    if (ec) {
        std::string hint;
        if (ec == win32_error::access_denied)
            hint = a.first_instance ? "the pipe exists already (--first-instance)"
                                    : "the pipe exists with another type, direction or instance limit, "
                                      "or belongs to another user";
        else if (ec == win32_error::pipe_busy)
            hint = "the pipe's instance limit is reached";
        report(fmt::format("cannot create {}", st->name), ec, hint);
        return exit_failure;
    }
    std::string listening = fmt::format("listening on {}\n", first.name());
    std::fwrite(listening.data(), 1, listening.size(), stderr);
    std::fflush(stderr);

    // Signals arrive through a descriptor; every thread started from here on blocks them.
    os::fd signals = os::signal_descriptor({SIGINT, SIGTERM, SIGHUP}).value;

    {
        std::lock_guard lock(st->mutex);
        st->instances = st->idle = st->running = 1;
        st->threads.emplace_back(run_worker, std::ref(*st), std::move(first));
    }

    while (!st->stop.is_set()) {
        std::array<os::io_watch, 2> watches{{{st->stop.fd(), os::io_ready::readable},
                                             {signals.get(), os::io_ready::readable}}};
        if (!os::wait_ready(watches, -1)) break;
        if (watches[1].found != os::io_ready::none) {
            while (os::read_signal(signals.get())) {}
            st->stop.set();
        }
    }
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

// ---- connect, call, wait -----------------------------------------------------------------------

struct connect_args {
    std::string name;
    bool message = false;
    std::string wait;
    std::string quit_after;
};

int run_connect(const connect_args& a, const context& ctx) {
    std::string name = expand_pipe_name(a.name);
    std::optional<std::chrono::milliseconds> wait, quit_after;
    if (!a.wait.empty() && !(wait = parse_timeout(a.wait)))
        return bad_usage("--wait: expected milliseconds, 'default' or 'forever'");
    if (!a.quit_after.empty() && (a.quit_after == "default" || !(quit_after = parse_timeout(a.quit_after))))
        return bad_usage("--quit-after: expected milliseconds");
    if (quit_after && *quit_after == wait_forever) quit_after.reset();

    client_options co;
    co.endpoint = ctx.endpoint();
    // Open with the access the pipe's direction allows (a one-way pipe refuses the other).
    std::error_code ec;
    auto status = query_pipe(name, co.endpoint, ec);
    if (!ec) {
        co.read = status.direction != pipe_direction::inbound;
        co.write = status.direction != pipe_direction::outbound;
    }

    std::optional<clock::time_point> deadline;
    if (wait && *wait != wait_forever && *wait != use_default_wait) deadline = clock::now() + *wait;
    std::optional<client> c;
    for (;;) {
        c.emplace(client::open(name, co, ec));
        if (ec != win32_error::pipe_busy || !wait) break;
        std::chrono::milliseconds left = *wait;
        if (deadline) {
            left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
            if (left <= 0ms) break;
        }
        std::error_code wec;
        wait_named_pipe(name, left, co.endpoint, wec);
        if (wec) {
            report(fmt::format("cannot open {}", name), wec);
            return exit_failure;
        }
    }
    if (ec) {
        report(fmt::format("cannot open {}", name), ec,
               ec == win32_error::pipe_busy && wait ? "-" : "");
        return exit_failure;
    }
    bool message_pipe = c->info().type == pipe_type::message;
    if (a.message) {
        c->set_state(read_mode::message, std::nullopt, ec);
        if (ec) {
            report(fmt::format("cannot read {} in message mode", name), ec,
                   message_pipe ? "" : "it is a byte pipe (leave out --message)");
            return exit_failure;
        }
    }
    bridge_options o;
    o.can_read = co.read;
    o.can_write = co.write;
    o.message_pipe = message_pipe;
    o.whole_messages = a.message;
    o.quit_after = quit_after;
    return bridge_stdio(*c, o);
}

int run_call(const std::string& raw_name, const std::optional<std::string>& data, const std::string& timeout_text,
             const context& ctx) {
    std::string name = expand_pipe_name(raw_name);
    auto timeout = parse_timeout(timeout_text);
    if (!timeout) return bad_usage("--timeout: expected milliseconds, 'default' or 'forever'");
    std::error_code ec;
    std::vector<std::byte> request;
    if (data) {
        auto bytes = std::as_bytes(std::span(*data));
        request.assign(bytes.begin(), bytes.end());
    } else {
        request = read_all(STDIN_FILENO, ec);
        if (ec) {
            report("cannot read stdin", ec);
            return exit_failure;
        }
    }
    // CallNamedPipe waits once and tries once more; clients that wait together race for the
    // instance that frees up, so retry the losers until the time is up.
    auto where = ctx.endpoint();
    std::optional<clock::time_point> deadline;
    if (*timeout == use_default_wait) {
        std::error_code qec;
        auto p = query_pipe(name, where, qec);
        deadline = clock::now() + (qec || p.default_timeout.count() == 0 ? 50ms : p.default_timeout);
    } else if (*timeout != wait_forever) {
        deadline = clock::now() + *timeout;
    }
    std::vector<std::byte> reply(chunk_size);
    read_result r;
    for (;;) {
        auto left = wait_forever;
        if (deadline)
            left = std::max(1ms, std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now()));
        r = call_named_pipe(name, request, reply, left, where, ec);
        if (ec != win32_error::pipe_busy || (deadline && clock::now() >= *deadline)) break;
    }
    if (ec && ec != win32_error::more_data) {
        std::string hint;
        if (ec == win32_error::invalid_parameter || ec == win32_error::bad_pipe)
            hint = "call needs a message pipe (serve --message)";
        else if (ec == win32_error::pipe_busy || ec == win32_error::sem_timeout)
            hint = "try a longer --timeout";
        report(fmt::format("cannot call {}", name), ec, hint);
        return exit_failure;
    }
    bool truncated = ec == win32_error::more_data;
    std::error_code wec;
    write_all(STDOUT_FILENO, std::span(reply).first(r.bytes), wec);
    if (!wec && os::is_terminal(STDOUT_FILENO)) write_all(STDOUT_FILENO, std::as_bytes(std::span("\n", 1)), wec);
    if (wec) {
        report("cannot write to stdout", wec);
        return exit_failure;
    }
    if (truncated) {
        report_line(fmt::format("warning: the reply from {} is longer than {} bytes; the rest was dropped", name,
                                chunk_size));
        return exit_truncated;
    }
    return exit_ok;
}

int run_wait(const std::string& raw_name, const std::string& timeout_text, const context& ctx) {
    std::string name = expand_pipe_name(raw_name);
    auto timeout = parse_timeout(timeout_text);
    if (!timeout) return bad_usage("--timeout: expected milliseconds, 'default' or 'forever'");
    std::error_code ec;
    wait_named_pipe(name, *timeout, ctx.endpoint(), ec);
    if (ec) {
        report(ec == win32_error::sem_timeout ? fmt::format("{} is not available", name)
                                              : fmt::format("cannot wait for {}", name),
               ec);
        return exit_failure;
    }
    return exit_ok;
}

// ---- list, info, broker -----------------------------------------------------------------------

int print(const std::string& text) {
    std::error_code ec;
    if (!write_all(STDOUT_FILENO, std::as_bytes(std::span(text)), ec)) {
        report("cannot write to stdout", ec);
        return exit_failure;
    }
    return exit_ok;
}

int run_list(bool json, bool risky, const context& ctx) {
    std::error_code ec;
    auto pipes = list_pipes(ctx.endpoint(), ec);
    if (ec) {
        report("cannot list pipes", ec);
        return exit_failure;
    }
    if (!risky) return print(json ? to_json(pipes).dump(2) + "\n" : format_pipe_table(pipes));
    std::vector<pipe_status> flagged;
    std::vector<std::string> reasons;
    for (auto& p : pipes) {
        std::error_code parse_ec;
        auto sd = parse_sddl(p.sddl, parse_ec, nullptr, sid_policy::any);
        std::string why = sd ? risk_of(*sd) : "its descriptor cannot be read: " + p.sddl;
        if (why.empty()) continue;
        flagged.push_back(p);
        reasons.push_back(why);
    }
    if (json) {
        auto out = to_json(flagged);
        for (std::size_t i = 0; i < flagged.size(); ++i) out[i]["risk"] = reasons[i];
        return print(out.dump(2) + "\n");
    }
    if (flagged.empty()) return print("(no risky pipes)\n");
    std::string text;
    for (std::size_t i = 0; i < flagged.size(); ++i)
        text += fmt::format("{}\n    risk: {}\n    sddl: {}\n", flagged[i].name, reasons[i], flagged[i].sddl);
    return print(text);
}

/// The pipe `raw_name` names, or empty after saying why not.
std::optional<pipe_status> query_or_report(const std::string& name, const context& ctx) {
    std::error_code ec;
    auto p = query_pipe(name, ctx.endpoint(), ec);
    if (!ec) return p;
    report(fmt::format("cannot query {}", name), ec);
    return std::nullopt;
}

int run_acl(const std::string& raw_name, bool json, const context& ctx) {
    std::string name = expand_pipe_name(raw_name);
    auto found = query_or_report(name, ctx);
    if (!found) return exit_failure;
    const pipe_status& p = *found;
    std::error_code ec;
    sddl_error where;
    auto sd = parse_sddl(p.sddl, ec, &where, sid_policy::any);
    if (!sd) {
        report_line(fmt::format("{}: the broker reported a descriptor npipe cannot read ({}): {}", name,
                                where.message, p.sddl));
        return exit_failure;
    }
    return print(json ? acl_to_json(p, *sd).dump(2) + "\n" : format_acl(p, *sd));
}

int run_info(const std::string& raw_name, bool json, const context& ctx) {
    auto p = query_or_report(expand_pipe_name(raw_name), ctx);
    if (!p) return exit_failure;
    return print(json ? to_json(*p).dump(2) + "\n" : format_pipe_detail(*p));
}

int no_broker(const context& ctx) {
    report_line(fmt::format("no broker running (runtime directory {})", resolve_runtime_dir(ctx.endpoint())));
    return exit_failure;
}

int run_broker_status(bool json, const context& ctx) {
    std::error_code ec;
    auto b = get_broker_status(ctx.endpoint(), ec);
    if (ec == win32_error::service_not_active) return no_broker(ctx);
    if (ec) {
        report("cannot get the broker's status", ec);
        return exit_failure;
    }
    return print(json ? to_json(b).dump(2) + "\n" : format_broker_status(b));
}

int run_broker_stop(const context& ctx) {
    auto where = ctx.endpoint();
    std::error_code ec;
    auto b = get_broker_status(where, ec);
    // Its start time names this process for good: a zombie, or a new process with its pid, is
    // not it (0 when /proc does not say: then only whether the pid exists counts).
    std::uint64_t started = b.pid > 0 ? os::process_start_time(b.pid).value_or(0) : 0;
    if (!ec) stop_broker(where, ec);
    if (ec == win32_error::service_not_active) return print("no broker running\n");
    if (ec) {
        report("cannot stop the broker", ec, ec == win32_error::access_denied ? "only its owner or root may" : "");
        return exit_failure;
    }
    // Return once it is gone, so that its runtime directory may be removed at once.
    auto deadline = clock::now() + 5s;
    while (b.pid > 0 && clock::now() < deadline && os::process_running(b.pid, started))
        std::this_thread::sleep_for(10ms);
    return print(fmt::format("broker stopped (pid {})\n", b.pid));
}

} // namespace

// ---- command-line setup --------------------------------------------------------------------

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

runner setup_connect(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<connect_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_flag("--message", a->message,
                 "Message read mode: every message is read whole before it goes to stdout (needs a message pipe)");
    sub.add_option("--wait", a->wait,
                   "When every instance is busy, wait up to MS (or 'forever') for one (WaitNamedPipe) and retry")
        ->type_name("MS");
    sub.add_option("-q,--quit-after", a->quit_after,
                   "After stdin ends, wait at most MS for the server to close, then exit 0 (default: wait until it "
                   "closes)")
        ->type_name("MS");
    sub.footer(
        "Copies stdin to the pipe and the pipe to stdout until both are done: at the end of stdin connect stops\n"
        "writing and keeps reading until the server closes the pipe (exit 0).\n"
        "On a message pipe every read from stdin (up to 64 KiB; a line, on a terminal) is sent as one message, and\n"
        "messages received are written to stdout as they are, with nothing added. A zero-length message ends the\n"
        "data: connect sends one at the end of stdin and stops reading when it receives one. A byte pipe has no\n"
        "such signal (use -q). The pipe is opened for the access its direction allows.");
    return [a, &ctx] { return run_connect(*a, ctx); };
}

runner setup_call(CLI::App& sub, context& ctx) {
    struct args {
        std::string name;
        std::optional<std::string> data;
        std::string timeout = "default";
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_option("DATA", a->data, "The request message (default: all of stdin)");
    sub.add_option("--timeout", a->timeout,
                   "How long to wait for a free instance: MS, 'default' (the pipe's) or 'forever'")
        ->type_name("MS");
    sub.footer("Opens the pipe, sends one message, prints the reply (raw; a newline is added only on a terminal)\n"
               "and closes it. Needs a message pipe. Replies over 64 KiB are cut: the first 64 KiB are printed,\n"
               "with a warning, and the exit status is 3.");
    return [a, &ctx] { return run_call(a->name, a->data, a->timeout, ctx); };
}

runner setup_wait(CLI::App& sub, context& ctx) {
    struct args {
        std::string name;
        std::string timeout = "default";
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_option("--timeout", a->timeout, "MS, 'default' (the pipe's default timeout) or 'forever'")
        ->type_name("MS");
    sub.footer("Exits 0 once an instance is listening. Fails at once with ERROR_FILE_NOT_FOUND when the pipe\n"
               "does not exist, and with ERROR_SEM_TIMEOUT when the time runs out.");
    return [a, &ctx] { return run_wait(a->name, a->timeout, ctx); };
}

runner setup_list(CLI::App& sub, context& ctx) {
    struct args {
        bool json = false;
        bool risky = false;
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_flag("--json", a->json, "Print a JSON array of pipes");
    sub.add_flag("--risky", a->risky,
                 "Only pipes whose DACL lets Everyone, Anonymous or NETWORK write to them or create instances");
    sub.footer("Plain output: one row per pipe and an indented row per instance; \"(no pipes)\" when there are\n"
               "none. With --risky, each pipe is followed by why it is risky (JSON: a \"risk\" key). Never starts\n"
               "a broker.");
    return [a, &ctx] { return run_list(a->json, a->risky, ctx); };
}

/// A command that takes one pipe NAME and --json.
runner name_and_json_command(CLI::App& sub, context& ctx, const char* json_help,
                             int (*run)(const std::string&, bool, const context&)) {
    struct args {
        std::string name;
        bool json = false;
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_flag("--json", a->json, json_help);
    return [a, &ctx, run] { return run(a->name, a->json, ctx); };
}

runner setup_acl(CLI::App& sub, context& ctx) {
    sub.footer("One entry per ACE, in the order they are evaluated: R W C = may read, write, create instances\n"
               "(DENY for a deny ACE), the trustee, then its rights. Users and groups are Samba's SIDs\n"
               "(S-1-22-1-<uid>, S-1-22-2-<gid>).");
    return name_and_json_command(sub, ctx, "Print a JSON object (owner_sid, group_sid, sddl, dacl)", run_acl);
}

runner setup_info(CLI::App& sub, context& ctx) {
    return name_and_json_command(sub, ctx, "Print a JSON object", run_info);
}

runner setup_broker(CLI::App& sub, context& ctx) {
    auto json = std::make_shared<bool>(false);
    add_endpoint_options(sub, ctx);
    sub.require_subcommand(1);
    CLI::App* status = sub.add_subcommand("status", "Show the broker's pid, uid, scope, directory, uptime and counters "
                                                    "(exit 1 when none runs)");
    add_endpoint_options(*status, ctx);
    status->add_flag("--json", *json, "Print a JSON object");
    CLI::App* stop = sub.add_subcommand("stop", "Ask the broker to exit and wait until it has (exit 0 when none runs)");
    add_endpoint_options(*stop, ctx);
    return [json, status, &ctx] { return status->parsed() ? run_broker_status(*json, ctx) : run_broker_stop(ctx); };
}

} // namespace npipe::cli
