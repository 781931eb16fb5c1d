#include "samba_listeners.hpp"

#include "os/poller.hpp"
#include "os/socket.hpp"

#include <unistd.h>

namespace npipe::broker {
namespace {

constexpr std::size_t max_leaf = 255; // a file name

} // namespace

std::error_code samba_listeners::open(const std::string& dir) {
    if (auto ec = os::make_directory(dir, 0700)) return ec;
    auto facts = os::inspect_directory(dir);
    if (!facts) return facts.error;
    // Group or others inside smbd's np/ could connect to a pipe as anyone smbd speaks for.
    if ((facts.value.mode & 077) != 0) return std::make_error_code(std::errc::permission_denied);
    if (facts.value.owner != 0 && facts.value.owner != ::geteuid())
        return std::make_error_code(std::errc::permission_denied);
    dir_ = dir;
    owner_ = facts.value.owner;
    return {};
}

samba_listeners::~samba_listeners() {
    for (const auto& [key, sock] : sockets_) {
        auto leaf = leaf_for(key);
        if (leaf) os::remove_file(dir_ + "/" + *leaf);
    }
}

std::optional<std::string> samba_listeners::leaf_for(const std::string& key) {
    if (key.empty() || key.size() > max_leaf || key == "." || key == "..") return std::nullopt;
    std::string leaf;
    leaf.reserve(key.size());
    for (char ch : key) {
        auto u = static_cast<unsigned char>(ch);
        if (u >= 0x80 || u < 0x20 || ch == '/' || ch == '\\') return std::nullopt;
        leaf += static_cast<char>(u >= 'A' && u <= 'Z' ? u + ('a' - 'A') : u);
    }
    return leaf;
}

int samba_listeners::add(const std::string& key, std::error_code& ec) {
    ec.clear();
    auto leaf = leaf_for(key);
    if (!enabled() || !leaf) {
        ec = std::make_error_code(std::errc::invalid_argument);
        return -1;
    }
    if (sockets_.count(key)) return sockets_[key].get();
    const std::string path = dir_ + "/" + *leaf;
    // The directory is the fence (0700); smbd connects as root or as its owner.
    auto l = os::listen_unix(path, 64, 0666);
    if (!l && l.error == std::errc::address_in_use) {
        if (os::connect_unix(path)) { // someone serves this name: never take it from them
            ec = l.error;
            return -1;
        }
        os::remove_file(path); // a dead broker's
        l = os::listen_unix(path, 64, 0666);
    }
    if (!l) {
        ec = l.error;
        return -1;
    }
    int fd = l.value.get();
    sockets_[key] = std::move(l.value);
    return fd;
}

os::fd samba_listeners::remove(const std::string& key) {
    auto it = sockets_.find(key);
    if (it == sockets_.end()) return {};
    os::fd sock = std::move(it->second);
    if (auto leaf = leaf_for(key)) os::remove_file(dir_ + "/" + *leaf);
    sockets_.erase(it);
    return sock;
}

const std::string* samba_listeners::pipe_of(int fd) const {
    for (const auto& [key, sock] : sockets_)
        if (sock.get() == fd) return &key;
    return nullptr;
}

} // namespace npipe::broker
