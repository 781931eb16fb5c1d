// pipe_channel.hpp - the data plane of one named-pipe handle (either end).
//
// A connection is a SOCK_STREAM Unix socket shared directly by the two processes. Byte pipes
// send raw bytes, so they cost what a socketpair costs. Message pipes frame every write with a
// 4-byte little-endian length; zero-length messages are a bare header. A reader keeps how much
// of the current message is left, which gives ERROR_MORE_DATA and lets a byte-mode reader walk
// across boundaries. Everything unread stays in the kernel, so poll() on native_handle() tells
// the truth at all times.
//
// DisconnectNamedPipe must throw away what the client has not read yet; the kernel cannot do
// that, so the server publishes "generation G is disconnected" in the instance's shared page
// (writable by the server only) and the client checks it before touching the socket.
#pragma once

#include "os/fd.hpp"
#include "os/socket.hpp"
#include "protocol/instance_page.hpp"

#include <npipe/named_pipe.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace npipe::detail {

// The shared page's layout is part of the protocol (protocol/instance_page.hpp).
using protocol::instance_page;
using protocol::load_disconnected;

constexpr std::size_t message_header_size = 4;

class pipe_channel {
public:
    enum class io_kind { read, write, peek, flush, transact, query };

    virtual ~pipe_channel() = default;

    read_result read(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    std::size_t write(std::span<const std::byte> data, std::error_code& ec) noexcept;
    peek_result peek(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    read_result transact(std::span<const std::byte> request, std::span<std::byte> reply,
                         std::error_code& ec) noexcept;
    void flush(std::error_code& ec) noexcept;
    void set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait,
                   std::error_code& ec) noexcept;
    handle_state state(std::error_code& ec) noexcept;
    pipe_info info() const noexcept;
    virtual int native_handle() const noexcept { return data_.get(); }
    /// The peer has closed its end.
    bool peer_hung_up() const noexcept;
    /// Something was read on the current connection (Windows lets a server impersonate its
    /// client only after that).
    bool has_read() const noexcept { return has_read_.load(); }
    /// Payload bytes read and written on the current connection (for the broker's events).
    std::uint64_t bytes_read() const noexcept { return bytes_read_.load(std::memory_order_relaxed); }
    std::uint64_t bytes_written() const noexcept { return bytes_written_.load(std::memory_order_relaxed); }

    // What both ends know about the pipe.
    std::string name;
    npipe::endpoint where;
    pipe_end end = pipe_end::client;
    pipe_type type = pipe_type::byte;
    pipe_direction direction = pipe_direction::duplex;
    std::uint32_t out_buffer_size = 0, in_buffer_size = 0;
    unsigned max_instances = 0;
    bool can_read = true, can_write = true;
    std::atomic<pid_t> client_pid{0}, server_pid{0};
    std::atomic<std::uint64_t> pipe_id{0}; // the broker's id of the pipe (changes only if it is re-created)
    std::uint32_t granted_access = 0;      // access-mask bits this end holds

protected:
    /// Checks the end's state before an operation (and lets a server pick up a client that
    /// arrived before ConnectNamedPipe). Called with the operation's mutex held.
    virtual std::error_code prepare_io(io_kind kind) noexcept = 0;
    /// The error for a connection that has ended: BROKEN_PIPE, or PIPE_NOT_CONNECTED on a
    /// client whose server disconnected it. `writing`: NO_DATA instead of BROKEN_PIPE.
    virtual std::error_code ended(bool writing) const noexcept;

    /// Installs a new connection (the read state starts afresh).
    void attach(os::fd data) noexcept;
    /// Shuts the connection down (wakes blocked readers and writers), then closes it.
    /// Lock order everywhere: read_mutex_, write_mutex_, then any state lock of a subclass.
    void detach() noexcept;
    /// Wakes threads blocked on the connection (shutdown) without closing it.
    void wake_io() noexcept;
    /// Closes the connection; the caller holds read_mutex_ and write_mutex_.
    void detach_locked() noexcept;
    bool connected() const noexcept { return data_.valid(); }


    os::fd data_;
    std::atomic<int> live_fd_{-1}; // data_'s number, for wake_io() from another thread
    std::atomic<npipe::read_mode> read_mode_{npipe::read_mode::byte};
    std::atomic<npipe::wait_mode> wait_mode_{npipe::wait_mode::wait};
    std::mutex read_mutex_, write_mutex_;

private:
    read_result read_locked(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    read_result read_stream(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    read_result read_message(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    read_result read_messages_as_bytes(std::span<std::byte> buffer, std::error_code& ec) noexcept;
    /// Starts the next message: reads its header. `block` false: ERROR_NO_DATA when none is there.
    bool next_message(bool block, std::error_code& ec) noexcept;
    /// recv() that maps end of stream and errors; `all` waits for every byte.
    std::size_t receive(void* p, std::size_t n, bool block, bool all, std::error_code& ec) noexcept;
    std::size_t write_locked(std::span<const std::byte> data, std::error_code& ec) noexcept;
    std::size_t write_frame(std::span<const std::byte> data, std::error_code& ec) noexcept;
    bool fits_now(std::size_t frame_size) noexcept;

    std::uint64_t message_left_ = 0; // bytes of the current message not read yet
    bool in_message_ = false;
    std::atomic<bool> has_read_{false};
    std::atomic<std::uint64_t> bytes_read_{0}, bytes_written_{0};
};

} // namespace npipe::detail
