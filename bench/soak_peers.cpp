// bench/soak_peers.cpp - the user-scope peers: echo servers and the clients that hold and check
// connections.
//
//   server NAME COUNT                 COUNT message-mode instances of NAME, each on its own thread
//                                     in ConnectNamedPipe, echoing every message; "ready" once all
//                                     exist; on 'q' prints "stats ..." and exits
//   clients FIRST_ID COUNT BYTES NAME...  opens COUNT connections round-robin over the NAMEs,
//                                     "ready"; on 'g' each connection echoes its share of BYTES in
//                                     messages of 0..64 KiB, checking every byte and every size;
//                                     "half" once half is sent; "result ..." at the end; exits
#include "soak.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace soak {
namespace {

// ---- servers --------------------------------------------------------------------------------

struct server_counters {
    std::atomic<unsigned long> connects{0}, errors{0}, oversize{0};
};

/// One instance's life: ConnectNamedPipe, echo until the client goes, DisconnectNamedPipe.
void echo_instance(npipe::server_instance& s, server_counters& c) {
    std::vector<std::byte> buf(max_message);
    for (;;) {
        std::error_code ec;
        s.connect(ec);
        if (ec && ec != npipe::win32_error::no_data) {
            ++c.errors;
            std::this_thread::sleep_for(10ms); // not a busy loop while something is wrong
            continue;
        }
        ++c.connects;
        for (;;) {
            auto r = s.read(buf, ec);
            if (ec) break; // ERROR_BROKEN_PIPE: the client closed
            if (r.more_data) ++c.oversize;
            s.write(std::span<const std::byte>(buf.data(), r.bytes), ec);
            if (ec) break;
        }
        s.disconnect(ec);
        if (ec) ++c.errors;
    }
}

int serve(const std::string& name, int count) {
    npipe::server_options so;
    so.type = npipe::pipe_type::message;
    so.read_mode = npipe::read_mode::message;
    so.max_instances = 255;
    std::vector<npipe::server_instance> instances;
    instances.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) instances.push_back(npipe::server_instance::create(name, so));
    static server_counters counters;
    for (auto& s : instances) std::thread(echo_instance, std::ref(s), std::ref(counters)).detach();
    status_line("ready");
    while (wait_command(1h) != 'q') {
    }
    status_line("stats connects=" + std::to_string(counters.connects) + " errors=" + std::to_string(counters.errors) +
                " oversize=" + std::to_string(counters.oversize));
    std::fflush(nullptr);
    std::_Exit(0); // the instance threads wait in ConnectNamedPipe: not joined
}

// ---- clients ----------------------------------------------------------------------------------

/// 128 KiB of fixed pseudo-random bytes; message k of connection c is a slice of it.
const std::vector<std::byte>& pattern() {
    static const std::vector<std::byte> p = [] {
        std::vector<std::byte> v(2 * max_message);
        std::uint64_t x = 0x9e3779b97f4a7c15ULL;
        for (auto& b : v) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b = static_cast<std::byte>(x >> 24);
        }
        return v;
    }();
    return p;
}

std::span<const std::byte> message_of(std::uint64_t connection, std::uint64_t seq) {
    std::uint64_t h = connection * 0x100000001b3ULL + seq * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 31, h *= 0xbf58476d1ce4e5b9ULL, h ^= h >> 29;
    // a quarter small (0..64 bytes, zero-length messages included), the rest up to 64 KiB
    std::size_t length = (h & 3) == 0 ? (h >> 8) % 65 : 1 + (h >> 8) % max_message;
    std::size_t offset = (h >> 40) % max_message;
    return {pattern().data() + offset, length};
}

struct echo_totals {
    std::atomic<std::uint64_t> sent{0}, verified{0}, corrupt{0}, errors{0};
    std::atomic<bool> half_said{false};
    std::atomic<bool> cancelled{false}; ///< the driver said something else than 'g'
    std::uint64_t total = 0;
    std::mutex m;
    std::vector<std::string> error_texts;

    void error(const std::string& what) {
        ++errors;
        std::lock_guard lock(m);
        if (error_texts.size() < 3) error_texts.push_back(what);
    }
};

/// Starts and waits at `go` (with its buffer touched), so the timing covers the echo alone.
void echo_share(npipe::client& c, std::uint64_t id, std::uint64_t share, echo_totals& t, std::latch& ready,
                std::latch& go) {
    std::vector<std::byte> buf(max_message, std::byte{1});
    ready.count_down();
    go.wait();
    std::uint64_t sent_here = 0;
    for (std::uint64_t seq = 0; sent_here < share && !t.cancelled; ++seq) {
        auto msg = message_of(id, seq);
        msg = msg.first(std::min<std::uint64_t>(msg.size(), share - sent_here)); // the share, exactly
        std::error_code ec;
        c.write(msg, ec);
        if (ec) return t.error("write: " + ec.message());
        sent_here += msg.size();
        if (t.sent += msg.size(); t.sent >= t.total / 2 && !t.half_said.exchange(true)) status_line("half");
        auto r = c.read(buf, ec);
        if (ec) return t.error("read: " + ec.message());
        if (r.more_data || r.bytes != msg.size() || std::memcmp(buf.data(), msg.data(), msg.size()) != 0) {
            ++t.corrupt; // the stream is out of step now: this connection stops
            return;
        }
        t.verified += msg.size();
    }
}

npipe::client open_patiently(const std::string& name) {
    auto deadline = clock::now() + 60s;
    for (;;) {
        std::error_code ec;
        auto c = npipe::client::open(name, {}, ec);
        if (!ec) return c;
        if (clock::now() > deadline) throw std::system_error(ec, "open " + name);
        if (ec == npipe::win32_error::pipe_busy) npipe::wait_named_pipe(name, 1s, {}, ec);
        else std::this_thread::sleep_for(5ms); // the broker is coming back: try again
    }
}

std::string result_line(const echo_totals& t, double seconds) {
    char line[256];
    std::snprintf(line, sizeof line, "result sent=%llu verified=%llu corrupt=%llu errors=%llu seconds=%.6f",
                  static_cast<unsigned long long>(t.sent), static_cast<unsigned long long>(t.verified),
                  static_cast<unsigned long long>(t.corrupt), static_cast<unsigned long long>(t.errors), seconds);
    return line;
}

int hold_and_echo(std::uint64_t first_id, int count, std::uint64_t bytes, const std::vector<std::string>& names) {
    std::vector<npipe::client> connections;
    for (int i = 0; i < count; ++i) {
        connections.push_back(open_patiently(names[static_cast<std::size_t>(i) % names.size()]));
        connections.back().set_state(npipe::read_mode::message, std::nullopt);
    }
    echo_totals t;
    t.total = bytes;
    std::uint64_t share = (bytes + static_cast<std::uint64_t>(count) - 1) / static_cast<std::uint64_t>(count);
    std::latch ready(count), go(1);
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < connections.size(); ++i)
        threads.emplace_back(echo_share, std::ref(connections[i]), first_id + i, share, std::ref(t), std::ref(ready),
                             std::ref(go));
    ready.wait();
    status_line("ready " + std::to_string(count));
    t.cancelled = wait_command(600s) != 'g';
    auto t0 = clock::now();
    go.count_down();
    for (auto& th : threads) th.join();
    double seconds = seconds_since(t0);
    for (const auto& e : t.error_texts) status_line("error " + e);
    status_line(result_line(t, seconds));
    return t.cancelled ? 1 : 0;
}

} // namespace

int run_peer(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    die_with_driver();
    std::string role = argc > 0 ? argv[0] : "";
    std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    try {
        if (role == "server" && args.size() == 2) return serve(args[0], std::stoi(args[1]));
        if (role == "clients" && args.size() >= 4)
            return hold_and_echo(std::stoull(args[0]), std::stoi(args[1]), std::stoull(args[2]),
                                 std::vector<std::string>(args.begin() + 3, args.end()));
        return run_flood_peer(role, args);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-soak peer %s: %s\n", role.c_str(), e.what());
        try {
            status_line(std::string("failed ") + e.what());
        } catch (...) {
        }
        return 1;
    }
}

} // namespace soak
