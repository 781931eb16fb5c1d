// os/stdio.hpp - what a program that joins its own stdin and stdout to pipes needs from the
// kernel (the npipe CLI): waiting on several descriptors at once with named readiness flags,
// a wake-up flag such a wait can watch, one write(2), whether a stream is a terminal, and
// blocking signals. In the style of os/fd.hpp: EINTR is retried, errno comes back as a
// generic-category error_code.
#pragma once

#include "os/fd.hpp"

#include <cstddef>
#include <initializer_list>
#include <span>

namespace npipe::os {

/// What a wait asks for and what it found, as bits.
enum class io_ready : unsigned {
    none = 0,
    readable = 1u << 0, ///< a read will not block (data, or the end of the stream)
    writable = 1u << 1, ///< a write will not block
    hung_up = 1u << 2,  ///< the other end closed (reported whether asked for or not)
    failed = 1u << 3,   ///< an error condition or an invalid descriptor (likewise)
};
constexpr io_ready operator|(io_ready a, io_ready b) noexcept {
    return static_cast<io_ready>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr io_ready operator&(io_ready a, io_ready b) noexcept {
    return static_cast<io_ready>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// True when `set` holds any of `bits`.
constexpr bool any_of(io_ready set, io_ready bits) noexcept { return (set & bits) != io_ready::none; }

/// One descriptor to wait for: `fd` (negative ones are skipped and never become ready), what
/// to wait for, and what wait_ready() found (none when it was not ready).
struct io_watch {
    int fd = -1;
    io_ready wanted = io_ready::readable;
    io_ready found = io_ready::none;
};

/// Most descriptors one wait_ready() takes.
inline constexpr std::size_t max_watches = 16;

/// poll(2): waits until at least one of `watches` is ready or `timeout_ms` has passed (< 0:
/// forever; an EINTR restarts the wait with the whole timeout). Fills each `found` and returns
/// how many are ready, 0 on timeout. More than max_watches is EINVAL.
sys_result<std::size_t> wait_ready(std::span<io_watch> watches, int timeout_ms) noexcept;

/// One write(2) of up to `size` bytes; returns how many were written. EAGAIN on a non-blocking
/// descriptor that takes nothing now.
sys_result<std::size_t> write_some(int raw, const void* data, std::size_t size) noexcept;


/// True when `raw` is a terminal (isatty).
bool is_terminal(int raw) noexcept;

/// Blocks `signals` for the calling thread and the threads it starts from now on. Unlike
/// ignoring them, this leaves their dispositions as they are for the programs spawn() starts
/// (which unblocks every signal in the child).
std::error_code block_signals(std::initializer_list<int> signals) noexcept;

} // namespace npipe::os
