#include "os/tcp.hpp"

#include <cerrno>
#include <chrono>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

namespace npipe::os {
namespace {

std::error_code errno_code(int e) noexcept { return std::error_code(e, std::generic_category()); }

/// One address: a non-blocking connect, then a wait for it to finish within `timeout_ms`.
sys_result<fd> connect_one(const addrinfo& a, int timeout_ms) noexcept {
    auto s = sys_call([&] { return ::socket(a.ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP); });
    if (!s) return {fd{}, s.error};
    fd sock(s.value);
    int one = 1;
    ::setsockopt(sock.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // small requests go at once
    if (::connect(sock.get(), a.ai_addr, a.ai_addrlen) == 0) return {std::move(sock), {}};
    if (errno != EINPROGRESS && errno != EINTR) return {fd{}, errno_code(errno)};
    auto ready = poll_one(sock.get(), POLLOUT, timeout_ms);
    if (!ready) return {fd{}, ready.error};
    if (ready.value == 0) return {fd{}, errno_code(ETIMEDOUT)};
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) return {fd{}, errno_code(errno)};
    if (err != 0) return {fd{}, errno_code(err)};
    return {std::move(sock), {}};
}

} // namespace

sys_result<fd> tcp_connect(const std::string& host, std::uint16_t port, int timeout_ms) noexcept {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    const std::string service = std::to_string(port);
    if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &list) != 0 || list == nullptr)
        return {fd{}, errno_code(EHOSTUNREACH)};
    sys_result<fd> last{fd{}, errno_code(EHOSTUNREACH)};
    for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
        last = connect_one(*a, timeout_ms);
        if (last) break;
    }
    ::freeaddrinfo(list);
    return last;
}

} // namespace npipe::os
