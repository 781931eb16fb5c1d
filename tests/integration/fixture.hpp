// Shared by the integration tests: a private runtime directory (and so a private broker) per
// test, helpers to start real processes, and byte helpers.
#pragma once

#include <npipe/named_pipe.hpp>
#include <npipe/namespace.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <signal.h>
#include <spawn.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace npipe_test {

using namespace std::chrono_literals;

inline std::string bindir() { return NPIPE_TEST_BINDIR; }

inline std::vector<std::byte> bytes(std::string_view s) {
    auto p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

inline std::string text(std::span<const std::byte> b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// Waits until `condition` holds, polling; fails the test after `limit`.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto pause = 1ms;
    while (!condition()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(20));
    }
    return true;
}

/// Whether every thread of process `pid` is stopped now (false if it is gone).
inline bool all_threads_stopped(pid_t pid) {
    std::error_code ec;
    bool any = false;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", ec), end; !ec && it != end;
         it.increment(ec)) {
        std::ifstream stat(it->path() / "stat");
        std::string line;
        std::getline(stat, line);
        auto paren = line.rfind(')'); // the state follows the name, which may hold anything
        if (paren == std::string::npos || paren + 2 >= line.size()) return false;
        char state = line[paren + 2];
        if (state != 'T' && state != 't') return false;
        any = true;
    }
    return !ec && any;
}

/// SIGSTOP, and waits until it has taken hold: a stop reaches a multi-threaded process one
/// thread at a time, and a thread still running can act on what the test does next (see
/// processes.AStartLockHeldByAStuckProcessDoesNotStopTheNextStart). False after 10 s.
inline bool stop_process(pid_t pid) {
    if (::kill(pid, SIGSTOP) != 0) return false;
    return eventually([pid] { return all_threads_stopped(pid); });
}

/// How many descriptors process `pid` has open now (0 if it is gone).
inline std::size_t open_descriptors(pid_t pid) {
    std::size_t n = 0;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    return n;
}

/// A process started from a test; killed and reaped on destruction.
class process {
public:
    process() = default;
    explicit process(std::vector<std::string> argv, int stdout_fd = -1) {
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
        if (posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ) != 0) pid_ = -1;
        posix_spawn_file_actions_destroy(&actions);
    }
    process(process&& o) noexcept : pid_(std::exchange(o.pid_, -1)) {}
    process& operator=(process&& o) noexcept {
        std::swap(pid_, o.pid_);
        return *this;
    }
    ~process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    pid_t pid() const { return pid_; }
    void kill(int sig = SIGKILL) const { ::kill(pid_, sig); }
    /// Exit status (or 128+signal); -1 if it did not end within `limit`.
    int wait(std::chrono::milliseconds limit = 20s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        int status = 0;
        for (auto pause = 1ms;; pause = std::min(pause * 2, std::chrono::milliseconds(20))) {
            pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) break;
            if (std::chrono::steady_clock::now() > deadline) return -1;
            std::this_thread::sleep_for(pause);
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }

private:
    pid_t pid_ = -1;
};

/// The peer helper program (tests/helpers/npipe_test_peer.cpp).
inline process peer(std::vector<std::string> args, int stdout_fd = -1) {
    args.insert(args.begin(), bindir() + "/npipe_test_peer");
    return process(std::move(args), stdout_fd);
}

/// Starts a peer and waits for its "ready" line.
inline process ready_peer(std::vector<std::string> args) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    process proc = peer(std::move(args), p[1]);
    ::close(p[1]);
    char buf[16] = {};
    std::size_t got = 0;
    while (got < 6) {
        auto n = ::read(p[0], buf + got, sizeof(buf) - 1 - got);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(p[0]);
    EXPECT_EQ(std::string(buf).substr(0, 5), "ready");
    return proc;
}

class named_pipe_test : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/npipe-test-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        ::setenv("NPIPE_RUNTIME_DIR", dir_.c_str(), 1);
        ::unsetenv("NPIPE_NO_AUTOSTART");
        ::unsetenv("NPIPE_SCOPE");
    }
    void TearDown() override {
        std::error_code ec;
        npipe::stop_broker({}, ec);
        std::filesystem::remove_all(dir_, ec);
    }
    static std::string pipe_name(const std::string& short_name) { return "\\\\.\\pipe\\" + short_name; }
    std::string dir_;
};

/// A system-scope broker (npiped --system) in a private root-owned directory: the one namespace
/// several uids share. Sets the environment so this process and its children use it.
class system_broker {
public:
    explicit system_broker(std::vector<std::string> extra = {}) {
        char tmpl[] = "/tmp/npipe-system-XXXXXX";
        if (!::mkdtemp(tmpl)) return;
        dir_ = tmpl;
        extra_ = std::move(extra);
        ::chmod(dir_.c_str(), 0755);
        ::setenv("NPIPE_RUNTIME_DIR", dir_.c_str(), 1);
        ::setenv("NPIPE_SCOPE", "system", 1);
        start();
    }
    /// Kills the broker with SIGKILL (no chance to tidy up) and starts a new one on the same
    /// directory; true once the new one answers.
    bool restart() {
        broker_ = process{}; // killed and reaped
        start();
        return ready_;
    }
    pid_t pid() const { return broker_.pid(); }
    const std::string& dir() const { return dir_; }
    ~system_broker() {
        broker_ = process{};
        ::unsetenv("NPIPE_SCOPE");
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    bool ready() const { return ready_; }

private:
    void start() {
        std::vector<std::string> argv{bindir() + "/npiped", "--system", "--runtime-dir", dir_};
        argv.insert(argv.end(), extra_.begin(), extra_.end());
        broker_ = process(std::move(argv));
        // Ready when it answers (the socket file exists a moment before it listens).
        ready_ = eventually([] {
            std::error_code ec;
            npipe::get_broker_status({}, ec);
            return !ec;
        });
    }
    std::string dir_;
    std::vector<std::string> extra_;
    process broker_;
    bool ready_ = false;
};

} // namespace npipe_test
