// bench/echo_servers.cpp - byte-mode echo servers written against the Win32 C API, the way
// Windows servers are: blocking calls with a thread per client, overlapped I/O on one thread
// (WaitForMultipleObjects over one event per instance), and a completion port with a pool of
// threads. Each echoes whatever it reads until the client goes, then listens again. They run
// as peers (`--peer srv-threads|srv-overlapped|srv-iocp NAME [THREADS]`) until killed.
#include "common.hpp"

#include <npipe/win32.h>

#include <array>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {
namespace {

constexpr DWORD buffer_bytes = 64 * 1024;

HANDLE make_instance(const std::string& name, DWORD flags, DWORD instances) {
    HANDLE h = CreateNamedPipeA(name.c_str(), PIPE_ACCESS_DUPLEX | flags, PIPE_TYPE_BYTE | PIPE_WAIT, instances,
                                buffer_bytes, buffer_bytes, 0, nullptr);
    if (h == INVALID_HANDLE_VALUE)
        throw std::runtime_error("CreateNamedPipe: " + npipe::win32_error_name(static_cast<int>(GetLastError())));
    return h;
}

// ---- a thread per client -------------------------------------------------------------------

DWORD WINAPI echo_client_thread(LPVOID param) {
    HANDLE h = static_cast<HANDLE>(param);
    std::vector<char> buf(buffer_bytes);
    DWORD n = 0, written = 0;
    while (ReadFile(h, buf.data(), buffer_bytes, &n, nullptr) && n > 0)
        if (!WriteFile(h, buf.data(), n, &written, nullptr)) break;
    DisconnectNamedPipe(h);
    CloseHandle(h);
    return 0;
}

int serve_threads(const std::string& name) {
    bool ready = false;
    for (;;) {
        HANDLE h = make_instance(name, 0, PIPE_UNLIMITED_INSTANCES);
        if (!ready) signal_ready(), ready = true;
        if (!ConnectNamedPipe(h, nullptr) && GetLastError() != ERROR_PIPE_CONNECTED) {
            CloseHandle(h);
            continue;
        }
        HANDLE t = CreateThread(nullptr, 0, echo_client_thread, h, 0, nullptr);
        if (!t) throw std::runtime_error("CreateThread failed");
        CloseHandle(t);
    }
}

// ---- overlapped instances: the state machine both asynchronous servers share ----------------

enum class step { connect, read, write };

struct instance {
    OVERLAPPED ov{};
    HANDLE pipe = INVALID_HANDLE_VALUE;
    step now = step::connect;
    bool connected_early = false;
    std::array<char, buffer_bytes> buf{};
};

/// Starts the instance's next operation after `done` ended with `error` and `bytes`. With a
/// completion port (`port`), an operation that completes at once still queues its packet; an
/// operation that fails at once queues none, and neither does ERROR_PIPE_CONNECTED.
void advance(instance& in, DWORD error, DWORD bytes, HANDLE port);

void listen(instance& in, HANDLE port) {
    in.now = step::connect;
    for (;;) {
        if (ConnectNamedPipe(in.pipe, &in.ov)) return;
        DWORD e = GetLastError();
        if (e == ERROR_IO_PENDING) return;
        if (e == ERROR_NO_DATA) { // came and went already
            DisconnectNamedPipe(in.pipe);
            continue;
        }
        if (e != ERROR_PIPE_CONNECTED) throw std::runtime_error("ConnectNamedPipe: " + npipe::win32_error_name(static_cast<int>(e)));
        if (port) PostQueuedCompletionStatus(port, 0, reinterpret_cast<ULONG_PTR>(&in), &in.ov);
        else in.connected_early = true, SetEvent(in.ov.hEvent);
        return;
    }
}

void start(instance& in, step what, DWORD bytes, HANDLE port) {
    in.now = what;
    BOOL ok = what == step::read ? ReadFile(in.pipe, in.buf.data(), buffer_bytes, nullptr, &in.ov)
                                 : WriteFile(in.pipe, in.buf.data(), bytes, nullptr, &in.ov);
    if (ok || GetLastError() == ERROR_IO_PENDING) return; // its completion comes
    advance(in, GetLastError(), 0, port);
}

void advance(instance& in, DWORD error, DWORD bytes, HANDLE port) {
    if (error != 0 || (in.now != step::connect && bytes == 0)) {
        DisconnectNamedPipe(in.pipe);
        return listen(in, port);
    }
    start(in, in.now == step::write ? step::read : in.now == step::read ? step::write : step::read, bytes, port);
}

constexpr DWORD async_instances = MAXIMUM_WAIT_OBJECTS; // 64: what one WaitForMultipleObjects takes

// ---- overlapped I/O on one thread ------------------------------------------------------------

int serve_overlapped(const std::string& name) {
    std::vector<instance> ins(async_instances);
    std::vector<HANDLE> events(async_instances);
    for (DWORD i = 0; i < async_instances; ++i) {
        events[i] = ins[i].ov.hEvent = CreateEventA(nullptr, TRUE, TRUE, nullptr);
        ins[i].pipe = make_instance(name, FILE_FLAG_OVERLAPPED, async_instances);
        listen(ins[i], nullptr);
    }
    signal_ready();
    for (;;) {
        DWORD w = WaitForMultipleObjects(async_instances, events.data(), FALSE, INFINITE);
        if (w >= WAIT_OBJECT_0 + async_instances) throw std::runtime_error("WaitForMultipleObjects failed");
        instance& in = ins[w - WAIT_OBJECT_0];
        DWORD bytes = 0, error = 0;
        if (in.connected_early) {
            in.connected_early = false;
            ResetEvent(in.ov.hEvent);
        } else if (!GetOverlappedResult(in.pipe, &in.ov, &bytes, FALSE)) {
            error = GetLastError();
        }
        advance(in, error, bytes, nullptr);
    }
}

// ---- a completion port and a pool of threads ---------------------------------------------------

DWORD WINAPI port_worker(LPVOID param) {
    HANDLE port = static_cast<HANDLE>(param);
    for (;;) {
        DWORD bytes = 0;
        ULONG_PTR key = 0;
        LPOVERLAPPED ov = nullptr;
        BOOL ok = GetQueuedCompletionStatus(port, &bytes, &key, &ov, INFINITE);
        if (!ov) return 1; // the port failed
        advance(*reinterpret_cast<instance*>(key), ok ? 0 : GetLastError(), bytes, port);
    }
}

int serve_port(const std::string& name, DWORD threads) {
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, threads);
    std::vector<instance> ins(async_instances);
    for (auto& in : ins) {
        in.pipe = make_instance(name, FILE_FLAG_OVERLAPPED, async_instances);
        CreateIoCompletionPort(in.pipe, port, reinterpret_cast<ULONG_PTR>(&in), 0);
    }
    for (DWORD i = 0; i < threads; ++i) CloseHandle(CreateThread(nullptr, 0, port_worker, port, 0, nullptr));
    for (auto& in : ins) listen(in, port);
    signal_ready();
    for (;;) Sleep(INFINITE);
}

} // namespace

int run_echo_server(const std::string& kind, const std::string& name, unsigned threads) {
    if (kind == "srv-threads") return serve_threads(name);
    if (kind == "srv-overlapped") return serve_overlapped(name);
    if (kind == "srv-iocp") return serve_port(name, threads);
    throw std::invalid_argument("unknown echo server " + kind);
}

} // namespace bench
