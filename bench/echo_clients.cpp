// bench/echo_clients.cpp - many clients at once against one echo server peer (echo_servers.cpp):
// every client thread connects, all start together, and each sends a message and reads the echo
// back, again and again, for the run's time.
#include "common.hpp"
#include "unix_sockets.hpp"

#include <atomic>
#include <barrier>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace bench {
namespace {

npipe::client open_busy(const std::string& name) {
    auto deadline = clock::now() + std::chrono::seconds(20);
    for (;;) {
        std::error_code ec;
        npipe::client_options o;
        o.endpoint = bench_endpoint();
        auto c = npipe::client::open(name, o, ec);
        if (!ec) return c;
        if (clock::now() > deadline) throw std::system_error(ec, "open " + name);
        if (ec == npipe::win32_error::pipe_busy) npipe::wait_named_pipe(name, std::chrono::milliseconds(1000), o.endpoint, ec);
        else std::this_thread::yield(); // between two instances of a thread-per-client server
    }
}

/// The Threads: line of /proc/PID/status.
long thread_count(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(f, line);)
        if (line.starts_with("Threads:")) return std::stol(line.substr(8));
    return -1;
}

/// Every client echoes `message`-byte messages through `exchange(i, out, in)` for `seconds`, all
/// starting together; `server` is the peer they talk to (its threads are counted meanwhile).
template <class Exchange>
echo_result drive_clients(peer& server, std::size_t clients, std::size_t message, double seconds, Exchange exchange) {
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> failures{0};
    std::vector<std::size_t> round_trips(clients, 0);
    std::barrier start(static_cast<std::ptrdiff_t>(clients + 1));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < clients; ++i)
        threads.emplace_back([&, i] {
            std::vector<std::byte> out(message, std::byte{0x42}), in(message);
            start.arrive_and_wait();
            try {
                while (!stop.load(std::memory_order_relaxed)) {
                    exchange(i, out, in);
                    ++round_trips[i];
                }
            } catch (const std::exception&) {
                failures.fetch_add(1);
            }
        });
    start.arrive_and_wait();
    auto t0 = clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    echo_result r;
    r.server_threads = thread_count(server.pid());
    stop.store(true);
    for (auto& t : threads) t.join();
    double elapsed = seconds_since(t0);
    if (failures.load()) throw std::runtime_error(std::to_string(failures.load()) + " client(s) failed");

    // The mean round trip over all clients' time (Little's law): a median over every sample
    // would favour the clients a server serves most often, and hide the ones it starves.
    std::size_t total = 0;
    for (auto n : round_trips) total += n;
    if (total == 0) throw std::runtime_error("no round trip completed");
    r.mean_round_trip_us = static_cast<double>(clients) * elapsed * 1e6 / static_cast<double>(total);
    r.mib_per_second = static_cast<double>(total * message) / elapsed / (1024.0 * 1024.0);
    return r;
}

} // namespace

echo_result run_echo_clients(const std::vector<std::string>& server_args, const std::string& name,
                             std::size_t clients, std::size_t message, double seconds) {
    peer server(server_args);
    server.wait_ready();
    watchdog guard(server, std::chrono::milliseconds(static_cast<long>(seconds * 1000) + 30000));
    std::vector<npipe::client> ends;
    for (std::size_t i = 0; i < clients; ++i) ends.push_back(open_busy(name));
    return drive_clients(server, clients, message, seconds, [&](std::size_t i, auto& out, auto& in) {
        write_all(ends[i], out);
        if (read_exact(ends[i], in) != in.size()) throw std::runtime_error("short echo");
    }); // `ends` closes after: the server sees every client go
}

echo_result run_echo_clients_bare(const std::vector<std::string>& server_args, const std::string& path,
                                  std::size_t clients, std::size_t message, double seconds) {
    peer server(server_args);
    server.wait_ready();
    watchdog guard(server, std::chrono::milliseconds(static_cast<long>(seconds * 1000) + 30000));
    auto addr = unix_address(path);
    std::vector<std::unique_ptr<closing_fd>> ends;
    for (std::size_t i = 0; i < clients; ++i) ends.push_back(std::make_unique<closing_fd>(unix_connect(addr)));
    return drive_clients(server, clients, message, seconds, [&](std::size_t i, auto& out, auto& in) {
        write_all(ends[i]->fd, out.data(), out.size());
        if (!read_exact(ends[i]->fd, in.data(), in.size())) throw std::runtime_error("no echo");
    });
}

} // namespace bench
