#include "protocol/frame_reader.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace npipe::protocol {
namespace {

// A reader that took a large frame gives its memory back once it holds nothing.
constexpr std::size_t kept_capacity = header_size + max_request_body;

} // namespace

frame_problem to_frame_problem(header_problem p) noexcept {
    switch (p) {
    case header_problem::none: return frame_problem::none;
    case header_problem::bad_magic: return frame_problem::bad_magic;
    case header_problem::bad_version: return frame_problem::bad_version;
    case header_problem::too_long: return frame_problem::too_long;
    }
    return frame_problem::bad_magic;
}

frame_reader::frame_reader(std::size_t max_body, std::size_t max_fds) noexcept
    : max_body_(max_body), fds_per_frame_(max_fds), fds_held_(max_fds) {}

void frame_reader::limit_descriptors(std::size_t per_frame, std::size_t held) noexcept {
    fds_per_frame_ = per_frame;
    fds_held_ = held;
}

std::span<std::byte> frame_reader::space(std::size_t want) {
    offered_ = 0;
    if (problem_ != frame_problem::none) return {};
    compact();
    std::size_t n = std::min(want, limit() - buffered());
    reserve_room(end_ + n);
    offered_ = n;
    return {buf_.data() + end_, n};
}

void frame_reader::received(std::size_t n, std::vector<os::fd>& fds) {
    n = std::min(n, std::exchange(offered_, 0));
    if (problem_ == frame_problem::none && !fds.empty()) take_fds(fds);
    fds.clear(); // after a problem: closed
    if (problem_ != frame_problem::none) return;
    end_ += n;
    scan();
}

void frame_reader::received(std::size_t n) {
    std::vector<os::fd> none;
    received(n, none);
}

std::size_t frame_reader::feed(std::span<const std::byte> bytes, std::vector<os::fd>& fds) {
    auto room = space(bytes.size());
    if (room.empty() && !bytes.empty()) return 0;
    if (!room.empty()) std::memcpy(room.data(), bytes.data(), room.size());
    received(room.size(), fds);
    return room.size();
}

std::size_t frame_reader::feed(std::span<const std::byte> bytes) {
    std::vector<os::fd> none;
    return feed(bytes, none);
}

// The descriptors came with the first byte received after everything held: that byte belongs
// to the frame under way (scan() has already moved past every complete one).
void frame_reader::take_fds(std::vector<os::fd>& fds) {
    if (current_fds_.size() + fds.size() > fds_per_frame_ || held_ + fds.size() > fds_held_) {
        fail(frame_problem::too_many_fds);
        return;
    }
    held_ += fds.size();
    for (auto& fd : fds) current_fds_.push_back(std::move(fd));
}

// Moves `current_` past every frame that is complete, checking each header once it is there.
void frame_reader::scan() {
    while (problem_ == frame_problem::none) {
        std::size_t have = end_ - current_;
        if (!current_header_) {
            if (have < header_size) return;
            frame_header h;
            auto p = decode_header(std::span<const std::byte, header_size>(buf_.data() + current_, header_size),
                                   max_body_, h);
            if (p != header_problem::none) {
                fail(to_frame_problem(p));
                return;
            }
            current_header_ = h;
        }
        std::size_t size = header_size + current_header_->length;
        if (have < size) return;
        ready_.push_back({*current_header_, current_, std::move(current_fds_)});
        current_fds_.clear();
        current_header_.reset();
        current_ += size;
    }
}

void frame_reader::fail(frame_problem p) noexcept {
    problem_ = p;
    held_ -= current_fds_.size();
    current_fds_.clear(); // the frame under way will never be handed out
}

std::optional<frame> frame_reader::next() {
    offered_ = 0;
    if (ready_.empty()) return std::nullopt;
    auto& c = ready_.front();
    auto body = buf_.begin() + static_cast<std::ptrdiff_t>(c.offset + header_size);
    frame f{c.header.type, std::vector<std::byte>(body, body + c.header.length), std::move(c.fds)};
    held_ -= f.fds.size();
    start_ = c.offset + header_size + c.header.length;
    ready_.pop_front();
    if (start_ == end_) { // nothing held: start over at the beginning of the buffer
        start_ = current_ = end_ = 0;
        if (buf_.capacity() > kept_capacity) std::vector<std::byte>().swap(buf_);
    }
    return f;
}

std::size_t frame_reader::needed() const noexcept {
    if (problem_ != frame_problem::none || !ready_.empty()) return 0;
    std::size_t have = end_ - current_;
    if (!current_header_) return header_size - have;
    return header_size + current_header_->length - have;
}

// Moves what is held to the start of the buffer, so the room behind it is as large as it can be.
void frame_reader::compact() noexcept {
    if (start_ == 0) return;
    std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
    for (auto& c : ready_) c.offset -= start_;
    current_ -= start_;
    end_ -= start_;
    start_ = 0;
}

// Makes buf_ at least `size` bytes long without ever allocating more than limit() bytes.
void frame_reader::reserve_room(std::size_t size) {
    if (buf_.size() >= size) return;
    if (buf_.capacity() < size) buf_.reserve(std::min(limit(), std::max(size, 2 * buf_.capacity())));
    buf_.resize(size);
}

} // namespace npipe::protocol
