// bench/common.hpp - pieces shared by the benchmark driver and its peer processes.
//
// The driver (main.cpp) measures; every case's other end runs in a separate process, the same
// binary re-executed with `--peer ROLE ARGS...` (peers.cpp). A peer finds its descriptors at
// fixed numbers: status_fd (it writes one byte there when it is ready to be talked to) and, for
// the socketpair baselines, socket_fd.
#pragma once

#include <npipe/named_pipe.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <sys/types.h>

namespace bench {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point t0) {
    return std::chrono::duration<double>(clock::now() - t0).count();
}

/// Runs `once` repeatedly for about `seconds` after a warm-up; returns seconds per call.
template <class F>
double time_loop(double seconds, int warmup, F&& once) {
    for (int i = 0; i < warmup; ++i) once();
    long n = 0;
    auto t0 = clock::now();
    double elapsed;
    do {
        once();
        ++n;
    } while ((elapsed = seconds_since(t0)) < seconds);
    return elapsed / static_cast<double>(n);
}

/// Runs `once` repeatedly for about `seconds` after a warm-up, timing every call; returns the
/// median call in seconds. The median, unlike the mean, ignores the calls that waited for a CPU
/// taken by something else on a busy machine.
template <class F>
double median_call(double seconds, int warmup, F&& once) {
    for (int i = 0; i < warmup; ++i) once();
    std::vector<float> t;
    t.reserve(1 << 16);
    auto start = clock::now(), prev = start;
    do {
        once();
        auto now = clock::now();
        t.push_back(std::chrono::duration<float>(now - prev).count());
        prev = now;
    } while (std::chrono::duration<double>(prev - start).count() < seconds);
    auto mid = t.begin() + static_cast<std::ptrdiff_t>(t.size() / 2);
    std::nth_element(t.begin(), mid, t.end());
    return static_cast<double>(*mid);
}

constexpr int status_fd = 3;
constexpr int socket_fd = 4;
constexpr std::size_t small_message = 64;
constexpr std::size_t read_buffer_size = 64 * 1024;
/// First byte of a connection-rate request that tells the server to stop after replying.
constexpr std::byte quit_marker{'Q'};
constexpr std::byte plain_marker{'x'};

/// The private runtime directory, from NPIPE_RUNTIME_DIR (the driver sets it before anything).
npipe::endpoint bench_endpoint();

// Plain descriptors. Both throw std::system_error on failure.
void write_all(int fd, const void* data, std::size_t n);
/// Reads exactly n bytes; false on end of stream before the first byte, throws on a short read.
bool read_exact(int fd, void* data, std::size_t n);
/// One frame of the framing floor into `frame` (a 4-byte little-endian length, then exactly that
/// many bytes, which must fill the rest of `frame`): two reads that never block, with a poll()
/// when the socket is empty - measured faster (Linux 6.18) than blocking read()s, whose
/// wake-up in the first read costs a microsecond more per round trip when the two ends share a
/// CPU. False at the end of the stream.
bool read_framed(int fd, std::span<std::byte> frame);
/// `payload` framed as read_framed() reads it, into `frame` (4 + payload.size() bytes).
void frame_message(std::span<const std::byte> payload, std::span<std::byte> frame);

// npipe handles.
/// Reads exactly buffer.size() bytes (byte read mode). 0 when the peer closed before the first
/// byte; throws on other errors or a stream cut short.
std::size_t read_exact(npipe::pipe_end_base& end, std::span<std::byte> buffer);
/// One message (message read mode) into buffer; 0 when the peer has gone. Throws when the
/// message is not exactly buffer.size() bytes.
std::size_t read_message(npipe::pipe_end_base& end, std::span<std::byte> buffer);
void write_all(npipe::pipe_end_base& end, std::span<const std::byte> data);

/// A peer process (this binary, re-executed with `--peer ROLE ARGS...`).
class peer {
public:
    /// Starts the peer. `socket` (if >= 0) becomes the peer's socket_fd.
    peer(const std::vector<std::string>& args, int socket = -1);
    peer(const peer&) = delete;
    peer& operator=(const peer&) = delete;
    /// Kills the peer if it is still running.
    ~peer();

    /// Waits (at most `timeout`) for the peer's ready byte; throws if it exits or times out.
    void wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Waits for the peer to exit, killing it after `timeout`; throws unless it exited with 0.
    void join(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    /// Kills the peer now (used by the watchdog when the driver is stuck).
    void kill() noexcept;
    pid_t pid() const noexcept { return pid_; }

private:
    pid_t pid_ = -1;
    int status_ = -1; // read end of the status pipe
};

/// Kills a peer if the measurement has not finished within the time allowed, so that a stuck
/// operation fails (the peer's end goes away) instead of hanging the benchmark.
class watchdog {
public:
    watchdog(peer& p, std::chrono::milliseconds limit);
    /// Calls `fire` (from another thread) if the measurement has not finished within `limit`.
    watchdog(std::function<void()> fire, std::chrono::milliseconds limit);
    watchdog(const watchdog&) = delete;
    watchdog& operator=(const watchdog&) = delete;
    ~watchdog();
    bool fired() const noexcept;

private:
    struct state;
    std::unique_ptr<state> state_;
};

/// Entry point of a peer process: argv[0] is the role.
int run_peer(int argc, char** argv);

/// A fresh pipe name, unique in this run.
std::string unique_pipe_name(const char* what);

/// This program's path (to run itself as a peer).
std::string self_exe();
/// A close-on-exec copy of `fd` numbered 10 or above (the caller closes the original), so that
/// dup2 onto 3/4 in a child never meets a descriptor that is already there.
int high_copy(int fd);

/// A peer tells the driver it is ready to be talked to (one byte on status_fd).
void signal_ready();

// ---- many clients against one server (echo_servers.cpp, echo_clients.cpp) -----------------------

/// A byte-mode echo server peer written with the Win32 C API: `srv-threads` (blocking calls, a
/// thread per client), `srv-overlapped` (overlapped I/O, one thread, 64 instances),
/// `srv-iocp` (a completion port and `threads` workers, 64 instances). Runs until killed.
int run_echo_server(const std::string& kind, const std::string& name, unsigned threads);

struct echo_result {
    double mean_round_trip_us = 0;   ///< clients x time / round trips: what a client waits on average
    double mib_per_second = 0;       ///< messages echoed by all clients, over the run
    long server_threads = -1;        ///< the server's threads while every client was connected
};

/// Starts the server peer (`server_args`, serving pipe `name`), connects `clients` clients and
/// has each echo `message`-byte messages for `seconds`. Throws when a client fails.
echo_result run_echo_clients(const std::vector<std::string>& server_args, const std::string& name,
                             std::size_t clients, std::size_t message, double seconds);
/// The same with bare AF_UNIX sockets: the clients connect to the server peer's socket at `path`.
echo_result run_echo_clients_bare(const std::vector<std::string>& server_args, const std::string& path,
                                  std::size_t clients, std::size_t message, double seconds);

} // namespace bench
