// npipe serve --exec CMD [ARGS...]: each client talks to a new run of CMD. Data is pumped
// between the pipe and the child: on a message pipe each message is written to the child's
// stdin and each chunk the child writes becomes one message; a zero-length message from the
// client closes the child's stdin, and one is sent when the child's stdout ends.
#include "serve.hpp"

#include "output.hpp"

#include "os/fd.hpp"

#include <npipe/anonymous_pipe.hpp>

#include <fmt/format.h>

#include <fcntl.h> // O_RDONLY

namespace npipe::cli {
namespace {

using namespace std::chrono_literals;

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

/// The child and the pipes to its stdin and from its stdout (the ends it does not use).
struct child_run {
    child_process child;
    anonymous_pipe to_child, from_child;
};

/// Starts the command: its stdin from a pipe when the server reads (else /dev/null), its stdout
/// to a pipe when the server writes (else ours). False after saying why not.
bool start_child(server_state& st, child_run& run) {
    std::error_code ec;
    spawn_options so;
    so.program = st.command.front();
    so.args.assign(st.command.begin() + 1, st.command.end());
    os::fd devnull;
    if (st.server_reads()) {
        run.to_child = anonymous_pipe::create(0, false, ec);
        so.stdin_fd = run.to_child.read_end.native_handle();
    } else {
        devnull = os::open_path("/dev/null", O_RDONLY, 0).value;
        so.stdin_fd = devnull.get();
    }
    if (!ec && st.server_writes()) {
        run.from_child = anonymous_pipe::create(0, false, ec);
        so.stdout_fd = run.from_child.write_end.native_handle();
    } // an inbound pipe's command writes to our stdout
    if (ec) {
        report(fmt::format("{}: cannot create a pipe for the command", st.name), ec);
        return false;
    }
    run.child = child_process::spawn(so, ec);
    run.to_child.read_end.close();
    run.from_child.write_end.close();
    if (ec) {
        report(fmt::format("cannot run {}", so.program), ec,
               ec == win32_error::file_not_found ? "no such program" : "");
        return false;
    }
    return true;
}

} // namespace

void exec_session(server_instance& inst, server_state& st) {
    child_run run;
    if (!start_child(st, run)) return;
    std::error_code ec;
    event session_over, client_gone, reader_over;
    std::thread reader;
    if (st.server_reads()) {
        reader = std::thread([&] {
            pump_to_child(inst, run.to_child.write_end, st, session_over, client_gone);
            reader_over.set();
        });
    }
    if (st.server_writes()) {
        bool output_ended = pump_from_child(run.from_child.read_end, inst, st, client_gone);
        run.from_child.read_end.close(); // a child still writing gets EPIPE
        if (output_ended && !st.stop.is_set()) {
            if (st.message) inst.write({}, ec); // end of data
            inst.flush(ec);                     // the client has read it all before we disconnect
        }
    } else {
        wait_readable(-1, {&reader_over, &st.stop});
    }
    session_over.set();
    for (;;) {
        if (st.stop.is_set()) run.child.kill();
        run.child.wait(100ms, ec);
        if (ec != win32_error::wait_timeout) break;
    }
    if (reader.joinable()) reader.join();
}

} // namespace npipe::cli
