// bench/cases_smb.cpp - through smbd on loopback: npipe's SMB client and impacket against the
// same npipe echo servers (exported by a private broker through a private smbd: smb_fixture),
// and plain TCP loopback, the same exchanges against an echo peer, as the baseline (see
// cases.hpp). Nothing here is pinned: an SMB round trip crosses four processes.
#include "cases.hpp"

#include "common.hpp"
#include "measure.hpp"
#include "smb_fixture.hpp"

#include <npipe/win32.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace bench {
namespace {

constexpr int smb_warmup = 20; // round trips (or echoes) before the clock starts

std::string remote_path(const std::string& pipe) { return "\\\\127.0.0.1\\pipe\\" + pipe; }

std::string seconds_arg(const options& o) { return std::to_string(o.run_seconds); }

/// MiB/s of payload (one direction) when `once` echoes `chunk` bytes.
template <class F>
double echo_rate(const options& o, std::size_t chunk, F&& once) {
    return static_cast<double>(chunk) / time_loop(o.run_seconds, 3, once) / (1024.0 * 1024.0);
}

/// A remote pipe opened with CreateFile, closed at the end of the scope.
struct remote_handle {
    HANDLE h;
    explicit remote_handle(const std::string& pipe) {
        h = CreateFileA(remote_path(pipe).c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        if (h == INVALID_HANDLE_VALUE) throw std::runtime_error("CreateFile " + remote_path(pipe) + ": error " +
                                                                std::to_string(GetLastError()));
    }
    remote_handle(const remote_handle&) = delete;
    remote_handle& operator=(const remote_handle&) = delete;
    ~remote_handle() { CloseHandle(h); }
};

[[noreturn]] void win32_failed(const char* what) {
    throw std::runtime_error(std::string(what) + ": error " + std::to_string(GetLastError()));
}

/// A TCP connection over loopback to a `tcp-echo` peer (it accepts on the socket made here).
struct tcp_echo {
    std::unique_ptr<peer> p;
    int fd = -1;

    tcp_echo() {
        int l = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (l < 0) throw std::system_error(errno, std::generic_category(), "socket");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(l, 1) != 0 ||
            ::getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            int e = errno;
            ::close(l);
            throw std::system_error(e, std::generic_category(), "listening on 127.0.0.1");
        }
        try {
            p = std::make_unique<peer>(std::vector<std::string>{"tcp-echo"}, l);
        } catch (...) {
            ::close(l);
            throw;
        }
        ::close(l);
        p->wait_ready();
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd < 0 || ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::system_error(errno, std::generic_category(), "connecting to the TCP echo peer");
    }
    tcp_echo(const tcp_echo&) = delete;
    tcp_echo& operator=(const tcp_echo&) = delete;
    ~tcp_echo() {
        if (fd >= 0) ::close(fd);
    }

    void echo(const std::vector<std::byte>& out, std::vector<std::byte>& in) {
        write_all(fd, out.data(), out.size());
        if (!read_exact(fd, in.data(), in.size())) throw std::runtime_error("the TCP echo peer closed");
    }

    /// The connection ends, the peer exits with 0.
    void finish() {
        ::close(fd);
        fd = -1;
        p->join();
    }
};

} // namespace

void smb_log_in(const smb_fixture& f) {
    ::setenv("NPIPE_SMB_PORT", std::to_string(f.port).c_str(), 1);
    std::string ipc = "\\\\127.0.0.1\\IPC$";
    NETRESOURCEA r{};
    r.dwType = RESOURCETYPE_ANY;
    r.lpRemoteName = ipc.data();
    DWORD e = WNetAddConnection2A(&r, f.password.c_str(), f.user.c_str(), 0);
    if (e != NO_ERROR) throw std::runtime_error("WNetAddConnection2A " + ipc + ": error " + std::to_string(e));
}

void smb_log_out() { WNetCancelConnection2A("\\\\127.0.0.1\\IPC$", 0, TRUE); }

double smb_round_trip_npipe(smb_fixture& f, const options& o) {
    watchdog wd([&f] { f.terminate(); }, watchdog_limit(o));
    remote_handle pipe(f.message_pipe);
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(pipe.h, &mode, nullptr, nullptr)) win32_failed("SetNamedPipeHandleState");
    char out[small_message] = {'x'}, in[small_message];
    return 1e6 * median_call(o.run_seconds, smb_warmup, [&] {
               DWORD n = 0;
               if (!TransactNamedPipe(pipe.h, out, sizeof out, in, sizeof in, &n, nullptr))
                   win32_failed("TransactNamedPipe");
               if (n != sizeof in) throw std::runtime_error("short transact reply");
           });
}

double smb_echo_npipe(smb_fixture& f, const options& o, std::size_t chunk) {
    watchdog wd([&f] { f.terminate(); }, watchdog_limit(o));
    remote_handle pipe(f.byte_pipe);
    std::vector<char> out(chunk, 'b'), in(chunk);
    return echo_rate(o, chunk, [&] {
        DWORD n = 0;
        if (!WriteFile(pipe.h, out.data(), static_cast<DWORD>(chunk), &n, nullptr) || n != chunk)
            win32_failed("WriteFile");
        for (std::size_t got = 0; got < chunk; got += n)
            if (!ReadFile(pipe.h, in.data() + got, static_cast<DWORD>(chunk - got), &n, nullptr) || n == 0)
                win32_failed("ReadFile");
    });
}

double smb_round_trip_impacket(smb_fixture& f, const options& o) {
    return f.ask("impacket rtt " + seconds_arg(o), watchdog_limit(o));
}

double smb_echo_impacket(smb_fixture& f, const options& o, std::size_t chunk) {
    return f.ask("impacket tp " + seconds_arg(o) + " " + std::to_string(chunk), watchdog_limit(o));
}

double tcp_round_trip(const options& o) {
    tcp_echo t;
    std::vector<std::byte> out = request(plain_marker), in(small_message);
    double us = guarded(*t.p, o, [&] {
        return 1e6 * median_call(o.run_seconds, smb_warmup, [&] { t.echo(out, in); });
    });
    t.finish();
    return us;
}

double tcp_echo_rate(const options& o, std::size_t chunk) {
    tcp_echo t;
    std::vector<std::byte> out(chunk, std::byte{0x62}), in(chunk);
    double rate = guarded(*t.p, o, [&] { return echo_rate(o, chunk, [&] { t.echo(out, in); }); });
    t.finish();
    return rate;
}

} // namespace bench
