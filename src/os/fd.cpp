#include "os/fd.hpp"

#include <atomic>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

namespace npipe::os {

namespace {
std::atomic<void (*)(int) noexcept> g_before_close{nullptr};
} // namespace

void set_before_close(void (*hook)(int raw) noexcept) noexcept { g_before_close.store(hook, std::memory_order_release); }

void fd::reset(int raw) noexcept {
    if (raw_ >= 0) {
        if (auto hook = g_before_close.load(std::memory_order_acquire)) hook(raw_);
        ::close(raw_); // close() is never retried on Linux: the fd is gone either way
    }
    raw_ = raw;
}

sys_result<fd> dup_cloexec(int raw) noexcept {
    auto r = sys_call([&] { return ::fcntl(raw, F_DUPFD_CLOEXEC, 0); });
    if (!r) return {fd{}, r.error};
    return {fd{r.value}, {}};
}

sys_result<std::uint64_t> raise_descriptor_limit() noexcept {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return {0, std::error_code(errno, std::generic_category())};
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return {static_cast<std::uint64_t>(limit.rlim_cur == RLIM_INFINITY ? (1u << 20) : limit.rlim_cur), {}};
}

bool descriptors_exhausted() noexcept {
    auto probe = sys_call([] { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); });
    if (probe) {
        ::close(probe.value);
        return false;
    }
    return probe.error == std::errc::too_many_files_open || probe.error == std::errc::too_many_files_open_in_system;
}

std::error_code make_directory(const std::string& path, unsigned mode) noexcept {
    auto r = sys_call([&] { return ::mkdir(path.c_str(), static_cast<mode_t>(mode)); });
    if (!r && r.error != std::errc::file_exists) return r.error;
    return {};
}

std::error_code give_file_to(const std::string& path, uid_t uid) noexcept {
    return sys_call([&] { return ::lchown(path.c_str(), uid, static_cast<gid_t>(-1)); }).error;
}

sys_result<directory_facts> inspect_directory(const std::string& path) noexcept {
    // One lstat: a symlink in the last component is reported as itself (not a directory), never
    // followed. Every connection to the broker looks first, so this is one call, not three.
    struct stat st{};
    auto r = sys_call([&] { return ::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW); });
    if (!r) return {{}, r.error};
    if (S_ISLNK(st.st_mode)) return {{}, std::make_error_code(std::errc::too_many_symbolic_link_levels)};
    if (!S_ISDIR(st.st_mode)) return {{}, std::make_error_code(std::errc::not_a_directory)};
    return {directory_facts{st.st_uid, static_cast<unsigned>(st.st_mode & 07777)}, {}};
}

sys_result<file_facts> inspect_file(int raw) noexcept {
    struct stat st{};
    auto r = sys_call([&] { return ::fstat(raw, &st); });
    if (!r) return {{}, r.error};
    return {file_facts{st.st_uid, static_cast<unsigned>(st.st_mode & 07777), S_ISREG(st.st_mode)}, {}};
}

std::error_code set_nonblocking(int raw, bool on) noexcept {
    auto flags = sys_call([&] { return ::fcntl(raw, F_GETFL); });
    if (!flags) return flags.error;
    int wanted = on ? (flags.value | O_NONBLOCK) : (flags.value & ~O_NONBLOCK);
    if (wanted == flags.value) return {};
    return sys_call([&] { return ::fcntl(raw, F_SETFL, wanted); }).error;
}

std::error_code set_cloexec(int raw, bool on) noexcept {
    auto flags = sys_call([&] { return ::fcntl(raw, F_GETFD); });
    if (!flags) return flags.error;
    int wanted = on ? (flags.value | FD_CLOEXEC) : (flags.value & ~FD_CLOEXEC);
    return sys_call([&] { return ::fcntl(raw, F_SETFD, wanted); }).error;
}

sys_result<short> poll_one(int raw, short events, int timeout_ms) noexcept {
    pollfd p{raw, events, 0};
    // EINTR restarts with the full timeout; callers that need a deadline recompute it.
    auto r = sys_call([&] { return ::poll(&p, 1, timeout_ms); });
    if (!r) return {0, r.error};
    return {r.value == 0 ? short{0} : p.revents, {}};
}

sys_result<fd> make_wake_flag() noexcept {
    auto r = sys_call([] { return ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); });
    if (!r) return {fd{}, r.error};
    return {fd{r.value}, {}};
}

std::error_code set_wake_flag(int flag) noexcept {
    std::uint64_t one = 1;
    return sys_call([&] { return ::write(flag, &one, sizeof one); }).error;
}

void clear_wake_flag(int flag) noexcept {
    std::uint64_t count = 0;
    while (::read(flag, &count, sizeof count) < 0 && errno == EINTR) {}
}

sys_result<std::size_t> poll_all(std::span<pollfd> fds, int timeout_ms) noexcept {
    int r = ::poll(fds.data(), static_cast<nfds_t>(fds.size()), timeout_ms);
    if (r < 0) return {0, std::error_code(errno, std::generic_category())};
    return {static_cast<std::size_t>(r), {}};
}

sys_result<bool> wait_readable(int raw, int timeout_ms) noexcept {
    auto r = poll_one(raw, POLLIN, timeout_ms);
    return {r && r.value != 0, r.error};
}

sys_result<bool> wait_writable(int raw, int timeout_ms) noexcept {
    auto r = poll_one(raw, POLLOUT, timeout_ms);
    return {r && r.value != 0, r.error};
}

bool error_pending(int raw) noexcept {
    auto r = poll_one(raw, 0, 0); // POLLERR is reported whatever one asks for
    return r && (r.value & POLLERR) != 0;
}

std::error_code write_all_nosigpipe(int raw, const void* data, std::size_t size) noexcept {
    // Pipes (unlike sockets) have no MSG_NOSIGNAL: block SIGPIPE on this thread, write, and
    // consume a SIGPIPE we caused before unblocking, so the process never sees it.
    sigset_t pipe_set, old_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);

    std::error_code ec;
    auto p = static_cast<const char*>(data);
    while (size > 0) {
        auto r = sys_call([&] { return ::write(raw, p, size); });
        if (!r) { ec = r.error; break; }
        p += r.value;
        size -= static_cast<std::size_t>(r.value);
    }
    if (ec == std::errc::broken_pipe && !was_pending) {
        timespec zero{0, 0};
        while (sigtimedwait(&pipe_set, nullptr, &zero) == -1 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
    return ec;
}

sys_result<int> readable_bytes(int raw) noexcept {
    int n = 0;
    auto r = sys_call([&] { return ::ioctl(raw, FIONREAD, &n); });
    if (!r) return {0, r.error};
    return {n, {}};
}

sys_result<stream_ahead> look_ahead(int raw, bool block) noexcept {
    auto ev = poll_one(raw, POLLIN, block ? -1 : 0);
    if (!ev) return {stream_ahead::nothing, ev.error};
    if (ev.value == 0) return {stream_ahead::nothing, {}};
    // A hang-up with bytes still queued is data first: the end comes once they are read.
    auto queued = readable_bytes(raw);
    if ((ev.value & (POLLHUP | POLLERR)) && queued && queued.value == 0) return {stream_ahead::end, {}};
    return {stream_ahead::data, {}};
}

sys_result<fd> dup_above(int raw, int lowest) noexcept {
    auto r = sys_call([&] { return ::fcntl(raw, F_DUPFD_CLOEXEC, lowest); });
    if (!r) return {fd{}, r.error};
    return {fd(r.value), {}};
}

sys_result<fd> open_path(const char* path, int flags, unsigned mode) noexcept {
    auto r = sys_call([&] { return ::open(path, flags | O_CLOEXEC, static_cast<mode_t>(mode)); });
    if (!r) return {fd{}, r.error};
    return {fd(r.value), {}};
}

sys_result<descriptor_type> type_of(int raw) noexcept {
    struct stat st {};
    auto r = sys_call([&] { return ::fstat(raw, &st); });
    if (!r) return {descriptor_type::other, r.error};
    if (S_ISREG(st.st_mode)) return {descriptor_type::regular, {}};
    if (S_ISDIR(st.st_mode)) return {descriptor_type::directory, {}};
    if (S_ISFIFO(st.st_mode)) return {descriptor_type::fifo, {}};
    if (S_ISSOCK(st.st_mode)) return {descriptor_type::socket, {}};
    if (S_ISCHR(st.st_mode)) return {descriptor_type::character, {}};
    return {descriptor_type::other, {}};
}

bool is_open(int raw) noexcept { return raw >= 0 && ::fcntl(raw, F_GETFD) != -1; }

std::error_code sync_to_disk(int raw) noexcept {
    auto r = sys_call([&] { return ::fsync(raw); });
    return r.error;
}

} // namespace npipe::os
