// The writing side of a connection: write_op and flush_op's steps.
#include "message_stream.hpp"

#include "os/socket.hpp"
#include "win32_errors.hpp"

#include <sys/socket.h>

namespace npipe::detail {
namespace {

bool would_block(const std::error_code& ec) noexcept {
    return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

bool peer_gone(const std::error_code& ec) noexcept {
    return ec == std::errc::broken_pipe || ec == std::errc::connection_reset || ec == std::errc::not_connected;
}

/// Whether a frame of `size` bytes fits in the socket now (PIPE_NOWAIT writes all or nothing).
bool fits_now(int fd, std::size_t size) noexcept {
    // The kernel charges each queued buffer's true size against SO_SNDBUF; leave room for that
    // overhead so a frame we judge to fit is taken whole.
    constexpr std::size_t overhead = 4096;
    auto outq = os::unread_by_peer(fd);
    auto sndbuf = os::send_buffer_size(fd);
    if (!outq || !sndbuf) return false;
    return static_cast<std::size_t>(outq.value) + size + overhead <= static_cast<std::size_t>(sndbuf.value) / 2;
}

} // namespace

bool send_unsent(message_stream& s, std::error_code& ec, bool& peer_ended) noexcept {
    ec.clear();
    while (!s.unsent.empty()) {
        auto r = os::send_some(s.fd, s.unsent.data(), s.unsent.size(), os::io_flags::dont_wait);
        if (!r) {
            if (would_block(r.error)) return false;
            peer_ended = peer_gone(r.error);
            ec = peer_ended ? win32(win32_error::no_data) : to_win32(r.error);
            s.unsent.clear(); // nobody will read it
            return false;
        }
        s.unsent.erase(s.unsent.begin(), s.unsent.begin() + static_cast<std::ptrdiff_t>(r.value));
    }
    return true;
}

// ---- write_op ---------------------------------------------------------------------------------

write_op::write_op(message_stream& stream, std::span<const std::byte> data, bool nowait) noexcept
    : s_(stream), data_(data), nowait_(nowait) {
    if (s_.type == pipe_type::message) {
        header_len_ = s_.header_size();
        auto len = static_cast<std::uint32_t>(data.size());
        for (std::size_t i = 0; i < header_len_; ++i) header_[i] = static_cast<std::byte>(len >> (8 * i));
    }
}

step_result write_op::start() noexcept {
    if (header_len_ == 0 && data_.empty()) return finish({}, 0);
    // smbd's framing carries 65,535 bytes at most; more would be cut into the next message.
    if (header_len_ != 0 && data_.size() > max_message_of(s_.framed_as)) return finish(win32(win32_error::invalid_parameter), 0);
    // A cancelled write's rest goes first; the stream must stay framed.
    std::error_code ec;
    if (!send_unsent(s_, ec, out_.peer_ended)) {
        if (ec) return finish(ec, 0);
        if (nowait_) return finish({}, 0); // not even the earlier message fits now
        return step_result::write_ready(s_.fd);
    }
    // PIPE_NOWAIT never blocks and never writes part of a write: what does not fit now is not
    // written at all (TRUE with 0 bytes, as Windows reports it).
    if (nowait_ && !fits_now(s_.fd, header_len_ + data_.size())) return finish({}, 0);
    started_ = true;
    return step_result::complete(); // not reported: step() goes on
}

step_result write_op::step(step_mode mode) noexcept {
    if (completed_) return step_result::complete();
    if (!started_) {
        step_result r = start();
        if (!started_) return r;
    }
    std::size_t frame = header_len_ + data_.size();
    os::io_flags flags = mode == step_mode::may_block ? os::io_flags::none : os::io_flags::dont_wait;
    while (sent_ < frame) {
        os::sys_result<std::size_t> r;
        if (sent_ < header_len_)
            r = os::send_two(s_.fd, header_.data() + sent_, header_len_ - sent_, data_.data(), data_.size(), flags);
        else
            r = os::send_some(s_.fd, data_.data() + (sent_ - header_len_), frame - sent_, flags);
        if (!r) {
            // A PIPE_NOWAIT write that fitted may still meet a full socket: its message, once
            // started, is finished all the same.
            if (would_block(r.error)) return step_result::write_ready(s_.fd);
            out_.peer_ended = peer_gone(r.error);
            return finish(out_.peer_ended ? win32(win32_error::no_data) : to_win32(r.error), 0);
        }
        sent_ += r.value;
    }
    return finish({}, data_.size());
}

void write_op::cancel() noexcept {
    if (completed_) return;
    std::size_t frame = header_len_ + data_.size();
    if (header_len_ != 0 && sent_ > 0 && sent_ < frame) {
        // The reader has the start of this message: it gets the rest, ahead of any later write.
        try {
            for (std::size_t i = sent_; i < header_len_; ++i) s_.unsent.push_back(header_[i]);
            std::size_t from = sent_ > header_len_ ? sent_ - header_len_ : 0;
            s_.unsent.insert(s_.unsent.end(), data_.begin() + static_cast<std::ptrdiff_t>(from), data_.end());
        } catch (const std::bad_alloc&) {
            // Cannot keep it: the connection's framing is lost, so is the connection.
            os::shutdown_both(s_.fd);
        }
        finish(win32(win32_error::operation_aborted), 0);
        return;
    }
    std::size_t written = header_len_ == 0 ? sent_ : 0; // a byte pipe keeps what went
    finish(win32(win32_error::operation_aborted), written);
}

// ---- flush_op ---------------------------------------------------------------------------------

bool flush_op::watch_reads() noexcept {
    if (!watching_) {
        auto p = os::poller::create();
        if (!p) return false;
        reads_ = std::move(p.value);
        // The kernel charges what a Unix socket sent to the sender until the peer reads it; a
        // read frees it and wakes the sender's waiters for room. Edge-triggered: once per read,
        // not while there is room. Set up before the first look, so a read in between is not
        // missed.
        if (reads_.add(s_.fd, EPOLLOUT | EPOLLET, 0)) return false;
        watching_ = true;
    }
    // What woke us (or the room there was when the watch began) is taken: the next read wakes
    // us again, and the caller looks at what is unread after this.
    std::vector<epoll_event> drained;
    return !reads_.wait(drained, 0);
}

step_result flush_op::step(step_mode) noexcept {
    if (completed_) return step_result::complete();
    std::error_code ec;
    if (!send_unsent(s_, ec, out_.peer_ended)) return ec ? finish(ec) : step_result::write_ready(s_.fd);
    // Usually the peer has read everything already: the watch is set up only when it has not
    // (and the unread count looked at again after that, so no read is missed in between).
    auto outq = os::unread_by_peer(s_.fd);
    bool watched = false;
    if (outq && outq.value != 0) {
        watched = watch_reads();
        outq = os::unread_by_peer(s_.fd);
    }
    if (!outq) return finish(to_win32(outq.error));
    if (outq.value != 0) {
        had_unread_ = true;
        using std::chrono::microseconds;
        if (watched) return step_result::read_ready(reads_.native_handle());
        pause_ = pause_.count() == 0 ? microseconds(10) : std::min(pause_ * 2, microseconds(1000));
        return step_result::after(pause_);
    }
    // A peer that closed with our bytes still unread leaves ECONNRESET pending on our socket
    // (POLLERR); one that read everything and then closed does not.
    if (had_unread_ && os::error_pending(s_.fd)) {
        out_.peer_ended = true;
        return finish(win32(win32_error::broken_pipe));
    }
    return finish({});
}

void flush_op::cancel() noexcept {
    if (!completed_) finish(win32(win32_error::operation_aborted));
}

// ---- transact_op ------------------------------------------------------------------------------

step_result transact_op::step(step_mode mode) noexcept {
    if (completed_) return step_result::complete();
    if (!write_.completed()) {
        step_result r = write_.step(mode);
        if (!r.done()) return r;
        if (write_.outcome().ec) {
            completed_ = true;
            return r;
        }
        return step_result::after(std::chrono::microseconds(0)); // the read part needs the read lock
    }
    step_result r = read_.step(mode);
    completed_ = r.done();
    return r;
}

void transact_op::cancel() noexcept {
    if (completed_) return;
    if (!write_.completed()) write_.cancel();
    else read_.cancel();
    completed_ = true;
}

} // namespace npipe::detail
