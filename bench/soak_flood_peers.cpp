// bench/soak_flood_peers.cpp - the system-scope peers: root's echo server, and uid 65534's flood
// and its control. All but sys-echo become uid 65534 first; each says "ready", works until a
// command arrives (or the driver goes), then says "result ..." and exits.
//
//   sys-echo DIR NAME COUNT   (root) COUNT instances: connect, echo 64 bytes, wait for the client
//                             to close, disconnect, again
//   flood-create DIR          creates instances of its own pipes until the broker refuses
//                             (its quota), then keeps asking for more
//   flood-connect DIR         connects to the broker's socket, sends 64 bytes of garbage every
//                             other time (or nothing), closes, as fast as it can
//   flood-open DIR NAME       opens NAME, which it may not, as fast as it can
//   burn                      only burns CPU (the control)
#include "soak.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace soak {
namespace {

npipe::endpoint system_endpoint(const std::string& dir) {
    npipe::endpoint ep;
    ep.scope = npipe::scope::system;
    ep.runtime_dir = dir;
    return ep;
}

std::string count(const char* key, unsigned long long n) { return std::string(" ") + key + "=" + std::to_string(n); }

void echo_64(npipe::server_instance& s) {
    std::array<std::byte, bench::small_message> buf{};
    for (;;) {
        std::error_code ec;
        s.connect(ec);
        if (ec && ec != npipe::win32_error::no_data) {
            std::this_thread::sleep_for(10ms); // not a busy loop while something is wrong
            continue;
        }
        try {
            if (bench::read_exact(s, buf) != 0) bench::write_all(s, buf);
        } catch (const std::exception&) {
        }
        // DisconnectNamedPipe throws away what the client has not read: wait for it to close.
        while (!ec) s.read(buf, ec);
        s.disconnect(ec);
    }
}

int sys_echo(const std::string& dir, const std::string& name, int instances) {
    npipe::server_options so;
    so.endpoint = system_endpoint(dir);
    std::vector<npipe::server_instance> held;
    for (int i = 0; i < instances; ++i) held.push_back(npipe::server_instance::create(name, so));
    for (auto& s : held) std::thread(echo_64, std::ref(s)).detach();
    status_line("ready");
    while (wait_command(1h) != 'q') {
    }
    std::_Exit(0); // the instance threads wait in ConnectNamedPipe: not joined
}

int flood_create(const std::string& dir) {
    become(nobody);
    npipe::server_options so;
    so.endpoint = system_endpoint(dir);
    const std::string prefix = "\\\\.\\pipe\\soak-flood-" + std::to_string(::getpid()) + "-";
    std::vector<npipe::server_instance> held;
    unsigned long long attempts = 0, refused = 0;
    std::error_code ec;
    for (int name = 0; !command_pending();) { // up to the quota
        auto s = npipe::server_instance::create(prefix + std::to_string(name), so, ec);
        ++attempts;
        if (ec == npipe::win32_error::pipe_busy) ++name; // 255 instances of this one
        else if (ec) break;
        else held.push_back(std::move(s));
    }
    status_line("ready held=" + std::to_string(held.size()) + " stopped_by=" + npipe::win32_error_name(ec.value()));
    attempts = 0; // from here on: beyond the quota
    for (int name = 0; !command_pending(); name = (name + 1) % 64) {
        auto s = npipe::server_instance::create(prefix + "more-" + std::to_string(name), so, ec);
        ++attempts;
        if (ec) ++refused;
        else held.push_back(std::move(s));
    }
    status_line("result" + count("attempts", attempts) + count("refused", refused) + count("held", held.size()));
    std::_Exit(0); // the broker lets go of the instances when their links close
}

int flood_connect(const std::string& dir) {
    become(nobody);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = dir + "/broker.sock";
    if (path.size() >= sizeof addr.sun_path) throw std::invalid_argument("socket path too long");
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    std::array<char, 64> garbage{};
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>(i * 37 + 11);
    unsigned long long connected = 0, refused = 0;
    status_line("ready");
    for (unsigned long long i = 0; !command_pending(); ++i) {
        // A blocking connect, as the library's: with the backlog full it waits in the same queue.
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
            ++connected;
            if (i & 1) (void)::send(fd, garbage.data(), garbage.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
            ++refused;
        }
        ::close(fd);
    }
    status_line("result" + count("connects", connected) + count("refused", refused));
    return 0;
}

int flood_open(const std::string& dir, const std::string& name) {
    become(nobody);
    npipe::client_options co;
    co.endpoint = system_endpoint(dir);
    unsigned long long attempts = 0, denied = 0, opened = 0;
    status_line("ready");
    while (!command_pending()) {
        std::error_code ec;
        auto c = npipe::client::open(name, co, ec);
        ++attempts;
        if (ec == npipe::win32_error::access_denied) ++denied;
        else if (!ec) ++opened;
    }
    status_line("result" + count("attempts", attempts) + count("denied", denied) + count("opened", opened));
    return 0;
}

int burn() {
    become(nobody);
    status_line("ready");
    volatile std::uint64_t x = 1;
    unsigned long long rounds = 0;
    while (!command_pending()) {
        for (int i = 0; i < (1 << 20); ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ++rounds;
    }
    status_line("result" + count("rounds", rounds));
    return 0;
}

} // namespace

int run_flood_peer(const std::string& role, const std::vector<std::string>& args) {
    if (role == "sys-echo" && args.size() == 3) return sys_echo(args[0], args[1], std::stoi(args[2]));
    if (role == "flood-create" && args.size() == 1) return flood_create(args[0]);
    if (role == "flood-connect" && args.size() == 1) return flood_connect(args[0]);
    if (role == "flood-open" && args.size() == 2) return flood_open(args[0], args[1]);
    if (role == "burn" && args.empty()) return burn();
    std::fprintf(stderr, "npipe-soak: bad peer role '%s' (%zu arguments)\n", role.c_str(), args.size());
    return 2;
}

} // namespace soak
