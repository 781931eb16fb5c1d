// bench/smb_fixture.cpp - the SMB section's driver process (see smb_fixture.hpp, smb_driver.py).
#include "smb_fixture.hpp"

#include "common.hpp"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace bench {
namespace {

// impacket is installed for Debian's python3 (python3-impacket), whatever python3 is on PATH.
constexpr const char* debian_python = "/usr/bin/python3";
constexpr const char* driver_script = NPIPE_BENCH_SOURCE_DIR "/smb_driver.py";

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

/// Milliseconds left until `deadline` (0 once it has passed), for poll(2).
int ms_until(clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

} // namespace

smb_fixture::smb_fixture(std::chrono::milliseconds timeout) {
    if (::access(debian_python, X_OK) != 0) {
        skipped_ = std::string(debian_python) + " not found (Debian's python3, where python3-impacket lives)";
        return;
    }
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]), ::close(in[1]);
        throw_errno("pipe2");
    }
    std::string bindir = std::filesystem::path(self_exe()).parent_path().string();
    std::vector<std::string> args{debian_python, driver_script, bindir};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0); // dup2 clears close-on-exec
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int err = ::posix_spawn(&pid_, debian_python, &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]), ::close(out[1]);
    to_ = in[1], from_ = out[0];
    if (err != 0) {
        pid_ = -1;
        throw std::system_error(err, std::generic_category(), "posix_spawn " + std::string(debian_python));
    }
    try {
        std::istringstream first(read_line(timeout));
        std::string word;
        first >> word;
        if (word == "skip") std::getline(first >> std::ws, skipped_);
        else if (word == "ready") first >> port >> user >> password >> byte_pipe >> message_pipe;
        else throw std::runtime_error("SMB set-up failed: " + first.str());
        if (first.fail()) throw std::runtime_error("SMB driver's first line unreadable: " + first.str());
    } catch (...) {
        stop(); // a constructor that throws gets no destructor call
        throw;
    }
}

smb_fixture::~smb_fixture() { stop(); }

void smb_fixture::stop() noexcept {
    if (to_ >= 0) ::close(to_); // end of its stdin: it cleans up and exits
    to_ = -1;
    if (pid_ > 0) {
        // Its stdout ends when it exits (nothing it starts keeps it); SIGKILL after a deadline.
        auto deadline = clock::now() + std::chrono::seconds(60);
        char buf[256];
        for (;;) {
            pollfd p{from_, POLLIN, 0};
            int r = ::poll(&p, 1, ms_until(deadline));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                ::kill(pid_, SIGKILL);
                break;
            }
            if (::read(from_, buf, sizeof buf) <= 0) break;
        }
        int st = 0;
        while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
    }
    if (from_ >= 0) ::close(from_);
    from_ = -1;
}

void smb_fixture::terminate() noexcept {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
}

std::string smb_fixture::read_line(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    for (;;) {
        if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        pollfd p{from_, POLLIN, 0};
        int r = ::poll(&p, 1, ms_until(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) throw_errno("poll");
        if (r == 0) {
            terminate();
            throw std::runtime_error("the SMB driver did not answer in time (told to end)");
        }
        char buf[512];
        ssize_t n = ::read(from_, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("read");
        if (n == 0) throw std::runtime_error("the SMB driver has exited");
        buffered_.append(buf, static_cast<std::size_t>(n));
    }
}

double smb_fixture::ask(const std::string& command, std::chrono::milliseconds timeout) {
    if (pid_ <= 0 || to_ < 0) throw std::runtime_error("the SMB driver is not running");
    std::string line = command + "\n";
    write_all(to_, line.data(), line.size());
    std::string answer = read_line(timeout);
    if (answer.starts_with("ok ")) return std::stod(answer.substr(3));
    throw std::runtime_error(answer.starts_with("error ") ? answer.substr(6) : "unexpected answer: " + answer);
}

} // namespace bench
