// npipe connect, call, wait: the commands that use a pipe as a client - netcat for pipes,
// CallNamedPipe (without its fixed reply buffer), WaitNamedPipe.
#include "bridge.hpp"
#include "commands.hpp"
#include "output.hpp"
#include "remote_login.hpp"

#include "os/stdio.hpp"

#include <npipe/named_pipe.hpp>
#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h> // STDIN_FILENO, STDOUT_FILENO

#include <memory>

namespace npipe::cli {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

// ---- connect -----------------------------------------------------------------------------------

struct connect_args {
    std::string name;
    login_args login;
    bool message = false;
    std::string wait;
    std::string quit_after;
};

/// CreateFile; while every instance is busy and `wait` allows, WaitNamedPipe and again. Empty
/// after saying why not.
std::optional<client> open_client(const std::string& name, const client_options& co,
                                  std::optional<std::chrono::milliseconds> wait) {
    std::optional<clock::time_point> deadline;
    if (wait && *wait != wait_forever && *wait != use_default_wait) deadline = clock::now() + *wait;
    std::error_code ec;
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
            return std::nullopt;
        }
    }
    if (ec) {
        report(fmt::format("cannot open {}", name), ec, ec == win32_error::pipe_busy && wait ? "-" : "");
        return std::nullopt;
    }
    return c;
}

int run_connect(const connect_args& a, const context& ctx) {
    std::string name = expand_pipe_name(a.name);
    if (int status = log_in(a.login, name); status != exit_ok) return status;
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
    auto c = open_client(name, co, wait);
    if (!c) return exit_failure;
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

// ---- call --------------------------------------------------------------------------------------

struct call_args {
    std::string name;
    login_args login;
    std::optional<std::string> data;
    std::string timeout = "default";
};

/// When a call gives up waiting for a free instance: `timeout` from now, the pipe's default
/// for use_default_wait, never for wait_forever.
std::optional<clock::time_point> call_deadline(const std::string& name, std::chrono::milliseconds timeout,
                                               const endpoint& where) {
    if (timeout == wait_forever) return std::nullopt;
    if (timeout != use_default_wait) return clock::now() + timeout;
    std::error_code ec;
    auto p = query_pipe(name, where, ec);
    return clock::now() + (ec || p.default_timeout.count() == 0 ? 50ms : p.default_timeout);
}

/// CallNamedPipe's steps without its fixed reply buffer: open (when every instance is busy, one
/// WaitNamedPipe of `left` and one more try), message read mode, send `request` and read the
/// first `reply.size()` bytes of the answer. ERROR_MORE_DATA in `ec` when more of it follows.
std::optional<client> start_call(const std::string& name, std::span<const std::byte> request,
                                 std::span<std::byte> reply, std::size_t& got, std::chrono::milliseconds left,
                                 const endpoint& where, std::error_code& ec) {
    client_options co;
    co.endpoint = where;
    std::optional<client> c(client::open(name, co, ec));
    if (ec == win32_error::pipe_busy) {
        wait_named_pipe(name, left, where, ec);
        if (ec) return std::nullopt;
        c.emplace(client::open(name, co, ec));
    }
    if (ec) return std::nullopt;
    c->set_state(read_mode::message, std::nullopt, ec);
    if (ec) return std::nullopt;
    got = c->transact(request, reply, ec).bytes;
    return c;
}

/// Writes the reply to stdout: `first`, then, while the message goes on (`more`), the rest as it
/// is read. A newline follows on a terminal.
int print_reply(client& c, const std::string& name, std::span<const std::byte> first, bool more) {
    std::vector<std::byte> buf(chunk_size);
    std::span<const std::byte> part = first;
    for (;;) {
        std::error_code wec;
        if (!write_all(STDOUT_FILENO, part, wec)) {
            report("cannot write to stdout", wec);
            return exit_failure;
        }
        if (!more) break;
        std::error_code ec;
        auto r = c.read(buf, ec);
        more = ec == win32_error::more_data;
        if (ec && !more) {
            report(fmt::format("cannot read the rest of the reply from {}", name), ec);
            return exit_failure;
        }
        part = std::span(buf).first(r.bytes);
    }
    std::error_code wec;
    if (os::is_terminal(STDOUT_FILENO) && !write_all(STDOUT_FILENO, std::as_bytes(std::span("\n", 1)), wec)) {
        report("cannot write to stdout", wec);
        return exit_failure;
    }
    return exit_ok;
}

int run_call(const call_args& a, const context& ctx) {
    std::string name = expand_pipe_name(a.name);
    if (int status = log_in(a.login, name); status != exit_ok) return status;
    auto timeout = parse_timeout(a.timeout);
    if (!timeout) return bad_usage("--timeout: expected milliseconds, 'default' or 'forever'");
    std::error_code ec;
    std::vector<std::byte> request;
    if (a.data) {
        auto bytes = std::as_bytes(std::span(*a.data));
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
    auto deadline = call_deadline(name, *timeout, where);
    std::vector<std::byte> reply(chunk_size);
    std::size_t got = 0;
    std::optional<client> c;
    for (;;) {
        auto left = wait_forever;
        if (deadline)
            left = std::max(1ms, std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now()));
        c = start_call(name, request, reply, got, left, where, ec);
        if (ec != win32_error::pipe_busy || (deadline && clock::now() >= *deadline)) break;
    }
    bool more = ec == win32_error::more_data; // longer than the first read: the rest follows
    if (ec && !more) {
        std::string hint;
        if (ec == win32_error::invalid_parameter || ec == win32_error::bad_pipe)
            hint = "call needs a message pipe (serve --message)";
        else if (ec == win32_error::pipe_busy || ec == win32_error::sem_timeout)
            hint = "try a longer --timeout";
        report(fmt::format("cannot call {}", name), ec, hint);
        return exit_failure;
    }
    return print_reply(*c, name, std::span(reply).first(got), more);
}

// ---- wait --------------------------------------------------------------------------------------

struct wait_args {
    std::string name;
    login_args login;
    std::string timeout = "default";
};

int run_wait(const wait_args& a, const context& ctx) {
    std::string name = expand_pipe_name(a.name);
    if (int status = log_in(a.login, name); status != exit_ok) return status;
    auto timeout = parse_timeout(a.timeout);
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

} // namespace

runner setup_connect(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<connect_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: NAME, \\\\.\\pipe\\NAME, \\\\HOST\\pipe\\NAME or //HOST/NAME")->required();
    add_login_options(sub, a->login);
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
    auto a = std::make_shared<call_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: NAME, \\\\.\\pipe\\NAME, \\\\HOST\\pipe\\NAME or //HOST/NAME")->required();
    add_login_options(sub, a->login);
    sub.add_option("DATA", a->data, "The request message (default: all of stdin)");
    sub.add_option("--timeout", a->timeout,
                   "How long to wait for a free instance: MS, 'default' (the pipe's) or 'forever'")
        ->type_name("MS");
    sub.footer("Opens the pipe, sends one message, prints the whole reply, however long (raw; a newline is added\n"
               "only on a terminal) and closes it. Needs a message pipe.");
    return [a, &ctx] { return run_call(*a, ctx); };
}

runner setup_wait(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<wait_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: NAME, \\\\.\\pipe\\NAME, \\\\HOST\\pipe\\NAME or //HOST/NAME")->required();
    add_login_options(sub, a->login);
    sub.add_option("--timeout", a->timeout, "MS, 'default' (the pipe's default timeout) or 'forever'")
        ->type_name("MS");
    sub.footer("Exits 0 once an instance is listening. Fails at once with ERROR_FILE_NOT_FOUND when the pipe\n"
               "does not exist, and with ERROR_SEM_TIMEOUT when the time runs out.");
    return [a, &ctx] { return run_wait(*a, ctx); };
}

} // namespace npipe::cli
