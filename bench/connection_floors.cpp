// bench/connection_floors.cpp - the two designs' floors for a connection (connection_floors.hpp):
// the peers that play broker and server with bare sockets, and the driver's client loop.
#include "connection_floors.hpp"

#include "common.hpp"
#include "measure.hpp"
#include "unix_sockets.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <system_error>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace bench {
namespace {

// One-byte words: the server's link says who it is and when it listens; a client opens and is
// answered; the broker tells the server a client is here (with the connection attached); the
// registry floor is told to stop.
constexpr char word_server = 'S', word_listening = 'L', word_open = 'O', word_opened = 'K', word_client = 'C',
               word_quit = 'Q';

/// A one-byte message with room for one descriptor, ready for sendmsg/recvmsg.
struct word_message {
    char word = 0;
    iovec iov{&word, 1};
    alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
    msghdr msg{};

    word_message() {
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
    }
    word_message(const word_message&) = delete;
    word_message& operator=(const word_message&) = delete;
};

void send_with_fd(int link, char word, int fd) {
    word_message m;
    m.word = word;
    cmsghdr* cm = CMSG_FIRSTHDR(&m.msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    while (::sendmsg(link, &m.msg, MSG_NOSIGNAL) < 0)
        if (errno != EINTR) throw_errno("sendmsg");
}

/// The descriptor that came with the next word on `link`; -1 when the link has ended.
int receive_fd(int link) {
    word_message m;
    ssize_t n;
    while ((n = ::recvmsg(link, &m.msg, MSG_CMSG_CLOEXEC)) < 0)
        if (errno != EINTR) throw_errno("recvmsg");
    if (n == 0) return -1;
    cmsghdr* cm = CMSG_FIRSTHDR(&m.msg);
    if (m.word != word_client || !cm || cm->cmsg_type != SCM_RIGHTS) throw std::runtime_error("no connection on the link");
    int fd = -1;
    std::memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    return fd;
}

/// Serves one client on `c` as npipe's reused instance does: the request, the reply, then the
/// client's close (DisconnectNamedPipe would throw away what it has not read). Whether it was the
/// last (the quit marker).
bool serve_one(int c) {
    std::array<std::byte, small_message> buf{};
    bool got = read_exact(c, buf.data(), buf.size());
    if (got) write_all(c, buf.data(), buf.size());
    char rest = 0;
    while (::read(c, &rest, 1) > 0) {
    }
    ::close(c);
    return got && buf[0] == quit_marker;
}

int floor_broker(const std::string& path) {
    int l = unix_listener(path);
    signal_ready();
    int link = -1;
    bool listening = false;
    std::deque<int> held; // opens that came while the instance was busy
    auto hand_over = [&](int c) {
        write_all(c, &word_opened, 1);
        send_with_fd(link, word_client, c);
        ::close(c);
        listening = false;
    };
    for (;;) {
        std::array<pollfd, 2> fds{{{l, POLLIN, 0}, {link, POLLIN, 0}}};
        if (::poll(fds.data(), link >= 0 ? 2 : 1, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno("poll");
        }
        if (fds[0].revents) {
            int c = unix_accept(l);
        if (c < 0) throw_errno("accept");
            char word = 0;
            if (!read_exact(c, &word, 1)) {
                ::close(c);
            } else if (word == word_server) {
                link = c;
            } else if (listening && link >= 0) {
                hand_over(c);
            } else {
                held.push_back(c);
            }
        }
        if (link >= 0 && fds[1].revents) {
            char word = 0;
            if (!read_exact(link, &word, 1)) break; // the server has finished
            listening = true;
            if (!held.empty()) {
                hand_over(held.front());
                held.pop_front();
            }
        }
    }
    for (int c : held) ::close(c);
    ::close(link);
    ::close(l);
    ::unlink(path.c_str());
    return 0;
}

int floor_server(const std::string& path) {
    int link = unix_connect(unix_address(path));
    const char hello[2] = {word_server, word_listening};
    write_all(link, hello, sizeof(hello));
    signal_ready();
    for (;;) {
        int c = receive_fd(link);
        if (c < 0 || serve_one(c)) break;
        write_all(link, &word_listening, 1);
    }
    ::close(link);
    return 0;
}

/// Registers instances: answers each connection's request, then waits for its close; a request
/// that is the quit word ends it.
int floor_registry(const std::string& path) {
    int l = unix_listener(path);
    signal_ready();
    for (bool quit = false; !quit;) {
        int c = unix_accept(l);
        if (c < 0) throw_errno("accept");
        char word = 0;
        if (read_exact(c, &word, 1)) {
            quit = word == word_quit;
            write_all(c, &word_opened, 1);
            while (::read(c, &word, 1) > 0) {
            }
        }
        ::close(c);
    }
    ::close(l);
    ::unlink(path.c_str());
    return 0;
}

int floor_direct(const std::string& path) {
    int l = unix_listener(path);
    signal_ready();
    for (;;) {
        int c = unix_accept(l);
        if (c < 0) throw_errno("accept");
        char word = 0;
        if (!read_exact(c, &word, 1)) {
            ::close(c);
            continue;
        }
        ucred who{};
        socklen_t len = sizeof(who);
        if (::getsockopt(c, SOL_SOCKET, SO_PEERCRED, &who, &len) != 0) throw_errno("SO_PEERCRED");
        write_all(c, &word_opened, 1);
        if (serve_one(c)) break;
    }
    ::close(l);
    ::unlink(path.c_str());
    return 0;
}

/// The client's loop against `path`: connect, open and wait for the answer, one round trip, close.
double open_round_trip_close(const std::string& path, peer& p, const options& o) {
    auto addr = unix_address(path);
    return guarded(p, o, [&] {
        auto req = request(plain_marker);
        std::vector<std::byte> reply(small_message);
        auto once = [&] {
            closing_fd c(unix_connect(addr));
            char answer = 0;
            write_all(c.fd, &word_open, 1);
            if (!read_exact(c.fd, &answer, 1) || answer != word_opened) throw std::runtime_error("not opened");
            write_all(c.fd, req.data(), req.size());
            if (!read_exact(c.fd, reply.data(), reply.size())) throw std::runtime_error("no reply");
        };
        return per_second_then_quit(o, req, once);
    });
}

std::string floor_path(const workspace& w, const char* what) {
    static unsigned counter = 0;
    return (w.sock / (std::string(what) + "-" + std::to_string(counter++) + ".sock")).string();
}

} // namespace

double connections_floor_broker(const workspace& w, const options& o) {
    auto path = floor_path(w, "floor-broker");
    peer broker({"floor-broker", path});
    broker.wait_ready();
    peer server({"floor-server", path});
    server.wait_ready();
    double r = open_round_trip_close(path, server, o);
    server.join();
    broker.join();
    return r;
}

double connections_floor_direct(const workspace& w, const options& o) {
    auto path = floor_path(w, "floor-direct");
    peer server({"floor-direct", path});
    server.wait_ready();
    double r = open_round_trip_close(path, server, o);
    server.join();
    return r;
}

double instance_floor_registry(const workspace& w, const options& o) {
    auto path = floor_path(w, "floor-registry");
    peer registry({"floor-registry", path});
    registry.wait_ready();
    auto addr = unix_address(path);
    char word = word_open;
    double r = guarded(registry, o, [&] {
        auto once = [&] {
            closing_fd c(unix_connect(addr));
            char answer = 0;
            write_all(c.fd, &word, 1);
            if (!read_exact(c.fd, &answer, 1) || answer != word_opened) throw std::runtime_error("not registered");
        };
        double per = time_loop(o.run_seconds, 20, once);
        word = word_quit;
        once();
        return 1.0 / per;
    });
    registry.join();
    return r;
}

int run_floor_peer(const std::string& role, int argc, char** argv) {
    if (argc != 2) return -1;
    if (role == "floor-broker") return floor_broker(argv[1]);
    if (role == "floor-server") return floor_server(argv[1]);
    if (role == "floor-direct") return floor_direct(argv[1]);
    if (role == "floor-registry") return floor_registry(argv[1]);
    return -1;
}

} // namespace bench
