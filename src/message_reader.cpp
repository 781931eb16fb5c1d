// The reading side of a connection: read_op's steps, the cursor they share, PeekNamedPipe.
#include "message_stream.hpp"

#include "os/socket.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <cstring>
#include <sys/socket.h>

namespace npipe::detail {
namespace {

/// A message's length: `n` bytes, little-endian (4 for npipe's framing, 2 for smbd's).
std::uint32_t read_length(const std::byte* p, std::size_t n) noexcept {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
}

bool would_block(const std::error_code& ec) noexcept {
    return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

/// What one attempt to take bytes found.
enum class took { all, would_block, ended, failed };

/// recv() that never waits, with its end and errors classified. `n` is what it received.
took receive_now(message_stream& s, void* p, std::size_t size, std::size_t& n, std::error_code& ec,
                 os::io_flags flags = os::io_flags::none) noexcept {
    n = 0;
    auto r = os::recv_some(s.fd, p, size, flags | os::io_flags::dont_wait);
    s.drained = !r && would_block(r.error);
    if (!r) {
        if (s.drained) return took::would_block;
        if (r.error == std::errc::connection_reset) return took::ended;
        ec = to_win32(r.error);
        return took::failed;
    }
    if (r.value == 0) return took::ended;
    n = r.value;
    return n == size ? took::all : took::would_block; // a short read: the socket is empty now
}

/// Completes the next message's header into the cursor (between messages).
took take_header(message_stream& s, std::error_code& ec) noexcept {
    read_cursor& c = s.cursor;
    const std::size_t size = s.header_size();
    while (c.header_got < size) {
        std::size_t n = 0;
        took t = receive_now(s, c.header.data() + c.header_got, size - c.header_got, n, ec);
        c.header_got += n;
        if (t != took::all && c.header_got < size) return t;
    }
    c.in_message = true;
    c.left = read_length(c.header.data(), size);
    c.header_got = 0;
    return took::all;
}

/// Takes up to `n` payload bytes of the current message: the carried ones first, then the
/// socket's. `copied` says how many; took::all when all `n` came.
took take_payload(message_stream& s, std::byte* dst, std::size_t n, std::size_t& copied, std::error_code& ec) noexcept {
    read_cursor& c = s.cursor;
    copied = 0;
    if (!c.carried.empty()) {
        copied = std::min(n, c.carried.size());
        std::memcpy(dst, c.carried.data(), copied);
        c.carried.erase(c.carried.begin(), c.carried.begin() + static_cast<std::ptrdiff_t>(copied));
        c.left -= copied;
    }
    if (copied == n) return took::all;
    std::size_t got = 0;
    took t = receive_now(s, dst + copied, n - copied, got, ec);
    copied += got;
    c.left -= got;
    return t;
}

/// Whether a whole non-empty header waits in the socket (between messages, nothing half-read).
bool nonempty_message_announced(const message_stream& s) noexcept {
    if (s.cursor.header_got != 0) return false;
    std::byte header[message_header_size];
    const std::size_t size = s.header_size();
    auto r = os::recv_some(s.fd, header, size, os::io_flags::peek | os::io_flags::dont_wait);
    return r && r.value == size && read_length(header, size) != 0;
}

} // namespace

// ---- read_op ----------------------------------------------------------------------------------

step_result read_op::finish_ended() noexcept {
    out_.peer_ended = true;
    return finish(win32(win32_error::broken_pipe), 0);
}

step_result read_op::nothing_yet() noexcept {
    if (wait_) return step_result::read_ready(s_.fd, s_.drained);
    return finish(win32(win32_error::no_data), 0);
}

bool read_op::more_data() const noexcept { return out_.ec == win32_error::more_data; }

step_result read_op::step(step_mode) noexcept {
    // Never waits inside recv(), whoever drives it: waiting in poll() and then reading costs a
    // round trip no more (measured: less, for messages) than a blocking recv().
    if (completed_) return step_result::complete();
    switch (style_) {
    case read_style::bytes: return step_bytes();
    case read_style::message: return step_message();
    case read_style::messages_as_bytes: return step_messages_as_bytes();
    }
    return finish(win32(win32_error::invalid_function), 0);
}

step_result read_op::step_bytes() noexcept {
    std::error_code ec;
    std::size_t n = 0;
    if (buf_.empty()) {
        // Windows: a zero-byte read waits for data without taking any, and reports the end of
        // the pipe like any other read.
        std::byte probe;
        took t = receive_now(s_, &probe, 1, n, ec, os::io_flags::peek);
        if (t == took::all) return finish({}, 0);
        if (t == took::would_block) return nothing_yet();
        return finish_ended();
    }
    took t = receive_now(s_, buf_.data(), buf_.size(), n, ec);
    if (n > 0) return finish({}, n);
    if (t == took::would_block) return nothing_yet();
    if (t == took::ended) return finish_ended();
    return finish(ec, 0);
}

step_result read_op::step_message() noexcept {
    read_cursor& c = s_.cursor;
    std::error_code ec;
    if (!started_) {
        if (!c.in_message) {
            took t = take_header(s_, ec);
            if (t == took::would_block) return nothing_yet();
            if (t == took::ended) return finish_ended();
            if (t == took::failed) return finish(ec, 0);
        }
        if (c.left == 0) { // a zero-length message: taken by any read
            c.in_message = false;
            return finish({}, 0);
        }
        // A zero-byte read sees that a message waits without taking any of it (Windows 8+).
        if (buf_.empty()) return finish(win32(win32_error::more_data), 0);
        want_ = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size(), c.left));
        started_ = true;
    }
    std::size_t n = 0;
    took t = take_payload(s_, buf_.data() + got_, want_ - got_, n, ec);
    got_ += n;
    if (got_ == want_) {
        if (c.left == 0) {
            c.in_message = false;
            return finish({}, got_);
        }
        return finish(win32(win32_error::more_data), got_);
    }
    if (t == took::would_block) {
        if (wait_) return step_result::read_ready(s_.fd, s_.drained);
        // PIPE_NOWAIT: what has come of the message so far, the rest later.
        return got_ > 0 ? finish(win32(win32_error::more_data), got_) : finish(win32(win32_error::no_data), 0);
    }
    // The writer vanished mid-message: what is left of it will never come.
    c.in_message = false;
    c.left = 0;
    c.carried.clear();
    if (t == took::ended) return finish_ended();
    return finish(ec, 0);
}

step_result read_op::step_messages_as_bytes() noexcept {
    if (buf_.empty()) return step_zero_bytes_across_messages();
    read_cursor& c = s_.cursor;
    std::error_code ec;
    while (got_ < buf_.size()) {
        if (!c.in_message) {
            // Go on into the next message only if one is fully announced and not empty: an
            // empty message is a read of its own.
            if (got_ > 0 && !nonempty_message_announced(s_)) break;
            took t = take_header(s_, ec);
            if (t == took::would_block) return got_ > 0 ? finish({}, got_) : nothing_yet();
            if (t == took::ended) return got_ > 0 ? finish({}, got_) : finish_ended();
            if (t == took::failed) return got_ > 0 ? finish({}, got_) : finish(ec, 0);
            if (c.left == 0) {
                c.in_message = false;
                return finish({}, 0);
            }
        }
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf_.size() - got_, c.left));
        std::size_t n = 0;
        took t = take_payload(s_, buf_.data() + got_, want, n, ec);
        got_ += n;
        if (c.left == 0) c.in_message = false;
        if (t == took::all) continue;
        if (got_ > 0) break;
        if (t == took::would_block) return nothing_yet();
        if (t == took::ended) return finish_ended();
        return finish(ec, 0);
    }
    return finish({}, got_);
}

step_result read_op::step_zero_bytes_across_messages() noexcept {
    // Windows: a zero-byte read in byte read mode waits for a message, takes nothing of one
    // with data (TRUE, 0 bytes), takes a zero-length one whole (it is a read of its own), and
    // reports the end of the pipe as every read does.
    read_cursor& c = s_.cursor;
    if (c.in_message) return finish({}, 0); // the rest of a message waits
    std::error_code ec;
    took t = take_header(s_, ec); // the header only: the payload stays for the next read
    if (t == took::would_block) return nothing_yet();
    if (t == took::ended) return finish_ended();
    if (t == took::failed) return finish(ec, 0);
    if (c.left == 0) c.in_message = false;
    return finish({}, 0);
}

void read_op::cancel() noexcept {
    if (completed_) return;
    if (got_ > 0) {
        // Only a message read keeps bytes across steps: they go back in front of the rest.
        read_cursor& c = s_.cursor;
        c.carried.insert(c.carried.begin(), buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(got_));
        c.left += got_;
        c.in_message = true;
    }
    finish(win32(win32_error::operation_aborted), 0);
}

// ---- peek -------------------------------------------------------------------------------------

bool has_unread(const message_stream& s) noexcept {
    if (!s.cursor.idle()) return true;
    auto avail = os::readable_bytes(s.fd);
    return avail && avail.value > 0;
}

peek_result peek_stream(const message_stream& s, std::span<std::byte> buffer, std::error_code& ec,
                        bool& peer_ended) noexcept try {
    ec.clear();
    peer_ended = false;
    auto avail = os::readable_bytes(s.fd);
    if (!avail) {
        ec = to_win32(avail.error);
        return {};
    }
    const read_cursor& c = s.cursor;
    // What the reader has out of the socket already, in stream order: the head message's
    // carried bytes, or the start of the next header.
    std::span<const std::byte> taken = c.in_message ? std::span<const std::byte>(c.carried)
                                                    : std::span<const std::byte>(c.header.data(), c.header_got);
    if (avail.value == 0 && taken.empty()) {
        auto r = os::peer_hung_up(s.fd);
        peer_ended = !r || r.value;
        return {};
    }
    auto available = static_cast<std::size_t>(avail.value);
    if (s.type == pipe_type::byte) {
        auto r = os::recv_some(s.fd, buffer.data(), buffer.size(), os::io_flags::peek | os::io_flags::dont_wait);
        return {r ? r.value : 0, available, 0};
    }
    // Message pipe: look at everything queued and count payload only.
    std::vector<std::byte> queued(taken.begin(), taken.end());
    queued.resize(taken.size() + available);
    std::size_t peeked = 0;
    if (available > 0) {
        auto r = os::recv_some(s.fd, queued.data() + taken.size(), available, os::io_flags::peek | os::io_flags::dont_wait);
        if (!r) return {};
        peeked = r.value;
    }
    std::size_t have = taken.size() + peeked, pos = 0, total = 0;
    std::uint64_t head_left = 0;
    std::size_t head_start = 0, head_present = 0;
    bool head_known = false;
    if (c.in_message) {
        head_left = c.left;
        head_present = static_cast<std::size_t>(std::min<std::uint64_t>(have, c.left));
        head_known = true;
        pos = head_present;
        total += head_present;
    }
    const std::size_t header_size = s.header_size();
    while (pos + header_size <= have) {
        std::uint32_t len = read_length(queued.data() + pos, header_size);
        pos += header_size;
        std::size_t present = std::min<std::size_t>(len, have - pos);
        if (!head_known) {
            head_known = true;
            head_left = len;
            head_start = pos;
            head_present = present;
        }
        total += present;
        pos += present;
    }
    std::size_t copied = std::min(buffer.size(), head_present);
    if (copied) std::memcpy(buffer.data(), queued.data() + head_start, copied);
    return {copied, total, static_cast<std::size_t>(head_left - copied)};
} catch (const std::bad_alloc&) {
    ec = win32(win32_error::not_enough_memory);
    return {};
}

} // namespace npipe::detail
