// bench/soak_process.cpp - peer processes and what ends them: the child class, the registry that
// Ctrl-C empties, the peer's side of the status and command descriptors, /proc readings.
#include "soak.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace soak {
namespace {

constexpr int status_fd = 3;
constexpr int command_fd = 4;
constexpr const char* driver_variable = "NPIPE_SOAK_DRIVER";

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

/// What Ctrl-C must end: our children, the user-scope broker (not our child), our directories.
struct registry {
    std::mutex m;
    std::vector<pid_t> children, brokers;
    std::vector<std::string> dirs;
};

registry& the_registry() {
    static registry r;
    return r;
}

void forget_child(pid_t pid) {
    auto& r = the_registry();
    std::lock_guard lock(r.m);
    std::erase(r.children, pid);
}

using bench::high_copy;
using bench::self_exe;

void reap(pid_t pid) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
}

void on_signal_thread(sigset_t set) {
    int sig = 0;
    if (::sigwait(&set, &sig) != 0) return;
    auto& r = the_registry();
    std::lock_guard lock(r.m);
    for (pid_t p : r.children) ::kill(p, SIGKILL);
    for (pid_t p : r.brokers) ::kill(p, SIGKILL);
    for (const auto& d : r.dirs) // brokers the library started in our directories (not our children)
        for (pid_t p : brokers_serving(d)) ::kill(p, SIGKILL);
    for (pid_t p : r.children) reap(p);
    for (const auto& d : r.dirs) {
        std::error_code ec;
        std::filesystem::remove_all(d, ec);
    }
    std::fprintf(stderr, "\nnpipe-soak: interrupted (signal %d): peers and brokers killed, directories removed\n", sig);
    std::_Exit(130);
}

} // namespace

// ---- the driver's side ----------------------------------------------------------------------

void cleanup_on_signal() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    if (int e = ::pthread_sigmask(SIG_BLOCK, &set, nullptr)) throw std::system_error(e, std::generic_category(), "sigmask");
    std::thread(on_signal_thread, set).detach();
    ::setenv(driver_variable, std::to_string(::getpid()).c_str(), 1);
}

void register_cleanup_dir(const std::string& dir) {
    auto& r = the_registry();
    std::lock_guard lock(r.m);
    r.dirs.push_back(dir);
}

void register_broker(pid_t pid) {
    auto& r = the_registry();
    std::lock_guard lock(r.m);
    r.brokers.clear();
    if (pid > 0) r.brokers.push_back(pid);
}

child::child(const std::vector<std::string>& args) {
    static const std::string exe = self_exe();
    std::vector<std::string> argv{exe, "--peer"};
    argv.insert(argv.end(), args.begin(), args.end());
    start(exe, argv);
}

child::child(const std::string& program, const std::vector<std::string>& args) {
    std::vector<std::string> argv{program};
    argv.insert(argv.end(), args.begin(), args.end());
    start(program, argv);
}

void child::start(const std::string& program, const std::vector<std::string>& argv_s) {
    int up[2], down[2];
    if (::pipe2(up, O_CLOEXEC) != 0) throw_errno("pipe2");
    if (::pipe2(down, O_CLOEXEC) != 0) throw_errno("pipe2");
    status_ = high_copy(up[0]);
    int peer_status = high_copy(up[1]);
    int peer_command = high_copy(down[0]);
    command_ = high_copy(down[1]);
    for (int fd : {up[0], up[1], down[0], down[1]}) ::close(fd); // the copies are what is used
    std::vector<char*> argv;
    for (const auto& a : argv_s) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, peer_status, status_fd); // dup2 clears close-on-exec
    posix_spawn_file_actions_adddup2(&fa, peer_command, command_fd);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none); // the driver blocks SIGINT & co. for its cleanup thread
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    auto& r = the_registry();
    std::lock_guard lock(r.m); // Ctrl-C sees every pid that runs
    int err = ::posix_spawn(&pid_, program.c_str(), &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(peer_status);
    ::close(peer_command);
    if (err != 0) {
        pid_ = -1;
        throw std::system_error(err, std::generic_category(), "posix_spawn " + program);
    }
    r.children.push_back(pid_);
}

child::~child() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap(pid_);
        forget_child(pid_);
    }
    if (status_ >= 0) ::close(status_);
    if (command_ >= 0) ::close(command_);
}

std::optional<std::string> child::read_line(std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    for (;;) {
        if (auto nl = buffered_.find('\n'); nl != std::string::npos) {
            std::string line = buffered_.substr(0, nl);
            buffered_.erase(0, nl + 1);
            return line;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        pollfd p{status_, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno("poll");
        if (n == 0) return std::nullopt;
        char buf[4096];
        ssize_t got = ::read(status_, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw_errno("read from a peer");
        if (got == 0) throw std::runtime_error("peer " + std::to_string(pid_) + " exited (" + buffered_ + ")");
        buffered_.append(buf, static_cast<std::size_t>(got));
    }
}

std::string child::expect(const std::string& prefix, std::chrono::milliseconds timeout) {
    auto line = read_line(timeout);
    if (!line) throw std::runtime_error("peer " + std::to_string(pid_) + " said nothing in time (waiting for '" + prefix + "')");
    if (!line->starts_with(prefix))
        throw std::runtime_error("peer " + std::to_string(pid_) + " said '" + *line + "' (waiting for '" + prefix + "')");
    return *line;
}

void child::send(char command) noexcept {
    if (command_ < 0) return;
    ssize_t n;
    do n = ::write(command_, &command, 1);
    while (n < 0 && errno == EINTR);
}

int child::wait_exit(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;
    int st = 0;
    bool exited = wait_for([&] { return ::waitpid(pid_, &st, WNOHANG) == pid_; }, timeout);
    if (!exited) {
        ::kill(pid_, SIGKILL);
        reap(pid_);
        st = SIGKILL; // reported as killed
    }
    forget_child(pid_);
    pid_ = -1;
    if (!exited) return 128 + SIGKILL;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void child::kill(int sig) noexcept {
    if (pid_ > 0) ::kill(pid_, sig);
}

std::string npiped_program() {
    if (const char* env = std::getenv("NPIPE_BROKER"); env && *env) return env;
    std::string self = self_exe();
    return self.substr(0, self.rfind('/')) + "/npiped";
}

void progress(const std::string& line) {
    static const auto start = clock::now();
    std::fprintf(stderr, "npipe-soak [%4.0f s] %s\n", seconds_since(start), line.c_str());
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit,
              std::chrono::milliseconds max_pause) {
    auto deadline = clock::now() + limit;
    auto pause = 1ms;
    while (!condition()) {
        if (clock::now() > deadline) return false;
        std::this_thread::sleep_for(pause);
        pause = std::min<std::chrono::milliseconds>(pause * 2, max_pause);
    }
    return true;
}

// ---- the peer's side ----------------------------------------------------------------------

void status_line(const std::string& line) {
    static std::mutex m;
    std::lock_guard lock(m);
    bench::write_all(status_fd, (line + "\n").data(), line.size() + 1);
}

char wait_command(std::chrono::milliseconds timeout) {
    pollfd p{command_fd, POLLIN, 0};
    int n;
    do n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (n < 0 && errno == EINTR);
    if (n <= 0) return 0;
    char c = 0;
    ssize_t got;
    do got = ::read(command_fd, &c, 1);
    while (got < 0 && errno == EINTR);
    return got == 1 ? c : 'q';
}

bool command_pending() {
    pollfd p{command_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
}

std::optional<double> field_of(const std::string& line, const std::string& key) {
    auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return std::nullopt;
    try {
        return std::stod(line.substr(at + key.size() + 2));
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void die_with_driver() {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const char* driver = std::getenv(driver_variable);
    if (driver && std::to_string(::getppid()) != driver) std::_Exit(1); // it went before the prctl
}

void become(uid_t uid) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0)
        throw_errno("becoming uid " + std::to_string(uid));
    die_with_driver(); // a change of credentials clears the parent-death signal
}

// ---- /proc --------------------------------------------------------------------------------------

namespace {

/// The number after `key` in a /proc file of "Key:   123 kB" lines.
std::optional<double> proc_field(const std::string& path, const std::string& key) {
    std::ifstream f(path);
    std::string line;
    while (std::getline(f, line))
        if (line.starts_with(key)) return std::stod(line.substr(key.size()));
    return std::nullopt;
}

} // namespace

std::optional<footprint> measure_footprint(pid_t pid) {
    std::string base = "/proc/" + std::to_string(pid);
    footprint fp;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(base + "/fd", ec), end; !ec && it != end; it.increment(ec))
        ++fp.descriptors;
    auto rss = proc_field(base + "/status", "VmRSS:");
    auto pss = proc_field(base + "/smaps_rollup", "Pss:");
    if (ec || !rss || !pss) return std::nullopt;
    fp.rss_kib = *rss;
    fp.pss_kib = *pss;
    return fp;
}

std::vector<pid_t> brokers_serving(const std::string& runtime_dir) {
    std::vector<pid_t> found;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](unsigned char ch) { return ch >= '0' && ch <= '9'; })) continue;
        std::ifstream comm(it->path() / "comm");
        std::string c;
        if (!std::getline(comm, c) || c != "npiped") continue;
        std::ifstream cmd(it->path() / "cmdline");
        std::string args((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
        std::replace(args.begin(), args.end(), '\0', ' ');
        if (args.find(" " + runtime_dir + " ") != std::string::npos) found.push_back(std::stoi(name));
    }
    return found;
}

} // namespace soak
