// pipe_channel.hpp - the data plane of one named-pipe handle (either end).
//
// The connection and the operations on it are in message_stream.hpp (framing, partial
// messages, ERROR_MORE_DATA); this class holds the connection, the handle's modes and locks,
// and runs each operation to completion on the calling thread (the blocking Win32 and C++
// calls). Everything unread stays in the kernel, so poll() on native_handle() tells the truth
// (but for the bytes a cancelled read gave back).
//
// DisconnectNamedPipe must throw away what the client has not read yet; the kernel cannot do
// that, so the server publishes "generation G is disconnected" in the instance's shared page
// (writable by the server only) and the client checks it before touching the socket.
#pragma once

#include "message_stream.hpp"
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
    npipe::wait_mode current_wait_mode() const noexcept { return wait_mode_.load(); }

    // The halves of ReadFile and WriteFile, for a driver of its own (overlapped I/O, the async
    // API); read() and write() are begin, run_blocking, end. With the lock named held:
    // begin_* checks the end (ERROR_ACCESS_DENIED, ERROR_PIPE_LISTENING, ...); the operation
    // from make_* is then stepped, under the same lock at each step; end_* turns its outcome
    // into the call's result and counts it.
    std::mutex& read_lock() noexcept { return read_mutex_; }
    std::mutex& write_lock() noexcept { return write_mutex_; }
    std::error_code begin_read() noexcept;
    read_op make_read(std::span<std::byte> buffer, bool wait) noexcept { return {stream_, buffer, style(), wait}; }
    read_result end_read(const read_op& op, std::span<std::byte> buffer, std::error_code& ec) noexcept;
    std::error_code begin_write() noexcept;
    write_op make_write(std::span<const std::byte> data) noexcept {
        return {stream_, data, wait_mode_ == npipe::wait_mode::nowait};
    }
    std::size_t end_write(const write_op& op, std::error_code& ec) noexcept;
    /// TransactNamedPipe's checks (read lock held): the end's state, message mode, nothing
    /// unread. The operation is then stepped under the write lock while writing(), the read
    /// lock after; end_write and end_read turn its parts into the result.
    std::error_code begin_transact() noexcept;
    transact_op make_transact(std::span<const std::byte> request, std::span<std::byte> reply) noexcept {
        return {stream_, request, reply};
    }
    /// A write's checks again, before the transaction's write part (write lock held).
    std::error_code begin_transact_write() noexcept { return prepare_io(io_kind::write); }
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

    /// Installs a new connection (the read state starts afresh), its messages framed `as`.
    void attach(os::fd data, framing as = framing::npipe) noexcept;
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
    read_style style() const noexcept;

    message_stream stream_; // the connection's reading state under read_mutex_, writing under write_mutex_
    std::atomic<bool> has_read_{false};
    std::atomic<std::uint64_t> bytes_read_{0}, bytes_written_{0};
};

} // namespace npipe::detail
