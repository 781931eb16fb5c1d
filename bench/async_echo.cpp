// The async echo servers and their clients (async_echo.hpp).
#include "async_echo.hpp"
#include "common.hpp"

#include <npipe/asio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstring>
#include <system_error>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <atomic>
#include <list>
#include <stdexcept>
#include <thread>
#include <vector>

namespace bench {
namespace {

using asio::awaitable;
constexpr auto tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

/// Round trips on `fd` until `stop`; how many.
std::uint64_t round_trips(int fd, const std::atomic<bool>& stop) {
    std::array<std::byte, small_message> buf{};
    buf[0] = plain_marker;
    std::uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
        write_all(fd, buf.data(), buf.size());
        if (!read_exact(fd, buf.data(), buf.size())) throw std::runtime_error("the echo server went away");
        ++n;
    }
    return n;
}

/// Runs one client thread per descriptor for `seconds`: round trips per second in all.
double drive(const std::vector<int>& fds, double seconds) {
    std::atomic<bool> stop{false};
    std::vector<std::uint64_t> counts(fds.size());
    std::vector<std::exception_ptr> failures(fds.size());
    std::vector<std::thread> threads;
    auto t0 = clock::now();
    for (std::size_t i = 0; i < fds.size(); ++i)
        threads.emplace_back([&, i] {
            try {
                counts[i] = round_trips(fds[i], stop);
            } catch (...) {
                failures[i] = std::current_exception();
            }
        });
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double elapsed = seconds_since(t0);
    for (auto& f : failures)
        if (f) std::rethrow_exception(f);
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    return static_cast<double>(total) / elapsed;
}

awaitable<void> echo_npipe(npipe::async::server_instance& inst) {
    std::array<std::byte, read_buffer_size> buf;
    co_await inst.async_connect(asio::use_awaitable);
    for (;;) {
        auto [ec, r] = co_await inst.async_read(buf, tuple_awaitable);
        if (ec) co_return;
        auto [wec, n] = co_await inst.async_write(std::span(buf).first(r.bytes), tuple_awaitable);
        if (wec) co_return;
    }
}

awaitable<void> echo_asio(asio::local::stream_protocol::socket s) {
    std::array<std::byte, read_buffer_size> buf;
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), tuple_awaitable);
        if (ec) co_return;
        auto [wec, w] = co_await asio::async_write(s, asio::buffer(buf.data(), n), tuple_awaitable);
        if (wec) co_return;
    }
}

/// A blocking AF_UNIX stream connection to `path`.
int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        ::close(fd);
        throw std::runtime_error("socket path too long: " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        throw std::system_error(e, std::generic_category(), "connect");
    }
    return fd;
}

} // namespace

double async_echo_npipe(const npipe::endpoint& ep, double seconds, int clients) {
    asio::io_context ctx(1);
    auto name = unique_pipe_name("async");
    npipe::server_options so;
    so.endpoint = ep;
    std::list<npipe::async::server_instance> instances;
    for (int i = 0; i < clients; ++i) {
        instances.emplace_back(ctx, name, so);
        asio::co_spawn(ctx, echo_npipe(instances.back()), asio::detached);
    }
    npipe::client_options co;
    co.endpoint = ep;
    std::vector<npipe::client> ends;
    std::vector<int> fds;
    for (int i = 0; i < clients; ++i) {
        ends.push_back(npipe::client::open(name, co));
        fds.push_back(ends.back().native_handle());
    }
    std::thread server([&] { ctx.run(); });
    double rate = 0;
    try {
        rate = drive(fds, seconds);
    } catch (...) {
        ends.clear();
        server.join();
        throw;
    }
    ends.clear(); // each instance's read ends: the server runs dry
    server.join();
    return rate;
}

double async_echo_asio(const std::string& socket_path, double seconds, int clients) {
    using asio::local::stream_protocol;
    asio::io_context ctx(1);
    ::unlink(socket_path.c_str());
    stream_protocol::acceptor acceptor(ctx, stream_protocol::endpoint(socket_path));
    std::vector<int> fds;
    struct closer {
        std::vector<int>& fds;
        void now() {
            for (int fd : fds) ::close(fd);
            fds.clear();
        }
        ~closer() { now(); }
    } close_clients{fds};
    for (int i = 0; i < clients; ++i) {
        fds.push_back(connect_unix(socket_path));
        asio::co_spawn(ctx, echo_asio(acceptor.accept()), asio::detached);
    }
    acceptor.close();
    std::thread server([&] { ctx.run(); });
    double rate = 0;
    try {
        rate = drive(fds, seconds);
    } catch (...) {
        close_clients.now();
        server.join();
        throw;
    }
    close_clients.now(); // each server read ends: the server runs dry
    server.join();
    ::unlink(socket_path.c_str());
    return rate;
}

} // namespace bench
