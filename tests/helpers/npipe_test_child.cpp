// npipe_test_child - the child process of the anonymous-pipe tests.
//
//   echo              copy stdin to stdout (through npipe pipe ends) until the writer closes
//   fds               print the open descriptor numbers, space-separated, on stdout
//   write-fd N TEXT   write TEXT to descriptor N (which must have been inherited)
//   exit N            exit with status N
//   raise SIG         die by signal SIG
//   wait-stdin        read stdin until the writer closes, then exit 0
//   swap-echo         run `echo` as a grandchild with this process's fd 1 as its stdin and fd 0
//                     as its stdout (std sources that are themselves 0..2); exit with its code
//   spawn-missing     spawn a nonexistent program; print "<win32 code> zombie|nozombie"
#include <npipe/anonymous_pipe.hpp>

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

bool write_fd(int fd, const std::string& text) {
    return ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

int echo() {
    npipe::anonymous_pipe_end in(0, npipe::pipe_end_role::read);
    npipe::anonymous_pipe_end out(1, npipe::pipe_end_role::write);
    std::byte buffer[4096];
    std::error_code ec;
    for (;;) {
        auto n = in.read(buffer, ec);
        if (ec) return ec == npipe::win32_error::broken_pipe ? 0 : 2;
        if (out.write(std::span(buffer, n), ec), ec) return 3;
    }
}

int list_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (!dir) return 2;
    std::vector<int> fds;
    while (dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;
        int fd = std::atoi(e->d_name);
        if (fd != ::dirfd(dir)) fds.push_back(fd);
    }
    ::closedir(dir);
    std::sort(fds.begin(), fds.end());
    std::string text;
    for (int fd : fds) text += (text.empty() ? "" : " ") + std::to_string(fd);
    return write_fd(1, text + "\n") ? 0 : 3;
}

int wait_stdin() {
    char c;
    while (::read(0, &c, 1) > 0) {}
    return 0;
}

int swap_echo(const char* self) {
    npipe::spawn_options options;
    options.program = self;
    options.args = {"echo"};
    options.stdin_fd = 1;
    options.stdout_fd = 0;
    std::error_code ec;
    auto child = npipe::child_process::spawn(options, ec);
    if (ec) return 10;
    int code = child.wait(std::nullopt, ec);
    return ec ? 11 : code;
}

int spawn_missing() {
    npipe::spawn_options options;
    options.program = "/nonexistent/npipe-no-such-program";
    std::error_code ec;
    auto child = npipe::child_process::spawn(options, ec);
    // This process has no other children, so waitid fails at once with ECHILD unless the
    // failed spawn left a child behind (it would then wait for that child to exit).
    siginfo_t info{};
    bool zombie = ::waitid(P_ALL, 0, &info, WEXITED) == 0;
    return write_fd(1, std::to_string(ec.value()) + (zombie ? " zombie\n" : " nozombie\n")) ? 0 : 3;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 64;
    std::string mode = argv[1];
    if (mode == "echo") return echo();
    if (mode == "fds") return list_fds();
    if (mode == "write-fd" && argc == 4) return write_fd(std::atoi(argv[2]), argv[3]) ? 0 : 4;
    if (mode == "exit" && argc == 3) return std::atoi(argv[2]);
    if (mode == "raise" && argc == 3) {
        int sig = std::atoi(argv[2]);
        std::signal(sig, SIG_DFL);
        std::raise(sig);
        return 5;
    }
    if (mode == "wait-stdin") return wait_stdin();
    if (mode == "swap-echo") return swap_echo("/proc/self/exe");
    if (mode == "spawn-missing") return spawn_missing();
    return 64;
}
