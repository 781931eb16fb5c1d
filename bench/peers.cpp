// bench/peers.cpp - the far end of every benchmark case, run in its own process.
//
// Roles (argv after `--peer`):
//   rt-np byte|message NAME         npipe server: echo every 64-byte request until the client goes
//   rt-sp                           socketpair (socket_fd): echo 64-byte requests until EOF
//   rt-sp-framed                    the same, each framed by a 4-byte length (the framing floor)
//   tp-np byte|message NAME CHUNK MS  npipe client: write CHUNK-byte writes for MS ms, then close
//   tp-sp CHUNK MS                  socketpair (socket_fd): the same
//   tcp-echo                        a listening TCP socket (socket_fd): accept one connection,
//                                   echo whatever comes until EOF (the SMB section's baseline)
//   cr-np NAME                      npipe server instance loop: connect, read, write, disconnect
//   cr-sock PATH                    listening AF_UNIX socket: accept, read, write, close
//   cr-win32, listen-win32          Win32 C API servers (win32_connections.cpp)
//   srv-threads|srv-overlapped NAME, srv-iocp NAME THREADS   Win32 echo servers (echo_servers.cpp)
// The connection-rate servers stop after answering a request that starts with quit_marker.
#include "common.hpp"
#include "connection_floors.hpp"
#include "connection_scaling.hpp"
#include "server_floors.hpp"
#include "unix_sockets.hpp"
#include "win32_connections.hpp"

#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace bench {

void signal_ready() {
    char c = 'R';
    write_all(status_fd, &c, 1);
    ::close(status_fd);
}

namespace {

bool message_mode(std::string_view mode) {
    if (mode == "message") return true;
    if (mode == "byte") return false;
    throw std::invalid_argument("mode must be byte or message");
}

npipe::server_options server_opts(bool message) {
    npipe::server_options so;
    so.type = message ? npipe::pipe_type::message : npipe::pipe_type::byte;
    so.read_mode = message ? npipe::read_mode::message : npipe::read_mode::byte;
    so.max_instances = 1;
    so.first_instance = true;
    so.endpoint = bench_endpoint();
    return so;
}

std::size_t to_size(const char* s) { return static_cast<std::size_t>(std::stoull(s)); }

int rt_npipe(bool message, const std::string& name) {
    auto server = npipe::server_instance::create(name, server_opts(message));
    signal_ready();
    server.connect();
    std::array<std::byte, small_message> buf{};
    for (;;) {
        std::size_t n = message ? read_message(server, buf) : read_exact(server, buf);
        if (n == 0) return 0; // the client closed
        write_all(server, buf);
    }
}

int rt_socketpair() {
    signal_ready();
    std::array<std::byte, small_message> buf{};
    while (read_exact(socket_fd, buf.data(), buf.size())) write_all(socket_fd, buf.data(), buf.size());
    return 0;
}

/// The framing floor: messages framed on a stream socket as npipe frames them (a 4-byte length,
/// then the payload, sent in one write) and read as a framed reader must read them without
/// taking bytes of the next message: the length, then exactly the payload.
int rt_socketpair_framed() {
    signal_ready();
    std::array<std::byte, 4 + small_message> frame{};
    while (read_framed(socket_fd, frame)) write_all(socket_fd, frame.data(), frame.size());
    return 0;
}

template <class Write>
void write_for(std::size_t chunk, std::size_t ms, Write&& write) {
    std::vector<std::byte> buf(chunk, std::byte{0x5a});
    const double limit = static_cast<double>(ms) / 1000.0;
    auto t0 = clock::now();
    do write(buf);
    while (seconds_since(t0) < limit);
}

int tp_npipe(bool message, const std::string& name, std::size_t chunk, std::size_t ms) {
    npipe::client_options co;
    co.endpoint = bench_endpoint();
    auto c = npipe::client::open(name, co);
    (void)message; // a message pipe frames every write; the writer needs no read mode
    write_for(chunk, ms, [&](std::span<const std::byte> b) { write_all(c, b); });
    return 0; // closing the client ends the stream; what the reader has not read stays readable
}

int tp_socketpair(std::size_t chunk, std::size_t ms) {
    write_for(chunk, ms, [](std::span<const std::byte> b) { write_all(socket_fd, b.data(), b.size()); });
    return 0;
}

int tcp_echo() {
    signal_ready();
    int c;
    do c = ::accept4(socket_fd, nullptr, nullptr, SOCK_CLOEXEC);
    while (c < 0 && errno == EINTR);
    if (c < 0) throw std::system_error(errno, std::generic_category(), "accept");
    int one = 1;
    if (::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        throw std::system_error(errno, std::generic_category(), "TCP_NODELAY");
    std::vector<std::byte> buf(read_buffer_size);
    for (;;) {
        ssize_t n = ::read(c, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::system_error(errno, std::generic_category(), "read");
        if (n == 0) break;
        write_all(c, buf.data(), static_cast<std::size_t>(n));
    }
    ::close(c);
    return 0;
}

int cr_npipe(const std::string& name) {
    npipe::server_options so = server_opts(false);
    auto server = npipe::server_instance::create(name, so);
    signal_ready();
    std::array<std::byte, small_message> buf{};
    for (;;) {
        server.connect();
        if (read_exact(server, buf) == 0) { // a client that left without asking
            server.disconnect();
            continue;
        }
        write_all(server, buf);
        // DisconnectNamedPipe throws away what the client has not read, so wait for the client
        // to close (it does once it has the reply) before disconnecting. (FlushFileBuffers would
        // do too, but it polls with sleeps.)
        std::byte extra[1];
        std::error_code ec;
        server.read(extra, ec);
        if (!ec) throw std::runtime_error("client sent more than one request");
        if (ec != npipe::win32_error::broken_pipe) throw std::system_error(ec, "waiting for the client to close");
        server.disconnect();
        if (buf[0] == quit_marker) return 0;
    }
}

int cr_socket(const std::string& path) {
    int l = unix_listener(path);
    signal_ready();
    std::array<std::byte, small_message> buf{};
    for (;;) {
        int c = unix_accept(l);
        if (c < 0) throw std::system_error(errno, std::generic_category(), "accept");
        bool got = read_exact(c, buf.data(), buf.size());
        if (got) write_all(c, buf.data(), buf.size());
        ::close(c);
        if (got && buf[0] == quit_marker) break;
    }
    ::close(l);
    ::unlink(path.c_str());
    return 0;
}

} // namespace

int run_peer(int argc, char** argv) {
    ::signal(SIGPIPE, SIG_IGN);
    std::string role = argc > 0 ? argv[0] : "";
    try {
        if (role == "rt-np" && argc == 3) return rt_npipe(message_mode(argv[1]), argv[2]);
        if (role == "rt-sp" && argc == 1) return rt_socketpair();
        if (role == "rt-sp-framed" && argc == 1) return rt_socketpair_framed();
        if (role == "tp-np" && argc == 5)
            return tp_npipe(message_mode(argv[1]), argv[2], to_size(argv[3]), to_size(argv[4]));
        if (role == "tp-sp" && argc == 3) return tp_socketpair(to_size(argv[1]), to_size(argv[2]));
        if (role == "tcp-echo" && argc == 1) return tcp_echo();
        if (role == "cr-np" && argc == 2) return cr_npipe(argv[1]);
        if (role == "cr-sock" && argc == 2) return cr_socket(argv[1]);
        if (int r = run_win32_connection_peer(role, argc, argv); r >= 0) return r;
        if (int r = run_scaling_peer(role, argc, argv); r >= 0) return r;
        if (int r = run_floor_peer(role, argc, argv); r >= 0) return r;
        if (int r = run_server_floor_peer(role, argc, argv); r >= 0) return r;
        if (role.starts_with("srv-") && (argc == 2 || argc == 3))
            return run_echo_server(role, argv[1], argc == 3 ? static_cast<unsigned>(to_size(argv[2])) : 0);
        std::fprintf(stderr, "npipe-bench: bad peer role '%s' (%d arguments)\n", role.c_str(), argc);
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-bench peer %s: %s\n", role.c_str(), e.what());
        return 1;
    }
}

} // namespace bench
