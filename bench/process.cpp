// bench/process.cpp - descriptor I/O helpers, peer processes, watchdog.
#include "common.hpp"

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bench {

namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}


} // namespace

std::string self_exe() {
    std::string path(4096, '\0');
    ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
    if (n <= 0) throw_errno("readlink /proc/self/exe");
    path.resize(static_cast<std::size_t>(n));
    return path;
}

/// A close-on-exec copy of fd numbered 10 or above, so that dup2 onto 3/4 in the child never
/// meets a descriptor that is already there.
int high_copy(int fd) {
    int c = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    if (c < 0) throw_errno("fcntl(F_DUPFD_CLOEXEC)");
    return c;
}

npipe::endpoint bench_endpoint() {
    npipe::endpoint ep;
    if (const char* dir = std::getenv("NPIPE_RUNTIME_DIR")) ep.runtime_dir = dir;
    return ep;
}

void write_all(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("write");
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
}

namespace {

/// read_exact's loop: blocking read()s, or (`polling`) recv(MSG_DONTWAIT) with a poll() when
/// the socket is empty.
bool read_all(int fd, void* data, std::size_t n, bool polling) {
    auto* p = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = polling ? ::recv(fd, p + got, n - got, MSG_DONTWAIT) : ::read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (polling && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                pollfd w{fd, POLLIN, 0};
                if (::poll(&w, 1, -1) < 0 && errno != EINTR) throw_errno("poll");
                continue;
            }
            throw_errno("read");
        }
        if (r == 0) {
            if (got == 0) return false;
            throw std::runtime_error("stream ended in the middle of a message");
        }
        got += static_cast<std::size_t>(r);
    }
    return true;
}

} // namespace

bool read_exact(int fd, void* data, std::size_t n) { return read_all(fd, data, n, false); }

bool read_framed(int fd, std::span<std::byte> frame) {
    if (!read_all(fd, frame.data(), 4, true)) return false;
    std::uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length |= static_cast<std::uint32_t>(frame[static_cast<std::size_t>(i)]) << (8 * i);
    if (length != frame.size() - 4) throw std::runtime_error("unexpected frame length");
    if (!read_all(fd, frame.data() + 4, length, true)) throw std::runtime_error("stream ended in the middle of a frame");
    return true;
}

void frame_message(std::span<const std::byte> payload, std::span<std::byte> frame) {
    auto length = static_cast<std::uint32_t>(payload.size());
    for (std::size_t i = 0; i < 4; ++i) frame[i] = static_cast<std::byte>(length >> (8 * i));
    std::copy(payload.begin(), payload.end(), frame.begin() + 4);
}

std::size_t read_exact(npipe::pipe_end_base& end, std::span<std::byte> buffer) {
    std::size_t got = 0;
    while (got < buffer.size()) {
        std::error_code ec;
        auto r = end.read(buffer.subspan(got), ec);
        if (ec) {
            if (got == 0 && ec == npipe::win32_error::broken_pipe) return 0;
            throw std::system_error(ec, "npipe read");
        }
        got += r.bytes;
    }
    return got;
}

std::size_t read_message(npipe::pipe_end_base& end, std::span<std::byte> buffer) {
    std::error_code ec;
    auto r = end.read(buffer, ec);
    if (ec) {
        if (ec == npipe::win32_error::broken_pipe) return 0;
        throw std::system_error(ec, "npipe read (message)");
    }
    if (r.more_data || r.bytes != buffer.size())
        throw std::runtime_error("unexpected message size " + std::to_string(r.bytes) +
                                 (r.more_data ? " (more data)" : ""));
    return r.bytes;
}

void write_all(npipe::pipe_end_base& end, std::span<const std::byte> data) {
    std::size_t n = end.write(data);
    if (n != data.size())
        throw std::runtime_error("short npipe write: " + std::to_string(n) + " of " +
                                 std::to_string(data.size()));
}

std::string unique_pipe_name(const char* what) {
    static std::atomic<unsigned> counter{0};
    return std::string("\\\\.\\pipe\\npipe-bench-") + std::to_string(::getpid()) + "-" + what +
           "-" + std::to_string(counter++);
}

// ---- peer --------------------------------------------------------------------------------

peer::peer(const std::vector<std::string>& args, int socket) {
    static const std::string exe = self_exe();
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
    int rd = high_copy(fds[0]), wr = high_copy(fds[1]);
    ::close(fds[0]);
    ::close(fds[1]);
    int sock = socket >= 0 ? high_copy(socket) : -1;

    std::vector<std::string> argv_s{exe, "--peer"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, wr, status_fd); // dup2 clears close-on-exec
    if (sock >= 0) posix_spawn_file_actions_adddup2(&fa, sock, socket_fd);
    int err = ::posix_spawn(&pid_, exe.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(wr);
    if (sock >= 0) ::close(sock);
    if (err != 0) {
        ::close(rd);
        pid_ = -1;
        throw std::system_error(err, std::generic_category(), "posix_spawn");
    }
    status_ = rd;
}

peer::~peer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
    }
    if (status_ >= 0) ::close(status_);
}

void peer::wait_ready(std::chrono::milliseconds timeout) {
    pollfd p{status_, POLLIN, 0};
    int r;
    do r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (r < 0 && errno == EINTR);
    if (r < 0) throw_errno("poll");
    if (r == 0) throw std::runtime_error("peer did not become ready in time");
    char c = 0;
    ssize_t n;
    do n = ::read(status_, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) throw std::runtime_error("peer exited before it was ready");
}

void peer::join(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return;
    auto deadline = clock::now() + timeout;
    int st = 0;
    for (;;) {
        pid_t r = ::waitpid(pid_, &st, WNOHANG);
        if (r == pid_) break;
        if (r < 0 && errno != EINTR) throw_errno("waitpid");
        if (clock::now() > deadline) {
            ::kill(pid_, SIGKILL);
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            pid_ = -1;
            throw std::runtime_error("peer did not exit in time (killed)");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    pid_ = -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
    if (WIFSIGNALED(st))
        throw std::runtime_error("peer killed by signal " + std::to_string(WTERMSIG(st)));
    throw std::runtime_error("peer exited with status " + std::to_string(WEXITSTATUS(st)));
}

void peer::kill() noexcept {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
}

// ---- watchdog ----------------------------------------------------------------------------

struct watchdog::state {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    std::atomic<bool> fired{false};
    std::thread thread;
};

watchdog::watchdog(peer& p, std::chrono::milliseconds limit) : watchdog([&p] { p.kill(); }, limit) {}

watchdog::watchdog(std::function<void()> fire, std::chrono::milliseconds limit) : state_(std::make_unique<state>()) {
    state* s = state_.get();
    s->thread = std::thread([s, fire = std::move(fire), limit] {
        std::unique_lock lock(s->m);
        if (!s->cv.wait_for(lock, limit, [s] { return s->done; })) {
            s->fired = true;
            fire();
        }
    });
}

watchdog::~watchdog() {
    {
        std::lock_guard lock(state_->m);
        state_->done = true;
    }
    state_->cv.notify_one();
    state_->thread.join();
}

bool watchdog::fired() const noexcept { return state_->fired; }

} // namespace bench
