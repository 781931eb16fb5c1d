// message_stream.hpp - one connection's data as one end sees it, and the operations on it.
//
// A connection is a SOCK_STREAM Unix socket shared directly by the two processes. Byte pipes
// send raw bytes, so they cost what a socketpair costs. Message pipes frame every write with a
// 4-byte little-endian length; zero-length messages are a bare header. A connection to an SMB
// client through Samba's smbd is framed as smbd frames it (protocol/samba_npa.hpp): a 2-byte
// little-endian length, so a message of at most 65,535 bytes. Everything unread stays
// in the kernel (but for what a cancelled read gives back), so poll() on the socket tells the
// truth.
//
// What must outlive one operation lives here: where the reader is in the current message (a
// message read in several reads, a header that arrived in pieces, the bytes a cancelled read
// gave back) and the rest of a message whose write was cancelled once it had started to go out.
// The operations themselves (read_op, write_op, flush_op, transact_op) hold only their own
// buffer and progress; see pipe_ops.hpp for how they are driven and serialised.
#pragma once

#include "os/poller.hpp"
#include "pipe_ops.hpp"

#include <npipe/types.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace npipe::detail {

constexpr std::size_t message_header_size = 4; ///< the longest header (npipe's own)

/// How a connection's messages are framed: npipe's 4-byte lengths, or smbd's 2-byte ones (a
/// server's connection to a remote client).
enum class framing : std::uint8_t { npipe, samba };
constexpr std::size_t header_size_of(framing f) noexcept { return f == framing::samba ? 2 : 4; }
/// The longest message a framing carries.
constexpr std::uint64_t max_message_of(framing f) noexcept { return f == framing::samba ? 0xFFFFu : 0xFFFFFFFFu; }

/// Where the reader of a connection is. Guarded by the read lock.
struct read_cursor {
    bool in_message = false;     ///< a message's header has been taken, not all of its payload
    std::uint64_t left = 0;      ///< bytes of that message not taken yet (`carried` included)
    std::vector<std::byte> carried; ///< its next bytes, out of the socket already: a cancelled read gave them back
    std::array<std::byte, message_header_size> header{};
    std::size_t header_got = 0;  ///< bytes of the next header taken so far (between messages)

    /// Nothing of a message taken and nothing half-read.
    bool idle() const noexcept { return !in_message && header_got == 0; }
};

/// The state of one connection (none: fd -1).
struct message_stream {
    int fd = -1;
    pipe_type type = pipe_type::byte;
    framing framed_as = framing::npipe;
    read_cursor cursor;            ///< guarded by the read lock
    std::vector<std::byte> unsent; ///< the rest of a cancelled message write; guarded by the write lock
    /// The last read found the socket empty (EAGAIN), not merely short: a short read can stop
    /// at another writer's bytes with more queued (guarded by the read lock).
    bool drained = false;

    /// A new connection: everything kept from the previous one is dropped.
    void reset(int new_fd, pipe_type new_type, framing new_framing = framing::npipe) noexcept {
        fd = new_fd;
        type = new_type;
        framed_as = new_framing;
        cursor = {};
        unsent.clear();
        drained = false;
    }
    std::size_t header_size() const noexcept { return header_size_of(framed_as); }
};

/// How a read takes data: a byte pipe; a message pipe in message read mode (one message, or
/// part of it with ERROR_MORE_DATA); a message pipe in byte read mode (across boundaries).
enum class read_style { bytes, message, messages_as_bytes };

/// ReadFile. `wait` (PIPE_WAIT): a read waits until it can return something; else what there
/// is now, or ERROR_NO_DATA. A message read may take a message larger than the socket buffer
/// across many steps; every other read completes as soon as it has a byte.
/// cancel(): the bytes of a message already taken go back to the connection (the next read
/// gets them first), so the message and its boundary stay whole.
class read_op : public pipe_op {
public:
    read_op(message_stream& stream, std::span<std::byte> buffer, read_style style, bool wait) noexcept
        : s_(stream), buf_(buffer), style_(style), wait_(wait) {}

    step_result step(step_mode mode = step_mode::never_block) noexcept;
    void cancel() noexcept;
    /// More of the message is left (ERROR_MORE_DATA).
    bool more_data() const noexcept;

private:
    step_result step_bytes() noexcept;
    step_result step_message() noexcept;
    step_result step_messages_as_bytes() noexcept;
    step_result step_zero_bytes_across_messages() noexcept;
    step_result nothing_yet() noexcept; ///< nothing there: wait, or ERROR_NO_DATA
    step_result finish_ended() noexcept;

    message_stream& s_;
    std::span<std::byte> buf_;
    read_style style_;
    bool wait_;
    std::size_t got_ = 0;      ///< bytes in buf_ so far
    std::size_t want_ = 0;     ///< message read: how many of the message this read takes
    bool started_ = false;     ///< message read: want_ is known
};

/// WriteFile. One call is one message on a message pipe (a zero-length one too). `nowait`
/// (PIPE_NOWAIT): never waits and never writes part of a message - what does not fit now is
/// not written at all (success, 0 bytes, as Windows reports it).
/// cancel(): before the first byte went out nothing is written. A message that has started to go
/// out cannot be taken back (the reader would lose its framing): its rest is kept in the
/// connection and sent ahead of the next write or flush; the operation still reports
/// ERROR_OPERATION_ABORTED. A byte pipe's write simply stops.
class write_op : public pipe_op {
public:
    write_op(message_stream& stream, std::span<const std::byte> data, bool nowait) noexcept;

    step_result step(step_mode mode = step_mode::never_block) noexcept;
    void cancel() noexcept;

private:
    step_result start() noexcept;

    message_stream& s_;
    std::span<const std::byte> data_;
    bool nowait_;
    std::array<std::byte, message_header_size> header_{};
    std::size_t header_len_ = 0; ///< the framing's header size on a message pipe, else 0
    std::size_t sent_ = 0;       ///< bytes of header + data sent
    bool started_ = false;
};

/// FlushFileBuffers: complete once the peer has read everything this end wrote. The kernel
/// counts what the peer has not taken (SIOCOUTQ) but offers no wake-up when it reaches zero, so
/// the step asks to be retried after a growing pause (10 us .. 1 ms). A peer that closed with our
/// bytes unread ends it with the connection's end (peer_ended).
class flush_op : public pipe_op {
public:
    explicit flush_op(message_stream& stream) noexcept : s_(stream) {}

    step_result step(step_mode mode = step_mode::never_block) noexcept;
    void cancel() noexcept;

private:
    /// Wakes when the peer reads (see the step); false when no watch could be set up.
    bool watch_reads() noexcept;

    message_stream& s_;
    /// The socket, watched for room (edge-triggered): every read by the peer frees some of what
    /// the socket holds for it and wakes this poller - one wake-up per read while a flush waits,
    /// nothing on the read path otherwise.
    os::poller reads_;
    bool watching_ = false;
    std::chrono::microseconds pause_{0}; ///< without a watch: polls, with sleeps of up to 1 ms
    bool had_unread_ = false;
};

/// TransactNamedPipe's data part: one message written, then one message read in message mode,
/// always waited for. The pipe's checks come first (pipe_channel::transact). Its steps need the
/// write lock while writing() and the read lock after.
/// cancel(): as the part in progress is cancelled (a reply begun goes back to the connection).
class transact_op {
public:
    transact_op(message_stream& stream, std::span<const std::byte> request, std::span<std::byte> reply) noexcept
        : write_(stream, request, false), read_(stream, reply, read_style::message, true) {}

    step_result step(step_mode mode = step_mode::never_block) noexcept;
    void cancel() noexcept;
    bool writing() const noexcept { return !write_.completed(); }
    bool completed() const noexcept { return completed_; }
    /// The write's outcome until it fails or the read completes, then the read's.
    const op_outcome& outcome() const noexcept { return write_.outcome().ec ? write_.outcome() : read_.outcome(); }
    const write_op& write_part() const noexcept { return write_; }
    const read_op& read_part() const noexcept { return read_; }

private:
    write_op write_;
    read_op read_;
    bool completed_ = false;
};

/// Sends what a cancelled message write left (write lock held). True when nothing is left;
/// false with `ec` clear when the socket is full, or with the error.
bool send_unsent(message_stream& s, std::error_code& ec, bool& peer_ended) noexcept;

/// PeekNamedPipe on the connection (read lock held): copies without taking anything. The head
/// message's bytes a cancelled read gave back count as queued.
peek_result peek_stream(const message_stream& s, std::span<std::byte> buffer, std::error_code& ec,
                        bool& peer_ended) noexcept;

/// Bytes queued for the reader (socket and cursor): a transaction needs none.
bool has_unread(const message_stream& s) noexcept;

} // namespace npipe::detail
