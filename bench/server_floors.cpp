// bench/server_floors.cpp - the bare-socket echo servers of server_floors.hpp. Each runs until
// killed, as the Win32 echo servers do.
#include "server_floors.hpp"

#include "common.hpp"
#include "unix_sockets.hpp"

#include <array>
#include <cerrno>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/epoll.h>
#include <unistd.h>

namespace bench {
namespace {

constexpr std::size_t buffer_bytes = 64 * 1024;

/// Reads what is there (blocking until something is) and writes it back; false at the end.
bool echo_once(int c, std::vector<char>& buf) {
    ssize_t n = ::read(c, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    write_all(c, buf.data(), static_cast<std::size_t>(n));
    return true;
}

int echo_threads(const std::string& path) {
    int l = unix_listener(path);
    signal_ready();
    for (;;) {
        int c = unix_accept(l);
        if (c < 0) throw_errno("accept");
        std::thread([c] {
            std::vector<char> buf(buffer_bytes);
            try {
                while (echo_once(c, buf)) {
                }
            } catch (const std::exception&) {
                // the client went mid-write
            }
            ::close(c);
        }).detach();
    }
}

/// `threads` threads, each with an epoll set of its own (level-triggered: a readable connection's
/// read does not block) over its share of the clients: the first thread also accepts and deals
/// the connections out in turn. (One set shared by both, each connection one-shot and re-armed after its echo, was
/// slower here: an epoll_ctl per echo and the two threads contending for the set.)
int echo_epoll_threads(const std::string& path, int threads) {
    int l = unix_listener(path);
    std::vector<int> sets;
    for (int t = 0; t < threads; ++t) {
        int ep = ::epoll_create1(EPOLL_CLOEXEC);
        if (ep < 0) throw_errno("epoll_create1");
        sets.push_back(ep);
    }
    epoll_event add{EPOLLIN, {.fd = l}};
    if (::epoll_ctl(sets[0], EPOLL_CTL_ADD, l, &add) != 0) throw_errno("epoll_ctl");
    signal_ready();
    auto serve = [&sets, l](int ep) {
        std::vector<char> buf(buffer_bytes);
        std::array<epoll_event, 64> ready{};
        std::size_t next = 0;
        for (;;) {
            int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), -1);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) throw_errno("epoll_wait");
            for (int i = 0; i < n; ++i) {
                int fd = ready[static_cast<std::size_t>(i)].data.fd;
                if (fd == l) {
                    int c = unix_accept(l);
                    if (c < 0) throw_errno("accept");
                    epoll_event watch{EPOLLIN, {.fd = c}};
                    if (::epoll_ctl(sets[next++ % sets.size()], EPOLL_CTL_ADD, c, &watch) != 0) throw_errno("epoll_ctl");
                    continue;
                }
                bool more = false;
                try {
                    more = echo_once(fd, buf);
                } catch (const std::exception&) {
                }
                if (!more) ::close(fd);
            }
        }
    };
    for (std::size_t t = 1; t < sets.size(); ++t) std::thread(serve, sets[t]).detach();
    serve(sets[0]);
    return 0;
}

} // namespace

std::string server_floor_path(const workspace& w) {
    static unsigned counter = 0;
    return (w.sock / ("echo-floor-" + std::to_string(counter++) + ".sock")).string();
}

int run_server_floor_peer(const std::string& role, int argc, char** argv) {
    if (argc != 2) return -1;
    if (role == "floor-echo-threads") return echo_threads(argv[1]);
    if (role == "floor-echo-epoll") return echo_epoll_threads(argv[1], 1);
    if (role == "floor-echo-epoll2") return echo_epoll_threads(argv[1], 2);
    return -1;
}

} // namespace bench
