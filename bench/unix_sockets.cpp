#include "unix_sockets.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <sys/socket.h>
#include <unistd.h>

namespace bench {

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof(addr.sun_path)) throw std::invalid_argument("socket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return addr;
}

int unix_listener(const std::string& path) {
    auto addr = unix_address(path);
    int l = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0) throw std::system_error(errno, std::generic_category(), "socket");
    if (::bind(l, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(l, 128) != 0) {
        int e = errno;
        ::close(l);
        throw std::system_error(e, std::generic_category(), "listen " + path);
    }
    return l;
}

int unix_connect(const sockaddr_un& addr) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    while (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        int e = errno;
        ::close(fd);
        throw std::system_error(e, std::generic_category(), std::string("connect ") + addr.sun_path);
    }
    return fd;
}

void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

closing_fd::~closing_fd() {
    if (fd >= 0) ::close(fd);
}

int unix_accept(int listener) {
    for (;;) {
        int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0 || (errno != EINTR && errno != ECONNABORTED)) return c;
    }
}

} // namespace bench
