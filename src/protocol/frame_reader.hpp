// protocol/frame_reader.hpp - frames out of a connection's bytes and descriptors, however they
// arrive.
//
// A reader is given what each receive brought (bytes, and the descriptors that came with them)
// and hands out whole frames: type, body (not decoded yet) and the descriptors that came with
// that frame. It checks each header as soon as its 8 bytes are there, with decode_header and
// the direction's limit, and stops at the first problem; frames complete before it can still
// be taken. It never holds more than one frame's worth of bytes (header_size + max_body): the
// room it offers shrinks to nothing until frames are taken.
//
// Descriptors belong to the frame that the first byte received with them belongs to (the
// kernel never returns them in the middle of what one receive returns). A frame may bring at
// most `per_frame`; the reader holds at most `held` across the frames not taken yet, so a peer
// cannot park descriptors in frames nobody takes.
//
// An event loop (non-blocking socket) reads what there is room for and takes every frame:
//
//     for (auto room = r.space(16384); !room.empty(); room = r.space(16384)) {
//         auto got = os::recv_with_fds(sock, room, fds, 2, os::io_flags::dont_wait);
//         if (!got) ...;  // EAGAIN: nothing more now
//         r.received(got.value, fds);
//         if (got.value < room.size()) break;
//     }
//     while (auto f = r.next()) handle(*f);
//     if (r.problem() != frame_problem::none) close(...);
//
// A blocking reader that must not read a byte past its frame (on a client's connection the
// server's data follows the broker's reply) asks for exactly what is missing:
//
//     while (!r.has_frame() && r.problem() == frame_problem::none) {
//         auto got = os::recv_with_fds(sock, r.space(r.needed()), fds, 1, os::io_flags::none); // blocking
//         if (!got || got.value == 0) ...;  // the peer went away
//         r.received(got.value, fds);
//     }
#pragma once

#include "os/fd.hpp"
#include "protocol/messages.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <span>
#include <vector>

namespace npipe::protocol {

/// One frame as received: its body is not decoded yet.
struct frame {
    message_type type{};
    std::vector<std::byte> body;
    std::vector<os::fd> fds;
};

/// Why a connection's stream of frames cannot go on. The first three are decode_header's
/// (header_problem); too_many_fds: more descriptors than the limits allow.
enum class frame_problem { none, bad_magic, bad_version, too_long, too_many_fds };

frame_problem to_frame_problem(header_problem p) noexcept;

class frame_reader {
public:
    /// `max_body`: the direction's limit (max_request_body to the broker, max_reply_body from
    /// it). `max_fds`: descriptors a frame may bring, and that the reader may hold at once.
    explicit frame_reader(std::size_t max_body, std::size_t max_fds = 0) noexcept;

    /// Descriptors: at most `per_frame` with one frame and `held` at once. Applies to what
    /// arrives from now on.
    void limit_descriptors(std::size_t per_frame, std::size_t held) noexcept;
    void limit_descriptors(std::size_t max_fds) noexcept { limit_descriptors(max_fds, max_fds); }

    // ---- what arrived --------------------------------------------------------------------------

    /// Room for at most `want` bytes: receive into it, then call received(). Smaller when the
    /// reader would otherwise hold more than header_size + max_body; empty after a problem.
    /// Invalidated by the next call to space(), feed() or next().
    std::span<std::byte> space(std::size_t want);
    /// `n` bytes were received at the start of the last space() (at most its size), and the
    /// descriptors in `fds` with them: the reader takes them all (closing them after a problem)
    /// and leaves `fds` empty.
    void received(std::size_t n, std::vector<os::fd>& fds);
    void received(std::size_t n);
    /// Copies as much of `bytes` as there is room for and returns how much that was. `fds` came
    /// with the first byte; they are taken unless nothing is (no room).
    std::size_t feed(std::span<const std::byte> bytes, std::vector<os::fd>& fds);
    std::size_t feed(std::span<const std::byte> bytes);

    // ---- frames out ----------------------------------------------------------------------------

    /// The oldest complete frame, if any.
    std::optional<frame> next();
    bool has_frame() const noexcept { return !ready_.empty(); }
    /// The first problem met; frames complete before it are still handed out first.
    frame_problem problem() const noexcept { return problem_; }
    /// What the frame under way still lacks: the rest of its header, then the rest of its
    /// body. Zero while a complete frame waits to be taken, and after a problem.
    std::size_t needed() const noexcept;

    /// Bytes held: complete frames not taken yet and the frame under way. Never above limit().
    std::size_t buffered() const noexcept { return end_ - start_; }
    /// Descriptors held (those of complete frames not taken yet included).
    std::size_t descriptors() const noexcept { return held_; }
    std::size_t limit() const noexcept { return header_size + max_body_; }

private:
    struct complete {
        frame_header header;
        std::size_t offset; // of its header in buf_
        std::vector<os::fd> fds;
    };
    void take_fds(std::vector<os::fd>& fds);
    void scan();
    void fail(frame_problem p) noexcept;
    void compact() noexcept;
    void reserve_room(std::size_t size);

    std::size_t max_body_;
    std::size_t fds_per_frame_;
    std::size_t fds_held_;
    std::vector<std::byte> buf_;
    std::size_t start_ = 0;   // the first byte not taken
    std::size_t current_ = 0; // the header of the frame under way
    std::size_t end_ = 0;     // one past the last byte received
    std::size_t offered_ = 0; // the size of the last space()
    std::optional<frame_header> current_header_;
    std::vector<os::fd> current_fds_;
    std::deque<complete> ready_;
    std::size_t held_ = 0;
    frame_problem problem_ = frame_problem::none;
};

} // namespace npipe::protocol
