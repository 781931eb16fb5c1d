// bench/main.cpp - npipe-bench: npipe against plain AF_UNIX sockets, each case between two
// processes (the peer is this binary re-executed, see peers.cpp).
//
//   npipe-bench [--quick] [--reps N] [--time SECONDS] [--json FILE] [--no-pin] [--only SECTION]
//
// Cases: 64-byte round trip, one-way throughput (4 KiB and 64 KiB writes), connections per
// second, and 64 clients at once against Win32 echo servers: overlapped I/O on one thread and a
// completion port with 2 threads against blocking calls with a thread per client. Every case runs several short times, npipe and baseline interleaved (the order flips
// every repetition), and the table shows the median of the runs. A round-trip run's value is its
// median round trip; a throughput run's is bytes over time from the first read to the end of the
// stream; a connection run's is connections over time. Exit status: 0 when every case produced a
// number (targets missed or not), 1 when a run failed, 2 for bad usage.
#include "async_echo.hpp"
#include "common.hpp"
#include "connection_scaling.hpp"
#include "win32_connections.hpp"

#include <npipe/namespace.hpp>
#include <npipe/win32.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace bench {
namespace {

struct options {
    bool quick = false;
    bool pin = true; // round trips: both processes on one CPU
    int reps = 5;
    double run_seconds = 0.5;
    std::string json;
    std::string only; // one section (round-trip, throughput, connections); empty: all

    bool runs(std::string_view section) const { return only.empty() || only == section; }
};

// ---- results -----------------------------------------------------------------------------

struct series {
    std::vector<double> samples;
    std::vector<std::string> errors;

    std::optional<double> median() const {
        if (samples.empty()) return std::nullopt;
        auto s = samples;
        std::sort(s.begin(), s.end());
        std::size_t n = s.size();
        return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
};

enum class unit { microseconds, mib_per_second, per_second };

struct target {
    bool at_most; // ratio must be <= value (latency) instead of >= value
    double value;
};

struct row {
    std::string id, label;
    unit u;
    const series* npipe;
    const series* baseline;
    std::string baseline_name;
    std::optional<target> goal;

    /// The --only section the row belongs to.
    std::string_view section() const {
        if (id.starts_with("round_trip")) return "round-trip";
        if (id.starts_with("throughput")) return "throughput";
        if (id.starts_with("async")) return "async";
        if (id.starts_with("servers")) return "servers";
        return "connections";
    }
};

struct broker_cpu {
    bool measured = false;
    pid_t pid = 0;
    double mib = 0;
    double ms = 0;
    unsigned connections = 0;
    std::string note;
};

// ---- the private namespace ---------------------------------------------------------------

struct workspace {
    fs::path root, run, sock;
    npipe::endpoint ep;
};

workspace make_workspace() {
    char tmpl[] = "/tmp/npipe-bench.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    workspace w;
    w.root = tmpl;
    w.run = w.root / "run";
    w.sock = w.root / "sock";
    for (auto& d : {w.run, w.sock})
        if (::mkdir(d.c_str(), 0700) != 0)
            throw std::system_error(errno, std::generic_category(), "mkdir " + d.string());
    // Set before any library call or thread; the peers inherit it.
    ::setenv("NPIPE_RUNTIME_DIR", w.run.c_str(), 1);
    w.ep.runtime_dir = w.run;
    return w;
}

/// utime + stime of a process in milliseconds, from /proc/PID/stat.
std::optional<double> process_cpu_ms(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return std::nullopt;
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) { // fields 14 and 15 (1-based)
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void stop_broker(const workspace& w) {
    std::error_code ec;
    auto st = npipe::get_broker_status(w.ep, ec);
    if (ec) return; // none running
    npipe::stop_broker(w.ep, ec);
    if (ec) {
        std::fprintf(stderr, "npipe-bench: stop_broker: %s\n", ec.message().c_str());
        return;
    }
    auto t0 = clock::now();
    while (::kill(st.pid, 0) == 0 && seconds_since(t0) < 3.0) std::this_thread::sleep_for(5ms);
}

// ---- measurements (the driver's side of every case) ---------------------------------------

std::chrono::milliseconds watchdog_limit(const options& o) {
    return std::chrono::milliseconds(static_cast<long>(o.run_seconds * 1000) + 20000);
}

/// Runs f with a watchdog on p; a stuck run fails with "timed out" instead of hanging.
template <class F>
double guarded(peer& p, const options& o, F&& f) {
    watchdog wd(p, watchdog_limit(o));
    try {
        return f();
    } catch (const std::exception& e) {
        if (wd.fired()) throw std::runtime_error(std::string("timed out (peer killed): ") + e.what());
        throw;
    }
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

std::vector<std::byte> request(std::byte marker) {
    std::vector<std::byte> b(small_message, std::byte{0x61});
    b[0] = marker;
    return b;
}

npipe::client_options client_opts(const workspace& w) {
    npipe::client_options co;
    co.endpoint = w.ep;
    return co;
}

/// Pins the calling thread (and so the peers it starts, which inherit the mask) to one CPU for
/// its lifetime. On a VM a wake-up across CPUs costs tens of microseconds, more than what is
/// being measured, and which placement a run gets is a lottery; on one CPU both sides of a
/// round trip pay the same plain context switch.
class pinned {
public:
    explicit pinned(bool enable) {
        if (!enable || ::sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
        int cpu = -1;
        for (int i = 0; i < CPU_SETSIZE; ++i)
            if (CPU_ISSET(i, &saved_)) cpu = i; // the last one allowed
        if (cpu < 0) return;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        active_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
    }
    pinned(const pinned&) = delete;
    pinned& operator=(const pinned&) = delete;
    ~pinned() {
        if (active_) ::sched_setaffinity(0, sizeof saved_, &saved_);
    }

private:
    cpu_set_t saved_{};
    bool active_ = false;
};

/// The CPU round trips are pinned to, for the report (-1: not pinned).
int pin_cpu(const options& o) {
    cpu_set_t set;
    if (!o.pin || ::sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &set)) cpu = i;
    return cpu;
}

double round_trip_npipe(const workspace& w, const options& o, bool message) {
    pinned pin(o.pin);
    auto name = unique_pipe_name("rt");
    peer p({"rt-np", message ? "message" : "byte", name});
    p.wait_ready();
    double s = guarded(p, o, [&] {
        auto c = npipe::client::open(name, client_opts(w));
        if (message) c.set_state(npipe::read_mode::message, std::nullopt);
        auto buf = request(plain_marker);
        return median_call(o.run_seconds, 200, [&] {
            write_all(c, buf);
            std::size_t n = message ? read_message(c, buf) : read_exact(c, buf);
            if (n != buf.size()) throw std::runtime_error("the echo server went away");
        });
    }); // the client closes here, which ends the peer
    p.join();
    return s * 1e6;
}

/// The same round trip through the Win32 C API (CreateFile, WriteFile, ReadFile): what the C
/// layer (handle lookup, last error, the handle's signaled state) costs over the C++ API.
double round_trip_win32(const options& o) {
    pinned pin(o.pin);
    auto name = unique_pipe_name("rt");
    peer p({"rt-np", "byte", name});
    p.wait_ready();
    double s = guarded(p, o, [&] {
        struct handle {
            HANDLE h;
            ~handle() { CloseHandle(h); }
        } c{CreateFileA(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr)};
        if (c.h == INVALID_HANDLE_VALUE)
            throw std::runtime_error("CreateFile failed: " + npipe::win32_error_name(static_cast<int>(GetLastError())));
        auto buf = request(plain_marker);
        return median_call(o.run_seconds, 200, [&] {
            DWORD n = 0;
            if (!WriteFile(c.h, buf.data(), static_cast<DWORD>(buf.size()), &n, nullptr) || n != buf.size())
                throw std::runtime_error("WriteFile failed");
            for (std::size_t got = 0; got < buf.size(); got += n)
                if (!ReadFile(c.h, buf.data() + got, static_cast<DWORD>(buf.size() - got), &n, nullptr))
                    throw std::runtime_error("the echo server went away");
        });
    }); // the client closes here, which ends the peer
    p.join();
    return s * 1e6;
}

struct socket_pair {
    int fd[2] = {-1, -1};
    socket_pair() {
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) != 0)
            throw std::system_error(errno, std::generic_category(), "socketpair");
    }
    void close(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
    ~socket_pair() { close(0), close(1); }
};

/// `framed`: the framing floor (rt-sp-framed), each message a 4-byte length and its payload in
/// one write, read as the length and then exactly the payload.
double round_trip_socketpair(const options& o, bool framed) {
    pinned pin(o.pin);
    socket_pair sp;
    peer p({framed ? "rt-sp-framed" : "rt-sp"}, sp.fd[1]);
    sp.close(1);
    p.wait_ready();
    double s = guarded(p, o, [&] {
        auto buf = request(plain_marker);
        std::vector<std::byte> frame(4 + buf.size());
        frame_message(buf, frame);
        return median_call(o.run_seconds, 200, [&] {
            bool echoed = false;
            if (framed) {
                write_all(sp.fd[0], frame.data(), frame.size());
                echoed = read_framed(sp.fd[0], frame);
            } else {
                write_all(sp.fd[0], buf.data(), buf.size());
                echoed = read_exact(sp.fd[0], buf.data(), buf.size());
            }
            if (!echoed) throw std::runtime_error("the echo peer went away");
        });
    });
    sp.close(0);
    p.join();
    return s * 1e6;
}

/// Reads until the end of the stream; `read` returns the bytes of one read, 0 at the end.
/// The clock starts when the first read returns. Returns MiB/s; adds every byte to `total`.
template <class Read>
double drain(Read&& read, double& total) {
    std::size_t first = read();
    if (first == 0) throw std::runtime_error("the writer sent nothing");
    auto t0 = clock::now();
    std::size_t bytes = 0;
    for (std::size_t n; (n = read()) != 0;) bytes += n;
    double secs = seconds_since(t0);
    total += static_cast<double>(first + bytes);
    if (bytes == 0 || secs <= 0) throw std::runtime_error("the writer sent too little to time");
    return static_cast<double>(bytes) / secs / (1024.0 * 1024.0);
}

std::string millis(const options& o) { return std::to_string(static_cast<long>(o.run_seconds * 1000)); }

double throughput_npipe(const workspace& w, const options& o, bool message, std::size_t chunk,
                        double& total) {
    auto name = unique_pipe_name("tp");
    npipe::server_options so;
    so.type = message ? npipe::pipe_type::message : npipe::pipe_type::byte;
    so.read_mode = message ? npipe::read_mode::message : npipe::read_mode::byte;
    so.max_instances = 1;
    so.first_instance = true;
    so.endpoint = w.ep;
    auto server = npipe::server_instance::create(name, so);
    peer p({"tp-np", message ? "message" : "byte", name, std::to_string(chunk), millis(o)});
    double r = guarded(p, o, [&] {
        server.connect();
        std::vector<std::byte> buf(read_buffer_size);
        return drain(
            [&]() -> std::size_t {
                std::error_code ec;
                auto res = server.read(buf, ec);
                if (ec == npipe::win32_error::broken_pipe) return 0;
                if (ec) throw std::system_error(ec, "npipe read");
                if (res.bytes == 0) throw std::runtime_error("npipe read returned no data");
                return res.bytes;
            },
            total);
    });
    p.join();
    return r;
}

double throughput_socketpair(const options& o, std::size_t chunk) {
    socket_pair sp;
    peer p({"tp-sp", std::to_string(chunk), millis(o)}, sp.fd[1]);
    sp.close(1);
    double ignored = 0;
    double r = guarded(p, o, [&] {
        std::vector<std::byte> buf(read_buffer_size);
        return drain(
            [&]() -> std::size_t {
                for (;;) {
                    ssize_t n = ::read(sp.fd[0], buf.data(), buf.size());
                    if (n >= 0) return static_cast<std::size_t>(n);
                    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "read");
                }
            },
            ignored);
    });
    p.join();
    return r;
}

/// Opens the pipe, waiting (WaitNamedPipe) while its one instance is busy with the previous
/// client; counts the waits in `busy`.
npipe::client open_when_free(const std::string& name, const workspace& w, unsigned& busy) {
    for (;;) {
        std::error_code ec;
        auto c = npipe::client::open(name, client_opts(w), ec);
        if (!ec) return c;
        if (ec != npipe::win32_error::pipe_busy) throw std::system_error(ec, "open " + name);
        ++busy;
        npipe::wait_named_pipe(name, 10s, w.ep); // the server is between disconnect and connect
    }
}

struct connection_counts {
    unsigned connections = 0, busy = 0;
};

double connections_npipe(const workspace& w, const options& o, connection_counts& counts) {
    auto name = unique_pipe_name("cr");
    peer p({"cr-np", name});
    p.wait_ready();
    double r = guarded(p, o, [&] {
        auto req = request(plain_marker);
        std::vector<std::byte> reply(small_message);
        auto once = [&] {
            auto c = open_when_free(name, w, counts.busy);
            write_all(c, req);
            if (read_exact(c, reply) != reply.size()) throw std::runtime_error("no reply");
            ++counts.connections;
        };
        double per = time_loop(o.run_seconds, 20, once);
        req = request(quit_marker);
        once();
        return 1.0 / per;
    });
    p.join();
    return r;
}

double connections_socket(const workspace& w, const options& o) {
    static unsigned counter = 0;
    std::string path = (w.sock / ("cr-" + std::to_string(counter++) + ".sock")).string();
    peer p({"cr-sock", path});
    p.wait_ready();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), std::min(path.size() + 1, sizeof(addr.sun_path) - 1));
    double r = guarded(p, o, [&] {
        auto req = request(plain_marker);
        std::vector<std::byte> reply(small_message);
        auto once = [&] {
            int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
            while (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                int e = errno;
                ::close(fd);
                throw std::system_error(e, std::generic_category(), "connect " + path);
            }
            try {
                write_all(fd, req.data(), req.size());
                if (!read_exact(fd, reply.data(), reply.size())) throw std::runtime_error("no reply");
            } catch (...) {
                ::close(fd);
                throw;
            }
            ::close(fd);
        };
        double per = time_loop(o.run_seconds, 20, once);
        req = request(quit_marker);
        once();
        return 1.0 / per;
    });
    p.join();
    return r;
}

// ---- running ------------------------------------------------------------------------------

struct variant {
    series* into;
    std::string what;
    std::function<double()> run;
};

/// Runs every variant o.reps times, interleaved; the order flips on every repetition.
void run_section(const char* title, std::vector<variant> variants, const options& o) {
    std::fprintf(stderr, "npipe-bench: %s (%d x %zu runs of ~%.2g s)\n", title, o.reps, variants.size(),
                 o.run_seconds);
    for (int rep = 0; rep < o.reps; ++rep) {
        if (rep % 2) std::reverse(variants.begin(), variants.end());
        for (auto& v : variants) {
            try {
                v.into->samples.push_back(v.run());
            } catch (const std::exception& e) {
                v.into->errors.push_back(e.what());
                std::fprintf(stderr, "npipe-bench: %s, run %d failed: %s\n", v.what.c_str(), rep + 1, e.what());
            }
        }
        if (rep % 2) std::reverse(variants.begin(), variants.end());
    }
}

// ---- servers: 64 clients against Win32 echo servers ------------------------------------------

constexpr std::size_t server_clients = 64;
constexpr unsigned port_threads = 2;

/// The server threads seen in any run, by server.
struct server_threads {
    long blocking = -1, overlapped = -1, port = -1;
};

double echo_run(const options& o, const std::string& kind, std::size_t message, bool latency, long& threads) {
    auto name = unique_pipe_name("srv");
    std::vector<std::string> args = {kind, name};
    if (kind == "srv-iocp") args.push_back(std::to_string(port_threads));
    auto r = run_echo_clients(args, name, server_clients, message, o.run_seconds);
    threads = std::max(threads, r.server_threads);
    return latency ? r.mean_round_trip_us : r.mib_per_second;
}

// ---- output ---------------------------------------------------------------------------------

std::string format_value(std::optional<double> v, unit u) {
    if (!v) return "FAILED";
    char b[64];
    switch (u) {
    case unit::microseconds: std::snprintf(b, sizeof b, "%.2f us", *v); break;
    case unit::mib_per_second: std::snprintf(b, sizeof b, "%.0f MiB/s", *v); break;
    case unit::per_second: std::snprintf(b, sizeof b, "%.0f /s", *v); break;
    }
    return b;
}

const char* unit_name(unit u) {
    switch (u) {
    case unit::microseconds: return "us";
    case unit::mib_per_second: return "MiB/s";
    case unit::per_second: return "1/s";
    }
    return "";
}

struct evaluated {
    std::optional<double> np, base, ratio;
    std::optional<bool> met;
};

evaluated evaluate(const row& r) {
    evaluated e{r.npipe->median(), r.baseline->median(), {}, {}};
    if (e.np && e.base && *e.base > 0) e.ratio = *e.np / *e.base;
    if (e.ratio && r.goal) e.met = r.goal->at_most ? *e.ratio <= r.goal->value : *e.ratio >= r.goal->value;
    return e;
}

void print_table(const std::vector<row>& rows, const options& o) {
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"case", "npipe", "baseline", "ratio", "target", "met"});
    for (auto& r : rows) {
        if (!o.runs(r.section())) continue;
        auto e = evaluate(r);
        char ratio[32] = "-", goal[32] = "-";
        if (e.ratio) std::snprintf(ratio, sizeof ratio, "%.2f", *e.ratio);
        if (r.goal) std::snprintf(goal, sizeof goal, "%s %.2f", r.goal->at_most ? "<=" : ">=", r.goal->value);
        std::string met = !r.goal ? "-" : !e.met ? "?" : *e.met ? "yes" : "NO";
        cells.push_back({r.label, format_value(e.np, r.u), format_value(e.base, r.u) + " (" + r.baseline_name + ")",
                         ratio, goal, met});
    }
    std::vector<std::size_t> width(cells[0].size(), 0);
    for (auto& line : cells)
        for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
    auto print_line = [&](const std::vector<std::string>& line) {
        for (std::size_t i = 0; i < line.size(); ++i) {
            bool left = i == 0 || i == 2;
            std::printf("%s%*s%s", i ? " | " : "", left ? -static_cast<int>(width[i]) : static_cast<int>(width[i]),
                        line[i].c_str(), i + 1 == line.size() ? "\n" : "");
        }
    };
    std::printf("\nnpipe-bench: median of %d runs of ~%.2g s each; ratio = npipe / baseline\n", o.reps,
                o.run_seconds);
    int cpu = pin_cpu(o);
    if (cpu >= 0) std::printf("round trips: median per run, both processes pinned to CPU %d (--no-pin to not)\n\n", cpu);
    else std::printf("round trips: median per run, processes not pinned\n\n");
    print_line(cells[0]);
    std::size_t total = 0;
    for (auto wdt : width) total += wdt;
    std::printf("%s\n", std::string(total + 3 * (width.size() - 1), '-').c_str());
    for (std::size_t i = 1; i < cells.size(); ++i) print_line(cells[i]);
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out += b;
        } else out += c;
    }
    return out + "\"";
}

std::string json_number(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return "null";
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", *v);
    return b;
}

std::string json_array(const std::vector<double>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v[i]);
    return out + "]";
}

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
    return out + "]";
}

void write_json(const std::string& file, const std::vector<row>& rows, const broker_cpu& cpu,
                const connection_counts& conn, const options& o) {
    std::ofstream f(file);
    f << "{\n  \"quick\": " << (o.quick ? "true" : "false") << ",\n  \"round_trip_pinned_cpu\": " << pin_cpu(o)
      << ",\n  \"reps\": " << o.reps
      << ",\n  \"run_seconds\": " << json_number(o.run_seconds) << ",\n  \"statistic\": \"median\",\n  \"cases\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto& r = rows[i];
        auto e = evaluate(r);
        f << "    {\"id\": " << json_string(r.id) << ", \"label\": " << json_string(r.label)
          << ", \"unit\": " << json_string(unit_name(r.u)) << ", \"npipe\": " << json_number(e.np)
          << ", \"baseline\": " << json_number(e.base) << ", \"baseline_kind\": " << json_string(r.baseline_name)
          << ", \"ratio\": " << json_number(e.ratio) << ", \"target\": ";
        if (r.goal)
            f << "{\"op\": " << json_string(r.goal->at_most ? "<=" : ">=") << ", \"value\": " << json_number(r.goal->value)
              << "}, \"met\": " << (e.met ? (*e.met ? "true" : "false") : "null");
        else
            f << "null, \"met\": null";
        f << ", \"npipe_samples\": " << json_array(r.npipe->samples)
          << ", \"baseline_samples\": " << json_array(r.baseline->samples)
          << ", \"errors\": " << json_strings([&] {
                 auto all = r.npipe->errors;
                 all.insert(all.end(), r.baseline->errors.begin(), r.baseline->errors.end());
                 return all;
             }())
          << "}" << (i + 1 < rows.size() ? "," : "") << "\n";
    }
    f << "  ],\n  \"broker_cpu\": {\"measured\": " << (cpu.measured ? "true" : "false")
      << ", \"pid\": " << cpu.pid << ", \"mib_transferred\": " << json_number(cpu.mib)
      << ", \"cpu_ms\": " << (cpu.measured ? json_number(cpu.ms) : "null")
      << ", \"connections\": " << cpu.connections << ", \"note\": " << json_string(cpu.note) << "},\n"
      << "  \"npipe_connections\": {\"count\": " << conn.connections << ", \"busy_waits\": " << conn.busy << "}\n}\n";
    if (!f) throw std::runtime_error("cannot write " + file);
}

void usage(FILE* to) {
    std::fprintf(to, "usage: npipe-bench [--quick] [--reps N] [--time SECONDS] [--json FILE] [--no-pin]\n"
                     "                   [--only round-trip|throughput|connections|async|servers]\n"
                     "  --quick         3 runs of 0.1 s per case (about 10 s in all)\n"
                     "  --reps N        runs per case (default 5; the median is reported)\n"
                     "  --time SECONDS  length of one run (default 0.5)\n"
                     "  --json FILE     also write the results as JSON\n"
                     "  --no-pin        let the scheduler place round-trip processes (default: both\n"
                     "                  on one CPU, so that cross-CPU wake-ups do not dominate)\n"
                     "  --only SECTION  run one section (to profile it); the others show no number\n");
}

int bench_main(const options& o) {
    workspace w = make_workspace();
    struct cleanup {
        workspace& w;
        ~cleanup() {
            stop_broker(w);
            std::error_code ec;
            fs::remove_all(w.root, ec);
        }
    } guard{w};

    series rt_byte, rt_msg, rt_sp, rt_sp_framed, rt_win32;
    series tp_byte[2], tp_msg[2], tp_sp[2];
    series cr_np, cr_sock, cr_win32, cr_win32_flush, create_close, open_close, unix_cc;
    series ae_np, ae_asio;
    constexpr int async_clients = 8;
    const std::size_t chunks[2] = {4096, 65536};

    if (o.runs("round-trip"))
    run_section("round trip, 64 B",
                {{&rt_byte, "round trip npipe byte", [&] { return round_trip_npipe(w, o, false); }},
                 {&rt_msg, "round trip npipe message", [&] { return round_trip_npipe(w, o, true); }},
                 {&rt_sp, "round trip socketpair", [&] { return round_trip_socketpair(o, false); }},
                 {&rt_sp_framed, "round trip socketpair framed", [&] { return round_trip_socketpair(o, true); }},
                 {&rt_win32, "round trip Win32 C API byte", [&] { return round_trip_win32(o); }}},
                o);

    // Data flows over the connection itself, not through the broker: its CPU time must not grow
    // with the bytes moved (it only sees one connection set up per npipe run).
    broker_cpu cpu;
    double npipe_bytes = 0;
    std::error_code ec;
    auto before_status = npipe::get_broker_status(w.ep, ec);
    std::optional<double> before_ms = ec ? std::nullopt : process_cpu_ms(before_status.pid);
    for (int i = 0; i < 2 && o.runs("throughput"); ++i) {
        std::string kib = std::to_string(chunks[i] / 1024) + " KiB";
        run_section(("throughput, " + kib + " writes").c_str(),
                    {{&tp_byte[i], "throughput npipe byte " + kib,
                      [&, i] { return throughput_npipe(w, o, false, chunks[i], npipe_bytes); }},
                     {&tp_msg[i], "throughput npipe message " + kib,
                      [&, i] { return throughput_npipe(w, o, true, chunks[i], npipe_bytes); }},
                     {&tp_sp[i], "throughput socketpair " + kib, [&, i] { return throughput_socketpair(o, chunks[i]); }}},
                    o);
    }
    auto after_status = npipe::get_broker_status(w.ep, ec);
    std::optional<double> after_ms = ec ? std::nullopt : process_cpu_ms(after_status.pid);
    cpu.mib = npipe_bytes / (1024.0 * 1024.0);
    cpu.connections = static_cast<unsigned>(tp_byte[0].samples.size() + tp_byte[1].samples.size() +
                                            tp_msg[0].samples.size() + tp_msg[1].samples.size());
    if (!before_ms || !after_ms) {
        cpu.note = "broker not found (" + (ec ? ec.message() : std::string("no /proc entry")) + ")";
    } else if (before_status.pid != after_status.pid) {
        cpu.note = "the broker changed (pid " + std::to_string(before_status.pid) + " -> " +
                   std::to_string(after_status.pid) + ")";
    } else {
        cpu.measured = true;
        cpu.pid = after_status.pid;
        cpu.ms = *after_ms - *before_ms;
    }

    series srv_rt[3], srv_tp[3]; // blocking (thread per client), overlapped, completion port
    server_threads threads;
    const char* kinds[3] = {"srv-threads", "srv-overlapped", "srv-iocp"};
    long* counts[3] = {&threads.blocking, &threads.overlapped, &threads.port};
    for (int latency = 1; latency >= 0 && o.runs("servers"); --latency) {
        std::vector<variant> vs;
        for (int k = 0; k < 3; ++k)
            vs.push_back({latency ? &srv_rt[k] : &srv_tp[k], std::string(kinds[k]) + (latency ? " 64 B" : " 4 KiB"),
                          [&, k, latency] { return echo_run(o, kinds[k], latency ? 64 : 4096, latency, *counts[k]); }});
        run_section(latency ? "servers, 64 clients, 64 B round trips" : "servers, 64 clients, 4 KiB echoes", vs, o);
    }

    // Scaling: 1, 2, 4 and 8 client threads against 8 instances; the broker's CPU per connection.
    const unsigned scaling_clients[4] = {1, 2, 4, 8};
    series scale_np[4], scale_unix[4], scale_broker_us[4];
    for (int i = 0; i < 4 && o.runs("connections"); ++i) {
        unsigned n = scaling_clients[i];
        run_section(("connections, " + std::to_string(n) + " client thread(s), 8 instances").c_str(),
                    {{&scale_np[i], "scaling npipe " + std::to_string(n),
                      [&, i, n] {
                          std::error_code bec;
                          auto st = npipe::get_broker_status(w.ep, bec);
                          auto before = bec ? std::nullopt : process_cpu_ms(st.pid);
                          long made = 0;
                          double r = connections_scaling_npipe(unique_pipe_name("scale"), n, o.run_seconds, made);
                          auto after = bec ? std::nullopt : process_cpu_ms(st.pid);
                          if (before && after && made > 0)
                              scale_broker_us[i].samples.push_back((*after - *before) * 1000.0 / static_cast<double>(made));
                          return r;
                      }},
                     {&scale_unix[i], "scaling unix socket " + std::to_string(n),
                      [&, n] { return connections_scaling_unix(w.sock.string(), n, o.run_seconds); }}},
                    o);
    }

    connection_counts np_conn;
    if (o.runs("connections"))
    run_section("connections per second",
                {{&cr_np, "connections npipe", [&] { return connections_npipe(w, o, np_conn); }},
                 {&cr_sock, "connections unix socket", [&] { return connections_socket(w, o); }},
                 {&cr_win32, "connections Win32 instance per client",
                  [&] { return connections_win32(unique_pipe_name("ipc"), o.run_seconds, false); }},
                 {&cr_win32_flush, "connections Win32 instance per client, FlushFileBuffers",
                  [&] { return connections_win32(unique_pipe_name("ipcf"), o.run_seconds, true); }},
                 {&create_close, "CreateNamedPipe + CloseHandle",
                  [&] { return instance_create_close(unique_pipe_name("cc"), o.run_seconds); }},
                 {&open_close, "CreateFile + CloseHandle",
                  [&] { return open_close_win32(unique_pipe_name("oc"), o.run_seconds); }},
                 {&unix_cc, "unix socket connect + accept + close",
                  [&] { return unix_connect_close(w.sock.string(), o.run_seconds); }}},
                o);

    if (o.runs("async"))
    run_section("async echo server, one io_context thread, 8 clients x 64 B round trips",
                {{&ae_np, "async echo npipe", [&] { return async_echo_npipe(w.ep, o.run_seconds, async_clients); }},
                 {&ae_asio, "async echo asio unix socket",
                  [&] { return async_echo_asio((w.root / "asio-echo.sock").string(), o.run_seconds, async_clients); }}},
                o);

    std::vector<row> rows = {
        {"round_trip_byte", "round trip 64 B, byte mode", unit::microseconds, &rt_byte, &rt_sp, "socketpair",
         target{true, 1.1}},
        {"round_trip_message", "round trip 64 B, message mode", unit::microseconds, &rt_msg, &rt_sp, "socketpair",
         target{true, 1.1}},
        {"round_trip_message_floor", "round trip 64 B, message mode vs the framing floor", unit::microseconds, &rt_msg,
         &rt_sp_framed, "socketpair, 4-byte length + payload", std::nullopt},
        {"round_trip_win32", "round trip 64 B, byte mode, Win32 C API", unit::microseconds, &rt_win32, &rt_byte,
         "C++ API", target{true, 1.1}},
        {"throughput_4k_byte", "throughput 4 KiB writes, byte mode", unit::mib_per_second, &tp_byte[0], &tp_sp[0],
         "socketpair", std::nullopt},
        {"throughput_4k_message", "throughput 4 KiB writes, message mode", unit::mib_per_second, &tp_msg[0],
         &tp_sp[0], "socketpair", std::nullopt},
        {"throughput_64k_byte", "throughput 64 KiB writes, byte mode", unit::mib_per_second, &tp_byte[1],
         &tp_sp[1], "socketpair", target{false, 0.9}},
        {"throughput_64k_message", "throughput 64 KiB writes, message mode", unit::mib_per_second, &tp_msg[1],
         &tp_sp[1], "socketpair", target{false, 0.9}},
        {"connections", "connect + 64 B round trip + close, one instance reused", unit::per_second, &cr_np,
         &cr_sock, "unix socket", target{false, 0.7}},
        {"connections_win32", "the same, Win32, a new instance per client", unit::per_second, &cr_win32, &cr_sock,
         "unix socket", target{false, 0.5}},
        {"connections_win32_flush", "the same, FlushFileBuffers before DisconnectNamedPipe", unit::per_second,
         &cr_win32_flush, &cr_sock, "unix socket", target{false, 0.5}},
        {"connections_create_close", "CreateNamedPipe (another instance) + CloseHandle", unit::per_second,
         &create_close, &unix_cc, "connect+accept+close", target{false, 0.5}},
        {"connections_open_close", "CreateFile + CloseHandle (server listens again)", unit::per_second, &open_close,
         &unix_cc, "connect+accept+close", std::nullopt},
        {"connections_scaling_1", "connections, 1 client thread, 8 instances", unit::per_second, &scale_np[0],
         &scale_unix[0], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_2", "connections, 2 client threads, 8 instances", unit::per_second, &scale_np[1],
         &scale_unix[1], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_4", "connections, 4 client threads, 8 instances", unit::per_second, &scale_np[2],
         &scale_unix[2], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_8", "connections, 8 client threads, 8 instances", unit::per_second, &scale_np[3],
         &scale_unix[3], "unix socket, 8 accepting threads", std::nullopt},
        {"async_echo", "async echo server, 8 clients, 64 B round trips", unit::per_second, &ae_np, &ae_asio,
         "asio unix socket", target{false, 0.9}},
        {"servers_overlapped_rt", "64 clients, 64 B round trip: overlapped, 1 thread", unit::microseconds, &srv_rt[1],
         &srv_rt[0], "thread per client", target{true, 1.0 / 0.95}},
        {"servers_iocp_rt", "64 clients, 64 B round trip: IOCP, 2 threads", unit::microseconds, &srv_rt[2],
         &srv_rt[0], "thread per client", target{true, 1.0 / 0.95}},
        {"servers_overlapped_tp", "64 clients, 4 KiB echoes: overlapped, 1 thread", unit::mib_per_second, &srv_tp[1],
         &srv_tp[0], "thread per client", target{false, 0.95}},
        {"servers_iocp_tp", "64 clients, 4 KiB echoes: IOCP, 2 threads", unit::mib_per_second, &srv_tp[2],
         &srv_tp[0], "thread per client", target{false, 0.95}},
    };
    print_table(rows, o);
    if (!o.runs("throughput")) {
    } else if (cpu.measured)
        std::printf("\nbroker CPU during %.0f MiB transferred: %.0f ms (broker pid %d; %u npipe connections set "
                    "up; clock tick %ld ms)\n",
                    cpu.mib, cpu.ms, static_cast<int>(cpu.pid), cpu.connections, 1000 / ::sysconf(_SC_CLK_TCK));
    else
        std::printf("\nbroker CPU during %.0f MiB transferred: not measured: %s\n", cpu.mib, cpu.note.c_str());
    if (o.runs("servers"))
        std::printf("server threads with 64 clients connected: thread per client %ld, overlapped %ld, IOCP %ld "
                    "(each with the library's reactor thread)\n",
                    threads.blocking, threads.overlapped, threads.port);
    if (o.runs("connections")) {
        std::printf("broker CPU per connection (scaling case, 1/2/4/8 client threads):");
        for (auto& b : scale_broker_us) {
            auto m = b.median();
            if (m) std::printf(" %.0f us", *m);
            else std::printf(" -");
        }
        std::printf("\n");
    }
    if (np_conn.connections)
        std::printf("npipe connections: %u, %u opens found the instance busy and waited (WaitNamedPipe)\n",
                    np_conn.connections, np_conn.busy);
    std::fflush(stdout);

    if (!o.json.empty()) write_json(o.json, rows, cpu, np_conn, o);

    bool all = true;
    for (auto& r : rows)
        if (o.runs(r.section()) && (!r.npipe->median() || !r.baseline->median())) all = false;
    int failed_runs = 0;
    for (auto* s : {&rt_byte, &rt_msg, &rt_sp, &tp_byte[0], &tp_byte[1], &tp_msg[0], &tp_msg[1], &tp_sp[0],
                    &tp_sp[1], &cr_np, &cr_sock, &cr_win32, &cr_win32_flush, &create_close, &open_close, &unix_cc,
                    &ae_np, &ae_asio, &srv_rt[0], &srv_rt[1], &srv_rt[2], &srv_tp[0], &srv_tp[1], &srv_tp[2]})
        failed_runs += static_cast<int>(s->errors.size());
    if (failed_runs) std::fprintf(stderr, "npipe-bench: %d run(s) failed (see above)\n", failed_runs);
    if (!all) std::fprintf(stderr, "npipe-bench: some cases produced no number\n");
    return all && failed_runs == 0 ? 0 : 1;
}

} // namespace
} // namespace bench

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--peer") == 0) return bench::run_peer(argc - 2, argv + 2);
    ::signal(SIGPIPE, SIG_IGN);

    bench::options o;
    std::optional<int> reps;
    std::optional<double> secs;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                return argv[++i];
            };
            if (a == "--quick") o.quick = true;
            else if (a == "--reps") reps = std::stoi(value());
            else if (a == "--time") secs = std::stod(value());
            else if (a == "--json") o.json = value();
            else if (a == "--no-pin") o.pin = false;
            else if (a == "--only") {
                o.only = value();
                if (o.only != "round-trip" && o.only != "throughput" && o.only != "connections" && o.only != "async" &&
                    o.only != "servers")
                    throw std::invalid_argument("--only takes round-trip, throughput, connections, async or servers");
            }
            else if (a == "-h" || a == "--help") {
                bench::usage(stdout);
                return 0;
            } else throw std::invalid_argument("unknown argument " + a);
        }
        if (o.quick) o.reps = 3, o.run_seconds = 0.1;
        if (reps) o.reps = *reps;
        if (secs) o.run_seconds = *secs;
        if (o.reps < 1 || !(o.run_seconds > 0) || o.run_seconds > 60)
            throw std::invalid_argument("--reps must be >= 1 and --time in (0, 60]");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-bench: %s\n", e.what());
        bench::usage(stderr);
        return 2;
    }
    try {
        return bench::bench_main(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-bench: %s\n", e.what());
        return 1;
    }
}
