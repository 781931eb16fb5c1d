#include "os/socket.hpp"

#include <atomic>
#include <string>
#include <cerrno>
#include <algorithm>
#include <cstdio>

#include <cstring>
#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace npipe::os {
namespace {

std::error_code errno_code(int e) noexcept { return {e, std::generic_category()}; }

sys_result<sockaddr_un> unix_address(const std::string& path) noexcept {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof(addr.sun_path)) return {addr, errno_code(ENAMETOOLONG)};
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    return {addr, {}};
}

} // namespace

sys_result<fd> connect_unix(const std::string& path) noexcept {
    auto addr = unix_address(path);
    if (!addr) return {fd{}, addr.error};
    auto s = sys_call([] { return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    if (!s) return {fd{}, s.error};
    fd sock{s.value};
    // connect() interrupted by a signal completes asynchronously; retrying yields EISCONN/EALREADY.
    for (;;) {
        if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr.value), sizeof(addr.value)) == 0) break;
        if (errno == EINTR) continue;
        if (errno == EISCONN) break;
        return {fd{}, errno_code(errno)};
    }
    return {std::move(sock), {}};
}

sys_result<fd> listen_unix(const std::string& path, int backlog, unsigned mode) noexcept {
    auto addr = unix_address(path);
    if (!addr) return {fd{}, addr.error};
    auto s = sys_call([] { return ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0); });
    if (!s) return {fd{}, s.error};
    fd sock{s.value};
    // The socket file takes its mode from the umask at bind(); fchmod on a socket fd does not
    // change the file, so set the umask around bind (the broker is single-threaded then).
    mode_t old_mask = ::umask(static_cast<mode_t>(~mode & 0777));
    int rc = ::bind(sock.get(), reinterpret_cast<const sockaddr*>(&addr.value), sizeof(addr.value));
    int bind_errno = errno;
    ::umask(old_mask);
    if (rc != 0) return {fd{}, errno_code(bind_errno)};
    if (auto r = sys_call([&] { return ::listen(sock.get(), backlog); }); !r) return {fd{}, r.error};
    return {std::move(sock), {}};
}

sys_result<fd> accept_nonblocking(int listener) noexcept {
    auto r = sys_call([&] { return ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK); });
    if (!r) return {fd{}, r.error};
    return {fd{r.value}, {}};
}

std::error_code make_socketpair(fd& a, fd& b) noexcept {
    int sv[2];
    auto r = sys_call([&] { return ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv); });
    if (!r) return r.error;
    a.reset(sv[0]);
    b.reset(sv[1]);
    return {};
}

namespace {

/// The kernel's overflow uid, which stands for ids a user namespace cannot map.
uid_t overflow_uid() noexcept {
    static const uid_t value = [] {
        uid_t v = 65534;
        if (FILE* f = std::fopen("/proc/sys/kernel/overflowuid", "re")) {
            unsigned long n = 0;
            if (std::fscanf(f, "%lu", &n) == 1) v = static_cast<uid_t>(n);
            std::fclose(f);
        }
        return v;
    }();
    return value;
}

/// Whether `pid` lives in our user namespace. The overflow uid of a peer in another namespace
/// means "unmapped"; in ours it is a real account (nobody). Unknown counts as foreign.
bool same_user_namespace(pid_t pid) noexcept {
    char mine[64] = {}, theirs[64] = {};
    std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
    ssize_t a = ::readlink("/proc/self/ns/user", mine, sizeof mine - 1);
    ssize_t b = ::readlink(path.c_str(), theirs, sizeof theirs - 1);
    return a > 0 && a == b && std::memcmp(mine, theirs, static_cast<std::size_t>(a)) == 0;
}

} // namespace

sys_result<peer_credentials> peer_credentials_of(int sock) noexcept try {
    ucred cred{};
    socklen_t len = sizeof(cred);
    auto r = sys_call([&] { return ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len); });
    if (!r) return {{}, r.error};
    peer_credentials out;
    out.pid = cred.pid;
    out.uid = cred.uid;
    out.gid = cred.gid;
    out.anonymous = cred.uid == overflow_uid() && !same_user_namespace(cred.pid);
    // SO_PEERGROUPS: ask with a guess, then with the size the kernel reports (ERANGE).
    std::vector<gid_t> groups(32);
    for (int attempt = 0; attempt < 3; ++attempt) {
        socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
        if (::getsockopt(sock, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen) == 0) {
            groups.resize(glen / sizeof(gid_t));
            out.groups = std::move(groups);
            break;
        }
        if (errno != ERANGE) break;
        groups.resize(glen / sizeof(gid_t) + 1);
    }
    // Without an LSM that labels sockets the kernel says ENOPROTOOPT, and will for good: asked
    // once per process, not on every connection the broker accepts.
    static std::atomic<bool> labels_unsupported{false};
    char label[256];
    socklen_t llen = sizeof(label);
    if (labels_unsupported.load(std::memory_order_relaxed)) {
    } else if (::getsockopt(sock, SOL_SOCKET, SO_PEERSEC, label, &llen) != 0) {
        if (errno == ENOPROTOOPT) labels_unsupported.store(true, std::memory_order_relaxed);
    } else if (llen > 0) {
        std::size_t n = std::min<std::size_t>(llen, sizeof(label));
        while (n > 0 && label[n - 1] == '\0') --n;
        out.label.assign(label, n);
    }
    return {std::move(out), {}};
} catch (const std::bad_alloc&) {
    return {{}, std::make_error_code(std::errc::not_enough_memory)};
}

namespace {

constexpr std::size_t max_send_fds = 4;

/// Room for the SCM_RIGHTS message of a send.
struct rights_buffer {
    alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int) * max_send_fds)];
};

/// Attaches `fds` (at most max_send_fds) to `msg` as SCM_RIGHTS, using `room`.
void attach_rights(msghdr& msg, rights_buffer& room, std::span<const int> fds) noexcept {
    if (fds.empty()) return;
    std::memset(room.bytes, 0, sizeof(room.bytes));
    msg.msg_control = room.bytes;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
}

} // namespace

std::error_code send_with_fds(int sock, std::span<const std::byte> data,
                              std::span<const int> fds) noexcept {
    if (fds.size() > max_send_fds) return errno_code(EINVAL);
    rights_buffer room;
    std::size_t sent = 0;
    while (sent < data.size() || (sent == 0 && data.empty())) {
        iovec iov{const_cast<std::byte*>(data.data()) + sent, data.size() - sent};
        msghdr msg{};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        if (sent == 0) attach_rights(msg, room, fds);
        auto r = sys_call([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); });
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again && sent > 0) {
                // A non-blocking socket filled up mid-frame: wait for room rather than tear a frame.
                poll_one(sock, POLLOUT, 1000);
                continue;
            }
            return r.error;
        }
        sent += static_cast<std::size_t>(r.value);
        if (data.empty()) break;
    }
    return {};
}

sys_result<std::size_t> send_once(int sock, std::span<const std::byte> data, std::span<const int> fds) noexcept {
    if (fds.size() > max_send_fds) return {0, errno_code(EINVAL)};
    rights_buffer room;
    iovec iov{const_cast<std::byte*>(data.data()), data.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    attach_rights(msg, room, fds);
    auto r = sys_call([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT); });
    return {static_cast<std::size_t>(r.error ? 0 : r.value), r.error};
}

namespace {

int msg_flags(io_flags f) noexcept {
    auto has = [f](io_flags bit) { return (static_cast<unsigned>(f) & static_cast<unsigned>(bit)) != 0; };
    return (has(io_flags::dont_wait) ? MSG_DONTWAIT : 0) | (has(io_flags::peek) ? MSG_PEEK : 0);
}

} // namespace

sys_result<std::size_t> recv_with_fds(int sock, std::span<std::byte> buffer, std::vector<fd>& fds,
                                      std::size_t max_fds, io_flags flags) noexcept {
    // Room for more descriptors than we accept, so an oversized batch is seen (and closed)
    // rather than silently truncated.
    constexpr std::size_t room = 16;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * room)];
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    auto r = sys_call([&] { return ::recvmsg(sock, &msg, msg_flags(flags) | MSG_CMSG_CLOEXEC); });
    if (!r) return {0, r.error};
    bool bad = (msg.msg_flags & MSG_CTRUNC) != 0;
    std::size_t before = fds.size();
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) { bad = true; continue; }
        std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (std::size_t i = 0; i < n; ++i) {
            int raw;
            std::memcpy(&raw, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            fds.emplace_back(raw); // owned now, closed if we reject the batch
        }
    }
    if (bad || fds.size() - before > max_fds) {
        fds.resize(before); // closes every descriptor of this batch
        return {static_cast<std::size_t>(r.value), errno_code(EBADMSG)};
    }
    return {static_cast<std::size_t>(r.value), {}};
}

sys_result<std::size_t> send_some(int sock, const void* data, std::size_t size, io_flags flags) noexcept {
    auto r = sys_call([&] { return ::send(sock, data, size, msg_flags(flags) | MSG_NOSIGNAL); });
    return {static_cast<std::size_t>(r.error ? 0 : r.value), r.error};
}

sys_result<std::size_t> send_two(int sock, const void* a, std::size_t a_size, const void* b,
                                 std::size_t b_size, io_flags flags) noexcept {
    iovec iov[2] = {{const_cast<void*>(a), a_size}, {const_cast<void*>(b), b_size}};
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = b_size ? 2 : 1;
    auto r = sys_call([&] { return ::sendmsg(sock, &msg, msg_flags(flags) | MSG_NOSIGNAL); });
    return {static_cast<std::size_t>(r.error ? 0 : r.value), r.error};
}

sys_result<std::size_t> recv_some(int sock, void* data, std::size_t size, io_flags flags) noexcept {
    auto r = sys_call([&] { return ::recv(sock, data, size, msg_flags(flags)); });
    return {static_cast<std::size_t>(r.error ? 0 : r.value), r.error};
}

void shutdown_both(int sock) noexcept { ::shutdown(sock, SHUT_RDWR); }

sys_result<bool> peer_hung_up(int sock) noexcept {
    auto r = poll_one(sock, POLLRDHUP, 0); // POLLHUP and POLLERR come whatever one asks for
    return {r && (r.value & (POLLRDHUP | POLLHUP | POLLERR)) != 0, r.error};
}
void shutdown_write(int sock) noexcept { ::shutdown(sock, SHUT_WR); }

sys_result<int> unread_by_peer(int sock) noexcept {
    int n = 0;
    auto r = sys_call([&] { return ::ioctl(sock, SIOCOUTQ, &n); });
    return {n, r.error};
}

sys_result<int> send_buffer_size(int sock) noexcept {
    int n = 0;
    socklen_t len = sizeof(n);
    auto r = sys_call([&] { return ::getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &n, &len); });
    return {n, r.error};
}

// ---- shared_page -----------------------------------------------------------------------------

shared_page::shared_page(shared_page&& o) noexcept
    : fd_(std::move(o.fd_)), address_(std::exchange(o.address_, nullptr)) {}

shared_page& shared_page::operator=(shared_page&& o) noexcept {
    if (this != &o) {
        if (address_) ::munmap(address_, size);
        fd_ = std::move(o.fd_);
        address_ = std::exchange(o.address_, nullptr);
    }
    return *this;
}

shared_page::~shared_page() {
    if (address_) ::munmap(address_, size);
}

sys_result<shared_page> shared_page::create() noexcept {
    auto m = sys_call([] { return ::memfd_create("npipe-instance", MFD_CLOEXEC | MFD_ALLOW_SEALING); });
    if (!m) return {shared_page{}, m.error};
    shared_page page;
    page.fd_.reset(m.value);
    if (auto r = sys_call([&] { return ::ftruncate(page.fd_.get(), static_cast<off_t>(size)); }); !r)
        return {shared_page{}, r.error};
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, page.fd_.get(), 0);
    if (p == MAP_FAILED) return {shared_page{}, errno_code(errno)};
    page.address_ = p;
    // Others may only map it read-only from now on; our own mapping stays writable.
    auto s = sys_call([&] {
        return ::fcntl(page.fd_.get(), F_ADD_SEALS,
                       F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
    });
    if (!s) return {shared_page{}, s.error};
    return {std::move(page), {}};
}

bool shared_page::is_sealed_page(int memfd) noexcept {
    int seals = ::fcntl(memfd, F_GET_SEALS);
    if (seals < 0) return false;
    constexpr int needed = F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL;
    if ((seals & needed) != needed) return false;
    struct stat st{};
    if (::fstat(memfd, &st) != 0) return false;
    return static_cast<std::size_t>(st.st_size) >= size;
}

sys_result<shared_page> shared_page::map_readonly(fd memfd) noexcept {
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, memfd.get(), 0);
    if (p == MAP_FAILED) return {shared_page{}, errno_code(errno)};
    shared_page page;
    page.address_ = p;
    // The mapping keeps the memory alive; the descriptor is not needed any more.
    return {std::move(page), {}};
}

} // namespace npipe::os
