// io.hpp - waiting and moving bytes, for the commands that carry data (serve, connect, call):
// a flag a wait can watch, waits on a descriptor and such flags, stdin/stdout reads and writes
// that cope with non-blocking streams, and reads of whole messages from a pipe end. The kernel
// calls are in src/os.
#pragma once

#include "os/fd.hpp"

#include <npipe/named_pipe.hpp>

#include <atomic>
#include <cstddef>
#include <initializer_list>
#include <span>
#include <system_error>
#include <vector>

namespace npipe::cli {

/// What one read of stdin, of a child's output or of a pipe asks for at most.
inline constexpr std::size_t chunk_size = 64 * 1024;

/// A flag that a wait can watch: it stays set (and its descriptor readable) once set.
class event {
public:
    event();
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    void set() noexcept;
    bool is_set() const noexcept { return set_.load(); }
    int fd() const noexcept { return fd_.get(); }

private:
    os::fd fd_;
    std::atomic<bool> set_{false};
};

enum class woke { ready, event, timeout };

/// Waits until `fd` is readable (or hung up, or invalid: the next read tells) or one of
/// `events` (null ones are left out) is set; a set event wins. `fd` < 0 waits for the events
/// only. `timeout_ms` -1 waits forever.
woke wait_readable(int fd, std::initializer_list<const event*> events, int timeout_ms = -1);

/// Writes all of `data` to a plain descriptor, waiting while a non-blocking one is full.
bool write_all(int fd, std::span<const std::byte> data, std::error_code& ec);

/// read(2) of what is there (waiting on a non-blocking descriptor); 0 at end of file. An
/// unusable stdin counts as an empty one.
std::size_t read_some(int fd, std::span<std::byte> buffer, std::error_code& ec);

/// Everything up to end of file.
std::vector<std::byte> read_all(int fd, std::error_code& ec);

/// One read of a pipe end: a whole message when `whole_message` (message read mode), else what
/// is there. An empty result without error is a zero-length message.
bool read_unit(pipe_end_base& p, bool whole_message, std::vector<std::byte>& out, std::error_code& ec);

/// The peer has gone (closed, or disconnected us): the normal end of a conversation.
bool peer_gone(const std::error_code& ec);

} // namespace npipe::cli
