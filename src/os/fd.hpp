// os/fd.hpp - the only place npipe talks to the kernel: descriptors and their system calls.
//
// Every call into the kernel goes through sys_call(), which retries EINTR and reports errno as
// a std::error_code in the generic category together with the call's name, so a failure can be
// mapped to a Win32 number in exactly one place (npipe::win32_error_from_errno).
#pragma once

#include <cerrno>
#include <cstdint>
#include <poll.h>
#include <span>
#include <string>
#include <sys/types.h>
#include <system_error>
#include <utility>

namespace npipe::os {

/// Result of a system call: the value, or errno as an error_code.
template <typename T>
struct sys_result {
    T value{};
    std::error_code error;
    explicit operator bool() const noexcept { return !error; }
};

/// Calls `f` until it does not fail with EINTR; failure is a negative (or MAP_FAILED-like)
/// return checked by `failed`.
template <typename F>
auto sys_call(F&& f) noexcept -> sys_result<decltype(f())> {
    for (;;) {
        auto r = f();
        if (r >= 0) return {r, {}};
        if (errno != EINTR) return {r, std::error_code(errno, std::generic_category())};
    }
}

/// Called with each descriptor an fd is about to close (one per process; the reactor's: its
/// epoll registrations outlive nothing they were made for). Must not take locks a closing
/// thread may hold.
void set_before_close(void (*hook)(int raw) noexcept) noexcept;

/// Owns one descriptor; closes it on destruction. Move-only.
class fd {
public:
    fd() noexcept = default;
    explicit fd(int raw) noexcept : raw_(raw) {}
    fd(fd&& other) noexcept : raw_(std::exchange(other.raw_, -1)) {}
    fd& operator=(fd&& other) noexcept {
        if (this != &other) reset(std::exchange(other.raw_, -1));
        return *this;
    }
    fd(const fd&) = delete;
    fd& operator=(const fd&) = delete;
    ~fd() { reset(); }

    int get() const noexcept { return raw_; }
    bool valid() const noexcept { return raw_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    int release() noexcept { return std::exchange(raw_, -1); }
    void reset(int raw = -1) noexcept;

private:
    int raw_ = -1;
};

/// dup with O_CLOEXEC.
sys_result<fd> dup_cloexec(int raw) noexcept;

/// Raises this process's soft RLIMIT_NOFILE to its hard limit; returns the soft limit now.
sys_result<std::uint64_t> raise_descriptor_limit() noexcept;
/// True when this process cannot open one more descriptor now (EMFILE or ENFILE).
bool descriptors_exhausted() noexcept;

/// mkdir(2) with `mode`; a directory (or anything) already there is not an error.
std::error_code make_directory(const std::string& path, unsigned mode) noexcept;
/// lchown(2): gives the file at `path` (not what a symlink there points to) to `uid`, keeping its group.
std::error_code give_file_to(const std::string& path, uid_t uid) noexcept;
/// Who owns a directory and its mode bits.
struct directory_facts {
    uid_t owner = 0;
    unsigned mode = 0; ///< permission bits (st_mode & 07777)
};
/// Reads the owner and mode of the directory `path` without following a symlink in its last
/// component (one planted in place of the directory fails with ELOOP; anything else that is not
/// a directory with ENOTDIR).
sys_result<directory_facts> inspect_directory(const std::string& path) noexcept;
/// Who owns an open file, its mode bits, and whether it is a regular file (fstat).
struct file_facts {
    uid_t owner = 0;
    unsigned mode = 0; ///< permission bits (st_mode & 07777)
    bool regular = false;
};
sys_result<file_facts> inspect_file(int raw) noexcept;
/// dup with O_CLOEXEC onto the lowest free number >= `lowest`.
sys_result<fd> dup_above(int raw, int lowest) noexcept;
/// Sets or clears O_NONBLOCK.
std::error_code set_nonblocking(int raw, bool on) noexcept;
/// Sets or clears FD_CLOEXEC.
std::error_code set_cloexec(int raw, bool on) noexcept;

/// poll() on one descriptor. `timeout_ms` < 0 waits forever. Returns revents (0 on timeout).
sys_result<short> poll_one(int raw, short events, int timeout_ms) noexcept;
/// An eventfd (close-on-exec, non-blocking) to use as a flag: readable once set_wake_flag() has
/// been called on it, until clear_wake_flag().
sys_result<fd> make_wake_flag() noexcept;
/// Makes the flag readable; safe from any thread.
std::error_code set_wake_flag(int flag) noexcept;
void clear_wake_flag(int flag) noexcept;
/// poll(2) on any number of descriptors (negative ones are skipped); returns how many are ready.
/// EINTR is an error here (the caller's loop recomputes its timeout).
sys_result<std::size_t> poll_all(std::span<pollfd> fds, int timeout_ms) noexcept;
/// Waits up to `timeout_ms` (< 0: forever) for `raw` to become readable: data, its end, or an
/// error to read. Returns whether it did (false: the time ran out).
sys_result<bool> wait_readable(int raw, int timeout_ms) noexcept;
/// Waits up to `timeout_ms` (< 0: forever) for room to write on `raw`, or an error to meet.
sys_result<bool> wait_writable(int raw, int timeout_ms) noexcept;
/// Whether an error is pending on `raw` now (POLLERR: on a socket, a peer that closed with our
/// bytes unread); false when even asking fails.
bool error_pending(int raw) noexcept;

/// Writes all of `size` bytes with write(2), handling short writes and EINTR. Never raises
/// SIGPIPE (blocks it on the calling thread around the write and discards a pending one).
std::error_code write_all_nosigpipe(int raw, const void* data, std::size_t size) noexcept;

/// Bytes that can be read now without blocking (FIONREAD).
sys_result<int> readable_bytes(int raw) noexcept;

/// What a zero-byte read of a pipe or stream finds, taking nothing: data waiting, the end (the
/// writer has gone and nothing is left), or - only when `block` is false - nothing yet.
enum class stream_ahead { data, end, nothing };
sys_result<stream_ahead> look_ahead(int raw, bool block) noexcept;

/// open(2) with O_CLOEXEC added.
sys_result<fd> open_path(const char* path, int flags, unsigned mode) noexcept;

/// What a descriptor refers to.
enum class descriptor_type { regular, directory, fifo, socket, character, other };
sys_result<descriptor_type> type_of(int raw) noexcept;

/// True when `raw` is an open descriptor.
bool is_open(int raw) noexcept;

/// fsync(2).
std::error_code sync_to_disk(int raw) noexcept;

} // namespace npipe::os
