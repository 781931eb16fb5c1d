// The data of one remote pipe between the SMB server and the local socket (pipe_bridge.hpp).
#include "smb/pipe_bridge.hpp"

#include "os/socket.hpp"
#include "protocol/instance_page.hpp"
#include "smb/connection.hpp"

#include <poll.h>

namespace npipe::smb {
namespace {

constexpr std::size_t read_size = 65536;           // one credit; smbd's messages are at most 65,535 bytes
constexpr std::size_t local_high_water = 1 << 20;  // stop taking the application's writes beyond this
constexpr std::size_t frame_header = 4;            // message_stream's framing (framing::npipe)

void put_frame_header(byte_vector& out, std::size_t length) {
    for (std::size_t i = 0; i < frame_header; ++i) out.push_back(static_cast<std::byte>(length >> (8 * i)));
}

} // namespace

pipe_bridge::pipe_bridge(connection& c, smb2::file_id id, os::fd local, bool messages, os::shared_page page)
    : c_(c), id_(id), local_(std::move(local)), messages_(messages), page_(std::move(page)) {
    os::set_nonblocking(local_.get(), true);
}

short pipe_bridge::events() const noexcept {
    if (!local_) return 0;
    short e = 0;
    if (!local_closed_ && !remote_ended_ && from_local_.size() < local_high_water) e |= POLLIN;
    if (to_local_sent_ < to_local_.size()) e |= POLLOUT;
    return e;
}

void pipe_bridge::on_ready(short revents) {
    if (revents & POLLOUT) flush_local();
    if (revents & (POLLIN | POLLHUP | POLLERR)) take_local();
}

/// What the application wrote: into from_local_, until its end closes.
void pipe_bridge::take_local() {
    if (!local_ || local_closed_) return;
    std::byte buffer[65536];
    for (;;) {
        auto r = os::recv_some(local_.get(), buffer, sizeof buffer, os::io_flags::dont_wait);
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) return;
            local_closed_ = true; // reset by the application's end: as good as closed
            return;
        }
        if (r.value == 0) {
            local_closed_ = true;
            return;
        }
        if (!remote_ended_) from_local_.insert(from_local_.end(), buffer, buffer + r.value);
        if (from_local_.size() >= local_high_water) return;
    }
}

void pipe_bridge::flush_local() {
    while (local_ && to_local_sent_ < to_local_.size()) {
        auto r = os::send_some(local_.get(), to_local_.data() + to_local_sent_, to_local_.size() - to_local_sent_,
                               os::io_flags::dont_wait);
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) return;
            local_closed_ = true; // the application's end has gone
            to_local_.clear();
            to_local_sent_ = 0;
            return;
        }
        to_local_sent_ += r.value;
    }
    to_local_.clear();
    to_local_sent_ = 0;
    if (!remote_ended_ || !local_) return;
    // All handed over: now the end. Disconnected (not broken) is said on the page only when the
    // application has read everything: the mark voids what is unread (as a DisconnectNamedPipe
    // does), and smbd also says DISCONNECTED for a server that merely closed, whose data Windows
    // would deliver. Bytes still unread: ERROR_BROKEN_PIPE after them.
    if (disconnected_ && page_.address()) {
        auto unread = os::unread_by_peer(local_.get());
        if (unread && unread.value == 0) protocol::store_disconnected(page_.address(), 1);
    }
    os::shutdown_both(local_.get());
}

/// The next WRITE's data: whatever bytes there are (byte pipes), or one whole framed message.
bool pipe_bridge::next_write(byte_vector& out) {
    if (!messages_) {
        if (from_local_.empty()) return false;
        const std::size_t n = std::min<std::size_t>(from_local_.size(), std::min<std::size_t>(c_.max_write(), 1u << 20));
        out.assign(from_local_.begin(), from_local_.begin() + static_cast<std::ptrdiff_t>(n));
        from_local_.erase(from_local_.begin(), from_local_.begin() + static_cast<std::ptrdiff_t>(n));
        return true;
    }
    if (from_local_.size() < frame_header) return false;
    std::size_t length = 0;
    for (std::size_t i = 0; i < frame_header; ++i) length |= std::to_integer<std::size_t>(from_local_[i]) << (8 * i);
    if (length > c_.max_write() || length > smb2::max_io) {
        // A message the server cannot take in one WRITE cannot be split without splitting it.
        end_remote();
        return false;
    }
    if (from_local_.size() < frame_header + length) return false;
    out.assign(from_local_.begin() + frame_header, from_local_.begin() + static_cast<std::ptrdiff_t>(frame_header + length));
    from_local_.erase(from_local_.begin(), from_local_.begin() + static_cast<std::ptrdiff_t>(frame_header + length));
    return true;
}

void pipe_bridge::pump() {
    if (finished_ || c_.failed()) return;
    if (!reading_ && !remote_ended_ && !local_closed_ && to_local_.empty()) {
        reading_ = c_.submit(smb2::command::read, smb2::encode_read(id_, read_size),
                             [this](const response* r) { read_done(r); }) != 0;
    }
    byte_vector data;
    if (!writing_ && !remote_ended_ && next_write(data)) {
        writing_ = c_.submit(smb2::command::write, smb2::encode_write(id_, data),
                             [this](const response* r) { write_done(r); }) != 0;
    }
    const bool drained = from_local_.empty() && !writing_;
    if (!close_sent_ && ((local_closed_ && drained) || (remote_ended_ && to_local_.empty()))) {
        // CLOSE also ends the READ still waiting at the server (it answers it cancelled).
        close_sent_ = c_.submit(smb2::command::close, smb2::encode_close(id_), [this](const response*) {
            finished_ = !reading_ && !writing_;
            close_done_ = true;
        }) != 0;
        if (!close_sent_ && c_.failed()) abort();
    }
    if (close_done_ && !reading_ && !writing_) finished_ = true;
}

void pipe_bridge::read_done(const response* r) {
    reading_ = false;
    if (!r) return abort();
    const std::uint32_t st = r->h.status;
    if (st != smb2::status::success && st != smb2::status::buffer_overflow) return end_remote(st);
    auto data = smb2::decode_read(r->message);
    if (!data) return end_remote();
    if (!messages_) {
        to_local_.insert(to_local_.end(), data->begin(), data->end());
    } else {
        partial_.insert(partial_.end(), data->begin(), data->end());
        if (st == smb2::status::success) {
            put_frame_header(to_local_, partial_.size());
            to_local_.insert(to_local_.end(), partial_.begin(), partial_.end());
            partial_.clear();
        }
    }
    flush_local();
}

void pipe_bridge::write_done(const response* r) {
    writing_ = false;
    if (!r) return abort();
    if (r->h.status != smb2::status::success) end_remote(r->h.status);
    else if (!smb2::decode_write(r->message)) end_remote();
}

void pipe_bridge::end_remote(std::uint32_t status) {
    disconnected_ = status == smb2::status::pipe_disconnected;
    remote_ended_ = true;
    from_local_.clear();
    flush_local();
}

void pipe_bridge::abort() noexcept {
    if (local_) os::shutdown_both(local_.get());
    local_closed_ = remote_ended_ = true;
    reading_ = writing_ = false;
    finished_ = true;
}

} // namespace npipe::smb
