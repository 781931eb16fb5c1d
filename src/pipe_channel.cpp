#include "pipe_channel.hpp"

#include "broker_link.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <vector>

namespace npipe::detail {
namespace {

std::uint32_t read_le32(const std::byte* p) noexcept {
    return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
           static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

bool would_block(const std::error_code& ec) noexcept {
    return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

} // namespace

void pipe_channel::attach(os::fd data) noexcept {
    data_ = std::move(data);
    live_fd_ = data_.get();
    message_left_ = 0;
    in_message_ = false;
    has_read_.store(false);
    bytes_read_.store(0);
    bytes_written_.store(0);
}

void pipe_channel::wake_io() noexcept {
    int raw = live_fd_.load();
    if (raw >= 0) os::shutdown_both(raw);
}

void pipe_channel::detach() noexcept {
    wake_io();
    std::scoped_lock both(read_mutex_, write_mutex_);
    detach_locked();
}

void pipe_channel::detach_locked() noexcept {
    live_fd_ = -1;
    data_.reset();
    message_left_ = 0;
    in_message_ = false;
}

bool pipe_channel::peer_hung_up() const noexcept {
    if (!data_) return true;
    auto r = os::poll_one(data_.get(), POLLRDHUP, 0);
    return r && (r.value & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

std::error_code pipe_channel::ended(bool writing) const noexcept {
    return win32(writing ? win32_error::no_data : win32_error::broken_pipe);
}

std::size_t pipe_channel::receive(void* p, std::size_t n, bool block, bool all, std::error_code& ec) noexcept {
    int flags = block ? (all ? MSG_WAITALL : 0) : MSG_DONTWAIT;
    std::size_t got = 0;
    while (got < n) {
        auto r = os::recv_some(data_.get(), static_cast<char*>(p) + got, n - got, flags);
        if (!r) {
            if (would_block(r.error)) {
                if (got == 0) ec = win32(win32_error::no_data);
                return got;
            }
            ec = r.error == std::errc::connection_reset ? ended(false) : to_win32(r.error);
            return got;
        }
        if (r.value == 0) {
            ec = ended(false);
            return got;
        }
        got += r.value;
        if (!all) break;
    }
    return got;
}

read_result pipe_channel::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(read_mutex_);
    if (!can_read) {
        ec = win32(win32_error::access_denied);
        return {};
    }
    if ((ec = prepare_io(io_kind::read))) return {};
    return read_locked(buffer, ec);
}

read_result pipe_channel::read_locked(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    read_result r = type == pipe_type::byte                     ? read_stream(buffer, ec)
                    : read_mode_ == npipe::read_mode::message ? read_message(buffer, ec)
                                                               : read_messages_as_bytes(buffer, ec);
    // Bytes, or a whole (possibly empty) message taken: the client has said something.
    if ((!ec || ec == win32_error::more_data) && (r.bytes > 0 || (!buffer.empty() && type == pipe_type::message)))
        has_read_.store(true);
    if (!ec || ec == win32_error::more_data) bytes_read_.fetch_add(r.bytes, std::memory_order_relaxed);
    return r;
}

read_result pipe_channel::read_stream(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    bool block = wait_mode_ == npipe::wait_mode::wait;
    if (buffer.empty()) {
        // Windows: a zero-byte read waits for data without taking any, and reports the end of
        // the pipe like any other read.
        std::byte probe;
        auto r = os::recv_some(data_.get(), &probe, 1, MSG_PEEK | (block ? 0 : MSG_DONTWAIT));
        if (!r) ec = would_block(r.error) ? win32(win32_error::no_data) : ended(false);
        else if (r.value == 0) ec = ended(false);
        return {};
    }
    std::size_t n = receive(buffer.data(), buffer.size(), block, false, ec);
    if (ec) return {};
    return {n, false};
}

bool pipe_channel::next_message(bool block, std::error_code& ec) noexcept {
    std::byte header[message_header_size];
    // A writer sends header and payload in one call, so a header never arrives in pieces
    // unless the writer dies mid-frame; then the wait ends with the connection.
    if (!block) {
        auto peeked = os::recv_some(data_.get(), header, sizeof(header), MSG_PEEK | MSG_DONTWAIT);
        if (!peeked) {
            ec = would_block(peeked.error) ? win32(win32_error::no_data) : ended(false);
            return false;
        }
        if (peeked.value == 0) { ec = ended(false); return false; }
    }
    std::size_t got = receive(header, sizeof(header), true, true, ec);
    if (ec) return false;
    if (got != sizeof(header)) { ec = ended(false); return false; }
    message_left_ = read_le32(header);
    in_message_ = true;
    return true;
}

read_result pipe_channel::read_message(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    bool block = wait_mode_ == npipe::wait_mode::wait;
    if (!in_message_) {
        if (buffer.empty()) {
            // A zero-byte read sees whether a message waits without taking it (Windows 8+:
            // ERROR_MORE_DATA); a zero-length message is taken.
            std::byte header[message_header_size];
            int flags = MSG_PEEK | MSG_WAITALL | (block ? 0 : MSG_DONTWAIT);
            auto r = os::recv_some(data_.get(), header, sizeof(header), flags);
            if (!r) { ec = would_block(r.error) ? win32(win32_error::no_data) : ended(false); return {}; }
            if (r.value < sizeof(header)) { ec = r.value == 0 ? ended(false) : win32(win32_error::no_data); return {}; }
            if (read_le32(header) != 0) { ec = win32(win32_error::more_data); return {0, true}; }
        }
        if (!next_message(block, ec)) return {};
    }
    if (message_left_ == 0) {
        in_message_ = false;
        return {0, false};
    }
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), message_left_));
    if (want == 0) {
        ec = win32(win32_error::more_data);
        return {0, true};
    }
    std::size_t got = receive(buffer.data(), want, block, true, ec);
    if (ec && !(got > 0 && ec == win32_error::no_data)) {
        // The writer vanished mid-message: what is left of it will never come.
        in_message_ = false;
        message_left_ = 0;
        return {};
    }
    ec.clear();
    message_left_ -= got;
    if (message_left_ == 0) {
        in_message_ = false;
        return {got, false};
    }
    ec = win32(win32_error::more_data);
    return {got, true};
}

read_result pipe_channel::read_messages_as_bytes(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    if (buffer.empty()) return {}; // Windows: TRUE, 0 bytes, nothing consumed
    bool block = wait_mode_ == npipe::wait_mode::wait;
    std::size_t total = 0;
    while (total < buffer.size()) {
        if (!in_message_ || message_left_ == 0) {
            in_message_ = false;
            if (total > 0) {
                // Continue into the next message only if one is fully announced and not empty:
                // an empty message is a read of its own.
                std::byte header[message_header_size];
                auto r = os::recv_some(data_.get(), header, sizeof(header), MSG_PEEK | MSG_DONTWAIT);
                if (!r || r.value < sizeof(header) || read_le32(header) == 0) break;
            }
            if (!next_message(block, ec)) return {};
            if (message_left_ == 0) {
                in_message_ = false;
                return {0, false};
            }
        }
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size() - total, message_left_));
        std::size_t got = receive(buffer.data() + total, want, total == 0 && block, false, ec);
        if (ec) {
            if (total > 0 || (got > 0)) { ec.clear(); total += got; message_left_ -= got; }
            break;
        }
        total += got;
        message_left_ -= got;
        if (message_left_ == 0) in_message_ = false;
    }
    return {total, false};
}

bool pipe_channel::fits_now(std::size_t frame_size) noexcept {
    // The kernel charges each queued buffer's true size against SO_SNDBUF; leave room for that
    // overhead so a frame we judge to fit is taken whole.
    constexpr std::size_t overhead = 4096;
    auto outq = os::unread_by_peer(data_.get());
    auto sndbuf = os::send_buffer_size(data_.get());
    if (!outq || !sndbuf) return false;
    return static_cast<std::size_t>(outq.value) + frame_size + overhead <= static_cast<std::size_t>(sndbuf.value) / 2;
}

std::size_t pipe_channel::write(std::span<const std::byte> data, std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(write_mutex_);
    if (!can_write) {
        ec = win32(win32_error::access_denied);
        return 0;
    }
    if ((ec = prepare_io(io_kind::write))) return 0;
    return write_locked(data, ec);
}

std::size_t pipe_channel::write_locked(std::span<const std::byte> data, std::error_code& ec) noexcept {
    std::size_t n = write_frame(data, ec);
    bytes_written_.fetch_add(n, std::memory_order_relaxed);
    return n;
}

std::size_t pipe_channel::write_frame(std::span<const std::byte> data, std::error_code& ec) noexcept {
    bool message = type == pipe_type::message;
    if (!message && data.empty()) return 0;
    if (message && data.size() > 0xFFFFFFFFu) {
        ec = win32(win32_error::invalid_parameter);
        return 0;
    }
    std::byte header[message_header_size];
    auto len = static_cast<std::uint32_t>(data.size());
    for (std::size_t i = 0; i < sizeof(header); ++i) header[i] = static_cast<std::byte>(len >> (8 * i));
    std::size_t header_len = message ? sizeof(header) : 0;
    std::size_t frame = header_len + data.size();

    // PIPE_NOWAIT never blocks and never writes part of a write: what does not fit now is not
    // written at all (TRUE with 0 bytes, as Windows reports it).
    if (wait_mode_ == npipe::wait_mode::nowait && !fits_now(frame)) return 0;

    std::size_t sent = 0;
    while (sent < frame) {
        os::sys_result<std::size_t> r;
        if (sent < header_len)
            r = os::send_two(data_.get(), header + sent, header_len - sent, data.data(), data.size(), 0);
        else
            r = os::send_some(data_.get(), data.data() + (sent - header_len), frame - sent, 0);
        if (!r) {
            ec = (r.error == std::errc::broken_pipe || r.error == std::errc::connection_reset ||
                  r.error == std::errc::not_connected)
                     ? ended(true)
                     : to_win32(r.error);
            return 0;
        }
        sent += r.value;
    }
    return data.size();
}

peek_result pipe_channel::peek(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(read_mutex_);
    if ((ec = prepare_io(io_kind::peek))) return {};
    if (!can_read) {
        ec = win32(win32_error::access_denied);
        return {};
    }
    auto avail = os::readable_bytes(data_.get());
    if (!avail) {
        ec = to_win32(avail.error);
        return {};
    }
    if (avail.value == 0) {
        if (peer_hung_up()) ec = ended(false);
        return {};
    }
    auto available = static_cast<std::size_t>(avail.value);
    if (type == pipe_type::byte) {
        auto r = os::recv_some(data_.get(), buffer.data(), buffer.size(), MSG_PEEK | MSG_DONTWAIT);
        return {r ? r.value : 0, available, 0};
    }
    // Message pipe: look at everything queued and count payload only.
    std::vector<std::byte> queued(available);
    auto r = os::recv_some(data_.get(), queued.data(), queued.size(), MSG_PEEK | MSG_DONTWAIT);
    if (!r) return {};
    std::size_t have = r.value, pos = 0, total = 0;
    std::uint64_t head_left = 0;
    std::size_t head_start = 0, head_present = 0;
    bool head_known = false;
    if (in_message_) {
        head_left = message_left_;
        head_present = static_cast<std::size_t>(std::min<std::uint64_t>(have, message_left_));
        head_start = 0;
        head_known = true;
        pos = head_present;
        total += head_present;
    }
    while (pos + message_header_size <= have) {
        std::uint32_t len = read_le32(queued.data() + pos);
        pos += message_header_size;
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
}

read_result pipe_channel::transact(std::span<const std::byte> request, std::span<std::byte> reply,
                                   std::error_code& ec) noexcept {
    ec.clear();
    {
        std::lock_guard lock(read_mutex_);
        // The pipe's state is checked before its mode, as NPFS does.
        if ((ec = prepare_io(io_kind::transact))) return {};
        if (type != pipe_type::message || read_mode_ != npipe::read_mode::message) {
            ec = win32(win32_error::bad_pipe);
            return {};
        }
        auto avail = os::readable_bytes(data_.get());
        if (in_message_ || (avail && avail.value > 0)) {
            ec = win32(win32_error::pipe_busy);
            return {};
        }
    }
    {
        std::lock_guard lock(write_mutex_);
        if ((ec = prepare_io(io_kind::write))) return {};
        write_locked(request, ec);
        if (ec) return {};
    }
    std::lock_guard lock(read_mutex_);
    auto saved = wait_mode_.load();
    wait_mode_ = npipe::wait_mode::wait; // the reply is always waited for
    auto r = read_message(reply, ec);
    wait_mode_ = saved;
    return r;
}

void pipe_channel::flush(std::error_code& ec) noexcept {
    ec.clear();
    std::lock_guard lock(write_mutex_);
    if ((ec = prepare_io(io_kind::flush))) return;
    if (!data_) return; // a server end without a client: nothing to wait for
    // The kernel counts what the peer has not consumed yet (SIOCOUTQ) but offers no wake-up
    // when it reaches zero, so poll it with a growing pause (at most 1 ms).
    auto pause = std::chrono::microseconds(10);
    bool had_unread = false;
    for (;;) {
        auto outq = os::unread_by_peer(data_.get());
        if (!outq) { ec = to_win32(outq.error); return; }
        if (outq.value == 0) break;
        had_unread = true;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
    // A peer that closed with our bytes still unread leaves ECONNRESET pending on our socket
    // (POLLERR); one that read everything and then closed does not.
    if (had_unread) {
        auto r = os::poll_one(data_.get(), 0, 0);
        if (r && (r.value & POLLERR)) ec = ended(false);
    }
}

void pipe_channel::set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait,
                             std::error_code& ec) noexcept {
    ec.clear();
    if (read && *read == npipe::read_mode::message && type != pipe_type::message) {
        ec = win32(win32_error::invalid_parameter);
        return;
    }
    if (read) read_mode_ = *read;
    if (wait) wait_mode_ = *wait;
}

handle_state pipe_channel::state(std::error_code& ec) noexcept {
    ec.clear();
    if ((ec = prepare_io(io_kind::query))) return {};
    handle_state s;
    s.read_mode = read_mode_;
    s.wait_mode = wait_mode_;
    s.current_instances = count_instances(name, where, ec);
    if (ec == win32_error::file_not_found) { // the server is gone: no instances
        ec.clear();
        s.current_instances = 0;
    }
    return s;
}

pipe_info pipe_channel::info() const noexcept {
    return {end, type, out_buffer_size, in_buffer_size, max_instances};
}

} // namespace npipe::detail
