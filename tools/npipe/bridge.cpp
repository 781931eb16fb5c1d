#include "bridge.hpp"

#include "context.hpp"
#include "output.hpp"

#include <fmt/format.h>

#include <unistd.h> // STDIN_FILENO, STDOUT_FILENO

#include <algorithm>
#include <atomic>
#include <thread>

namespace npipe::cli {
namespace {

using clock = std::chrono::steady_clock;

/// What the two directions of a bridge tell each other.
struct bridge_state {
    event reader_over;   // the peer is gone or reading failed: stop writing too
    event writer_over;   // stdin is finished (starts --quit-after)
    event writer_failed; // stop reading
    std::atomic<int> status{exit_ok};
};

/// How long the reading side may still wait: -1 (forever) until --quit-after's clock runs.
int reading_timeout(const bridge_options& o, bridge_state& s, std::optional<clock::time_point>& deadline) {
    if (!o.quit_after) return -1;
    if (!deadline && s.writer_over.is_set()) deadline = clock::now() + *o.quit_after;
    if (!deadline) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 1'000'000'000));
}

/// pipe -> stdout, on its own thread.
void pipe_to_stdout(pipe_end_base& p, const bridge_options& o, bridge_state& s) {
    std::vector<std::byte> buf;
    std::optional<clock::time_point> deadline;
    bool end_of_data = false; // the peer sent its end of data; it may still read ours
    for (;;) {
        // After the peer's end of data, wait for our side (stdin) only, or a hang-up.
        if (end_of_data && (!o.can_write || s.writer_over.is_set())) break;
        int timeout = reading_timeout(o, s, deadline);
        // Stdin's end matters after the peer's end of data, and to start the --quit-after clock.
        const event* watch_writer = end_of_data || (o.quit_after && !deadline) ? &s.writer_over : nullptr;
        auto w = wait_readable(p.native_handle(), {o.stop, &s.writer_failed, watch_writer}, timeout);
        if (w == woke::timeout) break;
        if (w == woke::event) {
            if ((o.stop && o.stop->is_set()) || s.writer_failed.is_set()) break;
            continue; // stdin ended: the --quit-after clock starts, or end of data both ways
        }
        std::error_code ec;
        if (!read_unit(p, o.whole_messages, buf, ec)) {
            if (!peer_gone(ec)) {
                report(fmt::format("cannot read from {}", p.name()), ec);
                s.status = exit_failure;
            }
            break;
        }
        if (buf.empty()) {
            if (o.message_pipe) end_of_data = true;
            continue;
        }
        if (!write_all(STDOUT_FILENO, buf, ec)) {
            if (ec != std::errc::broken_pipe) report("cannot write to stdout", ec); // a reader left: quietly
            s.status = exit_failure;
            break;
        }
    }
    s.reader_over.set(); // nothing more to wait for: stop reading stdin
}

/// stdin -> pipe.
void stdin_to_pipe(pipe_end_base& p, const bridge_options& o, bridge_state& s) {
    std::vector<std::byte> buf(chunk_size);
    for (;;) {
        auto w = wait_readable(STDIN_FILENO, {o.stop, &s.reader_over});
        if (w != woke::ready) break;
        std::error_code ec;
        std::size_t n = read_some(STDIN_FILENO, buf, ec);
        if (ec) {
            report("cannot read stdin", ec);
            s.status = exit_failure;
            s.writer_failed.set();
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
                s.status = exit_failure;
                s.writer_failed.set();
            }
            break;
        }
    }
    s.writer_over.set();
}

} // namespace

int bridge_stdio(pipe_end_base& p, const bridge_options& o) {
    bridge_state s;
    std::thread reader;
    if (o.can_read) reader = std::thread([&] { pipe_to_stdout(p, o, s); });
    if (o.can_write) stdin_to_pipe(p, o, s);
    if (reader.joinable()) reader.join();
    return s.status;
}

} // namespace npipe::cli
