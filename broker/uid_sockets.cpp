#include "uid_sockets.hpp"

#include "os/poller.hpp"
#include "os/socket.hpp"
#include "runtime_dir.hpp"

#include <filesystem>
#include <unistd.h>

namespace npipe::broker {

std::error_code uid_sockets::open(const std::string& dir) {
    std::error_code ec;
    // We hold the broker's lock: whatever is here is a dead broker's (or planted by root).
    std::filesystem::remove_all(dir, ec);
    if (ec) return ec;
    if ((ec = os::make_directory(dir, 0755))) return ec;
    auto facts = os::inspect_directory(dir);
    if (!facts) return facts.error;
    if (facts.value.owner != ::geteuid() || (facts.value.mode & 022) != 0)
        return std::make_error_code(std::errc::permission_denied);
    dir_ = dir;
    return {};
}

uid_sockets::~uid_sockets() {
    for (const auto& [uid, sock] : sockets_)
        if (sock.valid()) os::remove_file(detail::uid_socket_path_in(dir_, uid));
}

int uid_sockets::add(uid_t uid, std::error_code& ec) {
    ec.clear();
    if (!enabled() || has(uid)) return -1;
    if (sockets_.size() >= max_uids) {
        // Said once: every further uid shares broker.sock, and its connections come here often.
        if (!said_full_) ec = std::make_error_code(std::errc::no_buffer_space);
        said_full_ = true;
        return -1;
    }
    auto& slot = sockets_[uid]; // tried once, made or not
    const std::string path = detail::uid_socket_path_in(dir_, uid);
    auto l = os::listen_unix(path, 512, 0600);
    if (!l) {
        ec = l.error;
        return -1;
    }
    // Owned by the uid it serves, mode 0600: only that uid (and root) may connect.
    if ((ec = os::give_file_to(path, uid))) {
        os::remove_file(path);
        return -1;
    }
    slot = std::move(l.value);
    return slot.get();
}

} // namespace npipe::broker
