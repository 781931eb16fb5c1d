#include "os/process.hpp"

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace npipe::os {
namespace {

std::error_code last_error() noexcept { return {errno, std::generic_category()}; }

// Milliseconds until `deadline`, rounded up so that a poll never ends before it.
int remaining_ms(std::chrono::steady_clock::time_point deadline) noexcept {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline -
                                                              std::chrono::steady_clock::now());
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(left.count(), 0, INT_MAX));
}

// ---- the child between fork() and exec(): async-signal-safe calls only ----------------------

[[noreturn]] void child_fail(int report_fd, int error) noexcept {
    while (::write(report_fd, &error, sizeof error) < 0 && errno == EINTR) {}
    ::syscall(SYS_exit_group, 127); // not _exit: see os/daemon.cpp
    __builtin_unreachable();
}

// Marks [lo, hi] close-on-exec. close_range's CLOEXEC flag needs Linux 5.11; older kernels get
// a loop bounded by the descriptor limit.
void cloexec_range(unsigned lo, unsigned hi) noexcept {
    if (::close_range(lo, hi, CLOSE_RANGE_CLOEXEC) == 0) return;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
        limit.rlim_cur = 65536;
    if (limit.rlim_cur == 0) return;
    hi = static_cast<unsigned>(std::min<rlim_t>(hi, limit.rlim_cur - 1));
    for (unsigned i = lo; i <= hi && i <= INT_MAX; ++i) {
        int fd = static_cast<int>(i);
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0 && !(flags & FD_CLOEXEC)) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

[[noreturn]] void run_child(const spawn_request& r, int report_fd) noexcept {
    // The parent's handlers must not run here (a signal may arrive before exec), and the program
    // starts with nothing blocked, whatever the forking thread had blocked at the time.
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction action {};
        if (::sigaction(sig, nullptr, &action) != 0) continue;
        if (action.sa_handler == SIG_IGN || action.sa_handler == SIG_DFL) continue;
        action = {};
        action.sa_handler = SIG_DFL;
        ::sigaction(sig, &action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);

    // Inherited descriptors first: an invalid one must fail before a temporary could take its
    // number.
    for (std::size_t i = 0; i < r.keep_count; ++i)
        if (r.keep[i] == report_fd || ::fcntl(r.keep[i], F_SETFD, 0) != 0)
            child_fail(report_fd, r.keep[i] == report_fd ? EBADF : errno);

    // Copy every std source above 2 before any dup2 onto 0..2, so a source that is itself 0..2
    // (or shared by two targets) is not overwritten first. dup2 clears close-on-exec on 0..2.
    int temp[3] = {-1, -1, -1};
    for (int i = 0; i < 3; ++i)
        if (r.std_fds[i] >= 0 && (temp[i] = ::fcntl(r.std_fds[i], F_DUPFD_CLOEXEC, 3)) < 0)
            child_fail(report_fd, errno);
    for (int i = 0; i < 3; ++i)
        if (temp[i] >= 0 && ::dup2(temp[i], i) < 0) child_fail(report_fd, errno);

    // Everything else of the parent >= 3 goes at exec; the report pipe and temporaries too.
    unsigned lo = 3;
    for (std::size_t i = 0; i < r.keep_count; ++i) {
        auto k = static_cast<unsigned>(r.keep[i]);
        if (k > lo) cloexec_range(lo, k - 1);
        lo = k + 1;
    }
    cloexec_range(lo, ~0U);

    if (r.working_directory && ::chdir(r.working_directory) != 0) child_fail(report_fd, errno);
    // A path is executed as it is: execvp would run a file the kernel refuses (ENOEXEC) through
    // /bin/sh instead of failing. A bare name is looked up in PATH.
    char* const* env = r.envp ? r.envp : environ;
    if (std::strchr(r.file, '/'))
        ::execve(r.file, r.argv, env);
    else
        ::execvpe(r.file, r.argv, env);
    child_fail(report_fd, errno);
}

// The report pipe must not sit on 0..2 (when the parent has closed its stdio): dup2 onto those
// numbers would overwrite it.
std::error_code move_above_stdio(fd& f) noexcept {
    if (f.get() > 2) return {};
    auto r = sys_call([&] { return ::fcntl(f.get(), F_DUPFD_CLOEXEC, 3); });
    if (!r) return r.error;
    f.reset(r.value);
    return {};
}

} // namespace

sys_result<pipe_pair> make_pipe() noexcept {
    int fds[2] = {-1, -1};
    auto r = sys_call([&] { return ::pipe2(fds, O_CLOEXEC); });
    if (!r) return {{}, r.error};
    return {{fd{fds[0]}, fd{fds[1]}}, {}};
}

sys_result<int> pipe_capacity(int raw) noexcept {
    return sys_call([&] { return ::fcntl(raw, F_GETPIPE_SZ); });
}

std::error_code set_pipe_capacity(int raw, int bytes) noexcept {
    return sys_call([&] { return ::fcntl(raw, F_SETPIPE_SZ, bytes); }).error;
}

std::error_code at_fork(void (*prepare)(), void (*parent)(), void (*child)()) noexcept {
    int rc = ::pthread_atfork(prepare, parent, child);
    return rc == 0 ? std::error_code{} : std::error_code{rc, std::generic_category()};
}

sys_result<std::size_t> read_some(int raw, void* buffer, std::size_t size) noexcept {
    auto r = sys_call([&] { return ::read(raw, buffer, size); });
    if (!r) return {0, r.error};
    return {static_cast<std::size_t>(r.value), {}};
}

sys_result<std::size_t> peek_pipe(int raw, void* buffer, std::size_t size) noexcept {
    if (size == 0) return {0, {}};
    auto scratch = make_pipe();
    if (!scratch) return {0, scratch.error};
    // tee() duplicates whole pipe buffers by reference, no more than the scratch pipe has slots:
    // with the source's capacity one call sees everything buffered.
    auto capacity = pipe_capacity(raw);
    if (capacity && capacity.value > 65536) (void)set_pipe_capacity(scratch.value.write.get(),
                                                                   capacity.value);
    auto copied = sys_call(
        [&] { return ::tee(raw, scratch.value.write.get(), size, SPLICE_F_NONBLOCK); });
    if (!copied) {
        // EAGAIN: emptied by a concurrent reader since the caller looked.
        if (copied.error == std::errc::resource_unavailable_try_again) return {0, {}};
        return {0, copied.error};
    }
    auto want = static_cast<std::size_t>(copied.value);
    std::size_t got = 0;
    while (got < want) {
        auto r = read_some(scratch.value.read.get(), static_cast<char*>(buffer) + got, want - got);
        if (!r) return {0, r.error};
        if (r.value == 0) break;
        got += r.value;
    }
    return {got, {}};
}

sys_result<pid_t> spawn(const spawn_request& request) noexcept {
    auto report = make_pipe();
    if (!report) return {-1, report.error};
    if (auto ec = move_above_stdio(report.value.read)) return {-1, ec};
    if (auto ec = move_above_stdio(report.value.write)) return {-1, ec};

    sigset_t all, old;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = ::fork();
    if (pid == 0) run_child(request, report.value.write.get());
    std::error_code fork_error = pid < 0 ? last_error() : std::error_code{};
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (pid < 0) return {-1, fork_error};

    // exec closes the write end (close-on-exec): EOF means the program runs; an int is errno.
    report.value.write.reset();
    int child_errno = 0;
    auto n = sys_call([&] { return ::read(report.value.read.get(), &child_errno, sizeof child_errno); });
    if (n && n.value == 0) return {pid, {}};
    std::error_code failure = n ? std::error_code(child_errno, std::generic_category()) : n.error;
    if (!n) (void)::kill(pid, SIGKILL);
    (void)reap(pid, true); // it is exiting: reap it now so no zombie is left behind
    return {-1, failure};
}

sys_result<fd> pidfd_open(pid_t pid) noexcept {
#ifdef SYS_pidfd_open
    auto r = sys_call([&] { return ::syscall(SYS_pidfd_open, pid, 0U); });
    if (r) return {fd{static_cast<int>(r.value)}, {}};
    if (r.error != std::errc::function_not_supported) return {fd{}, r.error};
#else
    (void)pid;
#endif
    return {fd{}, {}};
}

sys_result<std::optional<child_status>> reap_status(pid_t pid, bool block) noexcept {
    siginfo_t info{};
    auto r = sys_call([&] {
        return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | (block ? 0 : WNOHANG));
    });
    if (!r) return {std::nullopt, r.error};
    if (info.si_pid == 0) return {std::nullopt, {}};
    if (info.si_code == CLD_EXITED) return {child_status{info.si_status, 0}, {}};
    return {child_status{128 + info.si_status, info.si_status}, {}};
}

sys_result<std::optional<int>> reap(pid_t pid, bool block) noexcept {
    auto r = reap_status(pid, block);
    if (!r || !r.value) return {std::nullopt, r.error};
    return {r.value->code, {}};
}

sys_result<bool> wait_exited(pid_t pid, int pidfd,
                             std::chrono::steady_clock::time_point deadline) noexcept {
    if (pidfd >= 0) {
        do {
            pollfd p{pidfd, POLLIN, 0};
            // The lambda recomputes the timeout, so an EINTR retry keeps the deadline.
            auto r = sys_call([&] { return ::poll(&p, 1, remaining_ms(deadline)); });
            if (!r) return {false, r.error};
            if (r.value > 0) return {true, {}};
        } while (std::chrono::steady_clock::now() < deadline);
        return {false, {}};
    }
    // No pidfd (Linux < 5.3): poll the child's state with a growing sleep.
    long sleep_ns = 1'000'000;
    for (;;) {
        siginfo_t info{};
        auto r = sys_call([&] {
            return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
        });
        if (!r) return {false, r.error};
        if (info.si_pid != 0) return {true, {}};
        int left = remaining_ms(deadline);
        if (left == 0) return {false, {}};
        long ns = std::min<long>(sleep_ns, static_cast<long>(left) * 1'000'000);
        timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
        ::nanosleep(&ts, nullptr);
        sleep_ns = std::min<long>(sleep_ns * 2, 50'000'000);
    }
}

std::error_code kill_process(pid_t pid, int pidfd) noexcept {
#ifdef SYS_pidfd_send_signal
    if (pidfd >= 0) {
        auto r = sys_call([&] { return ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U); });
        if (r.error != std::errc::function_not_supported) return r.error;
    }
#else
    (void)pidfd;
#endif
    return sys_call([&] { return ::kill(pid, SIGKILL); }).error;
}

std::optional<std::uint64_t> process_start_time(pid_t pid) noexcept {
    auto r = read_process_start_time(pid);
    return r ? r.value : std::nullopt;
}

sys_result<std::optional<std::uint64_t>> read_process_start_time(pid_t pid) noexcept {
    if (pid <= 0) return {};
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
    int f = ::open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) {
        // Out of descriptors says nothing about the process: the caller cannot tell.
        if (errno == EMFILE || errno == ENFILE) return {std::nullopt, std::error_code(errno, std::generic_category())};
        return {};
    }
    char buf[1024];
    ssize_t n = ::read(f, buf, sizeof buf - 1);
    ::close(f);
    if (n <= 0) return {};
    buf[n] = 0;
    // "pid (comm) state ppid ...": comm may hold anything, even ") ", so read after the last ')'.
    char* p = std::strrchr(buf, ')');
    if (!p || p[1] != ' ') return {};
    p += 2;
    char state = *p;
    if (state == 'Z' || state == 'X' || state == 'x') return {};
    // Field 3 is the state; starttime is field 22.
    for (int field = 3; field < 22; ++field) {
        p = std::strchr(p, ' ');
        if (!p) return {};
        ++p;
    }
    char* end = nullptr;
    unsigned long long start = std::strtoull(p, &end, 10);
    if (end == p) return {};
    return {std::uint64_t{start}, {}};
}

bool process_running(pid_t pid, std::uint64_t start_time) noexcept {
    if (start_time == 0) // its start is unknown (a /proc we may not read): does the pid exist?
        return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
    auto now = read_process_start_time(pid);
    if (!now) return true; // out of descriptors: we cannot tell, and a reservation must not end for it
    return now.value && *now.value == start_time;
}

std::string executable_of(pid_t pid) {
    char path[32], target[4096];
    std::snprintf(path, sizeof path, "/proc/%d/exe", static_cast<int>(pid));
    ssize_t n = ::readlink(path, target, sizeof target - 1);
    return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string{};
}

sys_result<std::string> own_executable() {
    char target[PATH_MAX];
    auto n = sys_call([&] { return ::readlink("/proc/self/exe", target, sizeof target); });
    if (!n) return {{}, n.error};
    // readlink truncates silently: a result that fills the buffer may have lost its end.
    if (static_cast<std::size_t>(n.value) == sizeof target)
        return {{}, std::make_error_code(std::errc::filename_too_long)};
    return {std::string(target, static_cast<std::size_t>(n.value)), {}};
}

} // namespace npipe::os
