// os/socket.hpp - Unix-domain sockets, descriptor passing, peer credentials, shared pages.
#pragma once

#include "os/fd.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <sys/types.h>
#include <vector>

namespace npipe::os {

/// Kernel-attested identity of the process at the other end of a Unix socket, taken when it
/// connected: SO_PEERCRED (pid, uid, gid), SO_PEERGROUPS (supplementary groups), SO_PEERSEC (the
/// LSM label, empty without an LSM). Never anything the peer wrote.
struct peer_credentials {
    pid_t pid = 0;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::vector<gid_t> groups;
    std::string label;
    /// A peer from a user namespace whose ids do not map into ours shows up as the overflow
    /// uid (65534, /proc/sys/kernel/overflowuid): it is nobody we can name, so it is anonymous.
    bool anonymous = false;
};

/// socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC) connected to `path`.
sys_result<fd> connect_unix(const std::string& path) noexcept;
/// A listening AF_UNIX stream socket bound to `path` (the caller unlinks stale files first).
sys_result<fd> listen_unix(const std::string& path, int backlog, unsigned mode) noexcept;
/// accept4 with SOCK_CLOEXEC | SOCK_NONBLOCK.
sys_result<fd> accept_nonblocking(int listener) noexcept;
/// A connected SOCK_STREAM pair (both CLOEXEC).
std::error_code make_socketpair(fd& a, fd& b) noexcept;

/// Everything in peer_credentials. Groups and label are best effort (empty when the kernel
/// cannot say); pid/uid/gid failing is an error.
sys_result<peer_credentials> peer_credentials_of(int sock) noexcept;

/// Sends `data` with up to a few descriptors attached (SCM_RIGHTS), MSG_NOSIGNAL, all of it.
/// Blocking sockets block until everything is sent; non-blocking ones may report EAGAIN only
/// before the first byte (the control protocol's frames are small).
std::error_code send_with_fds(int sock, std::span<const std::byte> data,
                              std::span<const int> fds) noexcept;

/// One sendmsg(2) of `data` with `fds` attached, MSG_DONTWAIT | MSG_NOSIGNAL: never waits.
/// Returns how much was sent (possibly part; the descriptors go with the first byte).
sys_result<std::size_t> send_once(int sock, std::span<const std::byte> data, std::span<const int> fds) noexcept;

/// How one send or receive behaves (recv(2)/send(2) flags, typed): `dont_wait` never blocks
/// (EAGAIN instead), `peek` leaves what it reads in the socket.
enum class io_flags : unsigned { none = 0, dont_wait = 1, peek = 2 };
constexpr io_flags operator|(io_flags a, io_flags b) noexcept {
    return static_cast<io_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}

/// Receives up to `buffer.size()` bytes and any descriptors that come with them. Descriptors
/// beyond `max_fds`, or a truncated control message, are closed and reported as EBADMSG.
/// Returns bytes received (0 = orderly end of stream).
sys_result<std::size_t> recv_with_fds(int sock, std::span<std::byte> buffer,
                                      std::vector<fd>& fds, std::size_t max_fds,
                                      io_flags flags) noexcept;

/// send(2), never raising SIGPIPE; may be partial.
sys_result<std::size_t> send_some(int sock, const void* data, std::size_t size, io_flags flags) noexcept;
/// sendmsg(2) of two buffers, never raising SIGPIPE; may be partial.
sys_result<std::size_t> send_two(int sock, const void* a, std::size_t a_size, const void* b,
                                 std::size_t b_size, io_flags flags) noexcept;
/// recv(2); may be partial; 0 = end of stream.
sys_result<std::size_t> recv_some(int sock, void* data, std::size_t size, io_flags flags) noexcept;
/// shutdown(2); errors (e.g. not connected) are of no interest to callers and are ignored.
void shutdown_both(int sock) noexcept;
void shutdown_write(int sock) noexcept;
/// Bytes this end has sent that the peer has not read yet (SIOCOUTQ).
sys_result<int> unread_by_peer(int sock) noexcept;
/// Whether the peer of a connected socket has closed (its end or its writing side) or an error
/// is pending, asked without waiting.
sys_result<bool> peer_hung_up(int sock) noexcept;
/// SO_SNDBUF.
sys_result<int> send_buffer_size(int sock) noexcept;

/// A page of memory shared through a memfd: writable by its creator only (sealed with
/// F_SEAL_FUTURE_WRITE), mappable read-only by every process it is passed to.
class shared_page {
public:
    static constexpr std::size_t size = 4096;
    shared_page() noexcept = default;
    shared_page(shared_page&&) noexcept;
    shared_page& operator=(shared_page&&) noexcept;
    shared_page(const shared_page&) = delete;
    shared_page& operator=(const shared_page&) = delete;
    ~shared_page();

    /// Creates, maps read-write and seals a new page.
    static sys_result<shared_page> create() noexcept;
    /// Maps a page received from another process, read-only.
    static sys_result<shared_page> map_readonly(fd memfd) noexcept;
    /// True when `memfd` is a sealed page as create() makes it (the broker's check).
    static bool is_sealed_page(int memfd) noexcept;

    void* address() const noexcept { return address_; }
    int descriptor() const noexcept { return fd_.get(); }

private:
    fd fd_;
    void* address_ = nullptr;
};

} // namespace npipe::os
