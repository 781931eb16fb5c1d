#include "connection_scaling.hpp"

#include "common.hpp"
#include "unix_sockets.hpp"
#include "win32_connections.hpp"

#include <npipe/win32.h>

#include <atomic>
#include <barrier>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace bench {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string(what) + " failed: " + npipe::win32_error_name(static_cast<int>(GetLastError())));
}

bool read_full(HANDLE h, void* buf, DWORD n) {
    for (DWORD got = 0, r = 0; got < n; got += r)
        if (!ReadFile(h, static_cast<char*>(buf) + got, n - got, &r, nullptr) || r == 0) return false;
    return true;
}

/// One server thread: its instance serves client after client until a client says quit.
void serve_instance(HANDLE h) {
    char buf[small_message];
    for (;;) {
        if (!ConnectNamedPipe(h, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED && GetLastError() != ERROR_NO_DATA)
            fail("ConnectNamedPipe");
        bool quit = false;
        if (read_full(h, buf, sizeof buf)) {
            DWORD w = 0;
            quit = buf[0] == static_cast<char>(quit_marker);
            if (!WriteFile(h, buf, sizeof buf, &w, nullptr)) quit = false; // the client went: serve the next
            DWORD r = 0;
            char extra;
            (void)ReadFile(h, &extra, 1, &r, nullptr); // until the client closes
        }
        DisconnectNamedPipe(h);
        if (quit) break;
    }
    CloseHandle(h);
}

int serve_scaling(const std::string& name) {
    std::vector<HANDLE> instances;
    for (unsigned i = 0; i < scaling_instances; ++i) {
        HANDLE h = CreateNamedPipeA(name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, scaling_instances,
                                    4096, 4096, 0, nullptr);
        if (h == INVALID_HANDLE_VALUE) fail("CreateNamedPipe");
        instances.push_back(h);
    }
    std::vector<std::thread> threads;
    for (HANDLE h : instances) threads.emplace_back(serve_instance, h);
    char c = 'R';
    write_all(status_fd, &c, 1);
    ::close(status_fd);
    for (auto& t : threads) t.join();
    return 0;
}

void connect_once_npipe(const std::string& name, std::byte marker) {
    HANDLE c = open_when_free(name);
    char buf[small_message];
    std::memset(buf, 'x', sizeof buf);
    buf[0] = static_cast<char>(marker);
    DWORD w = 0;
    bool ok = WriteFile(c, buf, sizeof buf, &w, nullptr) && read_full(c, buf, sizeof buf);
    CloseHandle(c);
    if (!ok) throw std::runtime_error("no reply");
}

/// Runs `once` on `clients` threads, all started together, for `seconds`; connections per second.
template <class F>
double run_clients(unsigned clients, double seconds, long& total, F&& once) {
    std::atomic<bool> stop{false};
    std::atomic<long> count{0}, failures{0};
    std::barrier start(static_cast<std::ptrdiff_t>(clients + 1));
    std::vector<std::thread> threads;
    for (unsigned i = 0; i < clients; ++i)
        threads.emplace_back([&] {
            start.arrive_and_wait();
            try {
                while (!stop.load(std::memory_order_relaxed)) {
                    once();
                    count.fetch_add(1, std::memory_order_relaxed);
                }
            } catch (const std::exception&) {
                failures.fetch_add(1);
            }
        });
    start.arrive_and_wait();
    auto t0 = clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop.store(true);
    for (auto& t : threads) t.join();
    double elapsed = seconds_since(t0);
    if (failures.load()) throw std::runtime_error(std::to_string(failures.load()) + " client thread(s) failed");
    total = count.load();
    return static_cast<double>(total) / elapsed;
}

void connect_once_unix(const sockaddr_un& addr) {
    int fd = unix_connect(addr);
    std::byte buf[small_message] = {};
    write_all(fd, buf, sizeof buf);
    bool ok = read_exact(fd, buf, sizeof buf);
    ::close(fd);
    if (!ok) throw std::runtime_error("no reply");
}

/// An AF_UNIX server thread: accept, echo one request, wait for the close; until shut down.
void serve_unix(int listener) {
    for (;;) {
        int a = unix_accept(listener);
        if (a < 0) return; // shut down
        std::byte buf[small_message];
        if (read_exact(a, buf, sizeof buf)) {
            write_all(a, buf, sizeof buf);
            (void)::read(a, buf, 1);
        }
        ::close(a);
    }
}

} // namespace

double connections_scaling_npipe(const std::string& name, unsigned clients, double seconds, long& connections) {
    peer p({"scale-win32", name});
    p.wait_ready();
    double r = run_clients(clients, seconds, connections, [&] { connect_once_npipe(name, plain_marker); });
    for (unsigned i = 0; i < scaling_instances; ++i) connect_once_npipe(name, quit_marker);
    p.join();
    return r;
}

double connections_scaling_unix(const std::string& dir, unsigned clients, double seconds) {
    std::string path = dir + "/scaling-" + std::to_string(clients) + ".sock";
    auto addr = unix_address(path);
    int l = unix_listener(path);
    std::vector<std::thread> servers;
    for (unsigned i = 0; i < scaling_instances; ++i) servers.emplace_back(serve_unix, l);
    long n = 0;
    double r = 0;
    try {
        r = run_clients(clients, seconds, n, [&] { connect_once_unix(addr); });
    } catch (...) {
        ::shutdown(l, SHUT_RDWR);
        for (auto& t : servers) t.join();
        ::close(l);
        throw;
    }
    ::shutdown(l, SHUT_RDWR); // wakes the accepting threads
    for (auto& t : servers) t.join();
    ::close(l);
    ::unlink(path.c_str());
    return r;
}

int run_scaling_peer(const std::string& role, int argc, char** argv) {
    if (role == "scale-win32" && argc == 2) return serve_scaling(argv[1]);
    return -1;
}

} // namespace bench
