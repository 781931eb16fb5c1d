// npipe_remote_client - a Win32 client of remote pipes (\\HOST\pipe\NAME over npipe's SMB client),
// driven by tests/samba/test_client.py. Prints one line per result; exits 0 when the steps ran.
//
//   npipe_remote_client [--credentials-stdin] HOST COMMAND NAME
//
// --credentials-stdin: two lines on stdin, user and password, given to WNetAddConnection2A for
// \\HOST\IPC$ (never in argv or the environment). Without it, the caller's own credentials.
//
//   open       CreateFile; "open <error>"
//   echo       "hello" written and read back: "echo hello"
//   big        1 MiB written in 60,000-byte pieces and read back: "big <bytes> <same|different>"
//   message    message read mode: a 40,000-byte message read with a 1,000-byte buffer
//              ("more <error> <bytes>", then "rest <error> <bytes> <same|different>"), a
//              transaction ("transact <error> <same|different>"), two messages kept apart
//   overlapped an overlapped read pending, then a write: "overlapped <error> <text>"
//   wait       WaitNamedPipe(1000 ms): "wait <error>"
//   call       CallNamedPipe("ping"): "call <error> <reply>"
//   read       CreateFile, "opened", then a blocking read: "read <error> <bytes>"
//   drain      CreateFile, one read ("read <error> <bytes>"), then waits for a line on stdin
//              (the test ends the server meanwhile), then reads until a read fails: "read
//              <error> <bytes>" for each
//   write-drain the same, writing "unread" after the first read ("written")
//   cpp        the C++ API: npipe::client::open, write "hello", read it back: "cpp <error> <text>"
//   async      the async API: open, write and read as async_operations driven by poll(2):
//              "async <error> <text>"
#include <npipe/async.hpp>
#include <npipe/named_pipe.hpp>
#include <npipe/win32.h>

#include <poll.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

std::string pipe_path(const std::string& host, const std::string& name) { return "\\\\" + host + "\\pipe\\" + name; }

HANDLE open_pipe(const std::string& path, DWORD flags = 0) {
    return CreateFileA(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, flags, nullptr);
}

bool write_all(HANDLE h, const void* data, DWORD size) {
    DWORD written = 0;
    return WriteFile(h, data, size, &written, nullptr) && written == size;
}

int echo(HANDLE h) {
    DWORD n = 0;
    char buf[16] = {};
    if (!write_all(h, "hello", 5) || !ReadFile(h, buf, 5, &n, nullptr)) return std::printf("echo %u\n", GetLastError()), 1;
    std::printf("echo %.*s\n", static_cast<int>(n), buf);
    return 0;
}

int big(HANDLE h) {
    std::vector<unsigned char> data(1 << 20), back;
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>((i * 7919) >> 3);
    std::vector<unsigned char> buf(65536);
    for (std::size_t at = 0; at < data.size(); at += 60000) {
        const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(60000, data.size() - at));
        if (!write_all(h, data.data() + at, chunk)) return std::printf("big write %u\n", GetLastError()), 1;
        while (back.size() < at + chunk) {
            DWORD n = 0;
            if (!ReadFile(h, buf.data(), static_cast<DWORD>(at + chunk - back.size()), &n, nullptr))
                return std::printf("big read %u\n", GetLastError()), 1;
            back.insert(back.end(), buf.begin(), buf.begin() + n);
        }
    }
    std::printf("big %zu %s\n", back.size(), back == data ? "same" : "different");
    return 0;
}

int message(HANDLE h) {
    DWORD mode = PIPE_READMODE_MESSAGE;
    if (!SetNamedPipeHandleState(h, &mode, nullptr, nullptr)) return std::printf("mode %u\n", GetLastError()), 1;
    std::string m(40000, 'm');
    m[39999] = 'z';
    if (!write_all(h, m.data(), static_cast<DWORD>(m.size()))) return std::printf("write %u\n", GetLastError()), 1;
    std::string got(1000, '\0');
    DWORD n = 0;
    BOOL ok = ReadFile(h, got.data(), 1000, &n, nullptr);
    std::printf("more %u %u\n", ok ? 0u : GetLastError(), n);
    std::string rest(65536, '\0');
    ok = ReadFile(h, rest.data(), 65536, &n, nullptr);
    rest.resize(n);
    std::printf("rest %u %u %s\n", ok ? 0u : GetLastError(), n, got + rest == m ? "same" : "different");
    std::string ping;
    for (int i = 0; i < 1000; ++i) ping += "ping";
    std::string reply(8192, '\0');
    ok = TransactNamedPipe(h, ping.data(), static_cast<DWORD>(ping.size()), reply.data(), 8192, &n, nullptr);
    reply.resize(n);
    std::printf("transact %u %s\n", ok ? 0u : GetLastError(), reply == ping ? "same" : "different");
    char a[16] = {}, b[16] = {};
    DWORD na = 0, nb = 0;
    if (!write_all(h, "one", 3) || !write_all(h, "two", 3) || !ReadFile(h, a, 16, &na, nullptr) ||
        !ReadFile(h, b, 16, &nb, nullptr))
        return std::printf("two %u\n", GetLastError()), 1;
    std::printf("%.*s %.*s\n", static_cast<int>(na), a, static_cast<int>(nb), b);
    return 0;
}

int overlapped(HANDLE h) {
    OVERLAPPED o{};
    o.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    char buf[16] = {};
    DWORD n = 0;
    BOOL ok = ReadFile(h, buf, sizeof buf, nullptr, &o);
    const DWORD first = ok ? 0 : GetLastError();
    OVERLAPPED w{};
    w.hEvent = CreateEventA(nullptr, TRUE, FALSE, nullptr);
    if (!WriteFile(h, "async", 5, nullptr, &w) && GetLastError() != ERROR_IO_PENDING)
        return std::printf("overlapped write %u\n", GetLastError()), 1;
    GetOverlappedResult(h, &w, &n, TRUE);
    ok = GetOverlappedResult(h, &o, &n, TRUE);
    std::printf("overlapped %u %u %.*s\n", first, ok ? 0u : GetLastError(), static_cast<int>(n), buf);
    CloseHandle(o.hEvent);
    CloseHandle(w.hEvent);
    return 0;
}

int cpp_api(const std::string& path) {
    std::error_code ec;
    auto c = npipe::client::open(path, {}, ec);
    if (ec) return std::printf("cpp %d\n", ec.value()), 0;
    const std::string hello = "hello";
    char buf[16] = {};
    c.write(std::as_bytes(std::span(hello)), ec);
    npipe::read_result r{};
    if (!ec) r = c.read(std::as_writable_bytes(std::span(buf)), ec);
    std::printf("cpp %d %.*s\n", ec.value(), static_cast<int>(r.bytes), buf);
    return 0;
}

/// Steps an operation to completion, waiting with poll(2) for what it says it waits for.
void drive(npipe::async_operation& op) {
    for (auto w = op.step(); w.what != npipe::async_wait::kind::none; w = op.step()) {
        pollfd p{w.fd, static_cast<short>(w.what == npipe::async_wait::kind::writable ? POLLOUT : POLLIN), 0};
        const int ms = w.after.count() < 0 ? -1 : static_cast<int>(w.after.count() / 1000);
        ::poll(w.what == npipe::async_wait::kind::time ? nullptr : &p, w.what == npipe::async_wait::kind::time ? 0 : 1,
               ms);
    }
}

int async_api(const std::string& path) {
    auto open = npipe::async_operation::open(path);
    drive(open);
    if (open.error()) return std::printf("async %d\n", open.error().value()), 0;
    auto c = open.take_client();
    const std::string hello = "hello";
    char buf[16] = {};
    auto read = npipe::async_operation::read(c, std::as_writable_bytes(std::span(buf)));
    auto first = read.step(); // pending: nothing has come yet
    auto write = npipe::async_operation::write(c, std::as_bytes(std::span(hello)));
    drive(write);
    if (first.what != npipe::async_wait::kind::none) drive(read);
    std::printf("async %d %.*s\n", read.error().value(), static_cast<int>(read.result().bytes), buf);
    return 0;
}

bool credentials_from_stdin(const std::string& host) {
    std::string user, password;
    if (!std::getline(std::cin, user) || !std::getline(std::cin, password)) return false;
    std::string remote = "\\\\" + host + "\\IPC$";
    NETRESOURCEA r{};
    r.dwType = RESOURCETYPE_ANY;
    r.lpRemoteName = remote.data();
    DWORD e = WNetAddConnection2A(&r, password.c_str(), user.c_str(), 0);
    if (e != NO_ERROR) std::printf("wnet %u\n", e);
    return e == NO_ERROR;
}

int run(const std::string& host, const std::string& cmd, const std::string& name) {
    const std::string path = pipe_path(host, name);
    if (cmd == "wait") return std::printf("wait %u\n", WaitNamedPipeA(path.c_str(), 1000) ? 0u : GetLastError()), 0;
    if (cmd == "call") {
        char reply[64] = {};
        DWORD n = 0;
        BOOL ok = CallNamedPipeA(path.c_str(), const_cast<char*>("ping"), 4, reply, sizeof reply, &n, 2000);
        return std::printf("call %u %.*s\n", ok ? 0u : GetLastError(), static_cast<int>(n), reply), 0;
    }
    if (cmd == "cpp") return cpp_api(path);
    if (cmd == "async") return async_api(path);
    HANDLE h = open_pipe(path, cmd == "overlapped" ? FILE_FLAG_OVERLAPPED : 0);
    if (h == INVALID_HANDLE_VALUE || cmd == "open") {
        std::printf("open %u\n", h == INVALID_HANDLE_VALUE ? GetLastError() : 0u);
        return 0;
    }
    int rc = 0;
    if (cmd == "echo") rc = echo(h);
    else if (cmd == "big") rc = big(h);
    else if (cmd == "message") rc = message(h);
    else if (cmd == "overlapped") rc = overlapped(h);
    else if (cmd == "read") {
        std::printf("opened\n");
        std::fflush(stdout);
        char buf[64];
        DWORD n = 0;
        BOOL ok = ReadFile(h, buf, sizeof buf, &n, nullptr);
        std::printf("read %u %u\n", ok ? 0u : GetLastError(), n);
    } else if (cmd == "drain" || cmd == "write-drain") {
        // write-drain: after the first read, "unread" goes to the server (which never reads it).
        std::string go;
        for (BOOL ok = TRUE, first = TRUE; ok; first = FALSE) {
            if (!first && cmd == "write-drain") {
                DWORD written = 0;
                if (!WriteFile(h, "unread", 6, &written, nullptr)) std::printf("write %u\n", GetLastError());
                std::printf("written\n");
                std::fflush(stdout);
            }
            if (!first) std::getline(std::cin, go); // waits once, before the second read
            char buf[64];
            DWORD n = 0;
            ok = ReadFile(h, buf, sizeof buf, &n, nullptr);
            std::printf("read %u %u\n", ok ? 0u : GetLastError(), n);
            std::fflush(stdout);
        }
    } else rc = 2;
    CloseHandle(h);
    return rc;
}

} // namespace

int main(int argc, char** argv) {
    int at = 1;
    bool from_stdin = argc > 1 && std::strcmp(argv[1], "--credentials-stdin") == 0;
    if (from_stdin) ++at;
    if (argc - at != 3) {
        std::fprintf(stderr, "usage: npipe_remote_client [--credentials-stdin] HOST COMMAND NAME\n");
        return 2;
    }
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    if (from_stdin && !credentials_from_stdin(argv[at])) return 0;
    return run(argv[at], argv[at + 1], argv[at + 2]);
}
