#include "win32_connections.hpp"

#include "common.hpp"
#include "unix_sockets.hpp"

#include <npipe/win32.h>

#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace bench {
namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string(what) + " failed: " + npipe::win32_error_name(static_cast<int>(GetLastError())));
}

HANDLE create_instance(const std::string& name) {
    HANDLE h = CreateNamedPipeA(name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT,
                                PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE) fail("CreateNamedPipe");
    return h;
}

bool read_full(HANDLE h, void* buf, DWORD n) {
    for (DWORD got = 0, r = 0; got < n; got += r)
        if (!ReadFile(h, static_cast<char*>(buf) + got, n - got, &r, nullptr) || r == 0) return false;
    return true;
}

void write_full(HANDLE h, const void* buf, DWORD n) {
    DWORD w = 0;
    if (!WriteFile(h, buf, n, &w, nullptr) || w != n) fail("WriteFile");
}

void signal_ready() {
    char c = 'R';
    write_all(status_fd, &c, 1);
    ::close(status_fd);
}

/// The server of Microsoft's samples, on one thread: the next instance exists before the
/// current client is served, so a client never finds the pipe gone.
int serve_instance_per_client(const std::string& name, bool flush) {
    HANDLE h = create_instance(name);
    signal_ready();
    char buf[small_message];
    for (bool quit = false; !quit;) {
        if (!ConnectNamedPipe(h, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED) fail("ConnectNamedPipe");
        HANDLE next = create_instance(name);
        if (read_full(h, buf, sizeof buf)) {
            write_full(h, buf, sizeof buf);
            quit = buf[0] == static_cast<char>(quit_marker);
            if (flush) {
                if (!FlushFileBuffers(h)) fail("FlushFileBuffers");
            } else {
                DWORD r = 0;
                char extra;
                if (ReadFile(h, &extra, 1, &r, nullptr) || GetLastError() != ERROR_BROKEN_PIPE)
                    throw std::runtime_error("the client did not close after its reply");
            }
        }
        DisconnectNamedPipe(h);
        CloseHandle(h);
        h = next;
    }
    CloseHandle(h);
    return 0;
}

/// Listens, and as soon as a client came, disconnects it and listens again.
int listen_again_and_again(const std::string& name) {
    HANDLE h = create_instance(name);
    signal_ready();
    for (;;) {
        if (!ConnectNamedPipe(h, nullptr)) {
            if (GetLastError() == ERROR_NO_DATA) { // the client came and closed already
                DisconnectNamedPipe(h);
                continue;
            }
            if (GetLastError() != ERROR_PIPE_CONNECTED) fail("ConnectNamedPipe");
        }
        char c;
        DWORD r = 0;
        bool got = ReadFile(h, &c, 1, &r, nullptr) && r == 1; // the client closes (or says quit)
        DisconnectNamedPipe(h);
        if (got && c == static_cast<char>(quit_marker)) break;
    }
    CloseHandle(h);
    return 0;
}

template <class F>
double per_second(double seconds, F&& once) {
    return 1.0 / time_loop(seconds, 20, once);
}

} // namespace

HANDLE open_when_free(const std::string& name) {
    for (;;) {
        HANDLE c = CreateFileA(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
        if (c != INVALID_HANDLE_VALUE) return c;
        if (GetLastError() != ERROR_PIPE_BUSY) fail("CreateFile");
        if (!WaitNamedPipeA(name.c_str(), 10000)) fail("WaitNamedPipe");
    }
}

double connections_win32(const std::string& name, double seconds, bool flush) {
    peer p({"cr-win32", name, flush ? "flush" : "noflush"});
    p.wait_ready();
    char req[small_message];
    std::memset(req, 'a', sizeof req);
    auto once = [&] {
        HANDLE c = open_when_free(name);
        write_full(c, req, sizeof req);
        char reply[small_message];
        if (!read_full(c, reply, sizeof reply)) throw std::runtime_error("no reply");
        CloseHandle(c);
    };
    double r = per_second(seconds, once);
    req[0] = static_cast<char>(quit_marker);
    once();
    p.join();
    return r;
}

double instance_create_close(const std::string& name, double seconds) {
    HANDLE first = create_instance(name); // the pipe exists: each create adds an instance
    double r = per_second(seconds, [&] { CloseHandle(create_instance(name)); });
    CloseHandle(first);
    return r;
}

double unix_connect_close(const std::string& dir, double seconds) {
    std::string path = dir + "/connect-close.sock";
    auto addr = unix_address(path);
    int l = unix_listener(path);
    double r = per_second(seconds, [&] {
        int c = unix_connect(addr);
        int a = unix_accept(l);
        if (a < 0) throw std::system_error(errno, std::generic_category(), "accept");
        ::close(a);
        ::close(c);
    });
    ::close(l);
    ::unlink(path.c_str());
    return r;
}

double open_close_win32(const std::string& name, double seconds) {
    peer p({"listen-win32", name});
    p.wait_ready();
    double r = per_second(seconds, [&] { CloseHandle(open_when_free(name)); });
    HANDLE c = open_when_free(name);
    char q = static_cast<char>(quit_marker);
    write_full(c, &q, 1);
    CloseHandle(c);
    p.join();
    return r;
}

int run_win32_connection_peer(const std::string& role, int argc, char** argv) {
    if (role == "cr-win32" && argc == 3) return serve_instance_per_client(argv[1], std::strcmp(argv[2], "flush") == 0);
    if (role == "listen-win32" && argc == 2) return listen_again_and_again(argv[1]);
    return -1;
}

} // namespace bench
