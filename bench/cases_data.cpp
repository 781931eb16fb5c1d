// bench/cases_data.cpp - data over one connection: 64-byte round trips and one-way throughput,
// npipe (C++ and Win32 C API) against socketpair (see cases.hpp).
#include "cases.hpp"

#include "measure.hpp"

#include <npipe/win32.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

namespace bench {
namespace {

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

} // namespace

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

} // namespace bench
