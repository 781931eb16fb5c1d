// win32/io_object.hpp - handles that do I/O: named-pipe ends, anonymous-pipe ends, and plain
// descriptors (files, the standard streams, sockets a parent passed down).
//
// Each operation returns a Win32 error number (0 for success; ERROR_MORE_DATA is a partial
// success that still reports bytes). Operations a kind of handle does not have return
// ERROR_INVALID_FUNCTION, as the Windows driver behind such a handle would.
#pragma once

#include "win32/kernel_object.hpp"

#include "io_reactor.hpp"

#include <npipe/anonymous_pipe.hpp>
#include <npipe/named_pipe.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace npipe::detail {
class pipe_channel;
class server_impl;
} // namespace npipe::detail

namespace npipe::win32 {

class completion_port;

/// What a handle opened with FILE_FLAG_OVERLAPPED has (overlapped.cpp).
struct overlapped_state {
    bool enabled = false; ///< FILE_FLAG_OVERLAPPED
    /// The lanes its operations run in (io_reactor.hpp): reads and transactions, writes,
    /// ConnectNamedPipe.
    std::shared_ptr<detail::op_lane> reads = std::make_shared<detail::op_lane>();
    std::shared_ptr<detail::op_lane> writes = std::make_shared<detail::op_lane>();
    std::shared_ptr<detail::op_lane> connects = std::make_shared<detail::op_lane>();
    // Guarded by dispatch().mutex:
    /// The file object's own event: reset when an operation starts, set when one completes
    /// (what GetOverlappedResult waits for when the OVERLAPPED has no event).
    bool file_event = true;
    std::shared_ptr<completion_port> port; ///< CreateIoCompletionPort
    ULONG_PTR key = 0;
    UCHAR modes = 0; ///< SetFileCompletionNotificationModes
};

struct io_result {
    DWORD error = 0;
    DWORD bytes = 0;
};

struct peek_counts {
    DWORD read = 0, available = 0, left = 0;
};

struct pipe_facts {
    DWORD flags = 0, out_size = 0, in_size = 0, max_instances = 0;
};

/// A handle to something that reads and writes. Signaled except while I/O calls on it run
/// (the Windows file-object rule; a synchronous handle is therefore almost always signaled).
class io_object : public object {
public:
    bool signaled() const noexcept override { return busy_ == 0 && async.file_event; }
    /// An I/O call starts / ends (takes the dispatcher lock).
    void begin_io() noexcept;
    void end_io() noexcept;

    virtual io_result read(void* buffer, DWORD size) = 0;
    virtual io_result write(const void* data, DWORD size) = 0;
    virtual DWORD flush() { return 0; }

    // NPFS operations: pipes only.
    virtual DWORD peek(void*, DWORD, peek_counts&) { return ERROR_INVALID_FUNCTION; }
    virtual io_result transact(const void*, DWORD, void*, DWORD) { return {ERROR_INVALID_FUNCTION, 0}; }
    /// ConnectNamedPipe: 0 (waited for the client) or ERROR_PIPE_CONNECTED etc. `listening`
    /// runs once the broker has the listen and the call waits for a client.
    virtual DWORD connect(const std::function<void()>&) { return ERROR_INVALID_FUNCTION; }
    virtual DWORD disconnect() { return ERROR_INVALID_FUNCTION; }
    virtual DWORD info(pipe_facts&) { return ERROR_INVALID_FUNCTION; }
    /// lpState bits and the instance count.
    virtual DWORD get_state(DWORD&, DWORD&) { return ERROR_INVALID_FUNCTION; }
    /// The connected client's user name (server ends only).
    virtual DWORD client_user(std::string&) { return ERROR_INVALID_FUNCTION; }
    virtual DWORD set_mode(DWORD) { return ERROR_INVALID_FUNCTION; }
    /// GetNamedPipeClientProcessId (`client_end`) / GetNamedPipeServerProcessId.
    virtual DWORD process_id(bool /*client_end*/, ULONG&) { return ERROR_INVALID_FUNCTION; }
    /// GetNamedPipeClientComputerName: the remote client's computer name.
    virtual DWORD client_computer(std::string&) { return ERROR_INVALID_FUNCTION; }
    /// ImpersonateNamedPipeClient (server ends of named pipes).
    virtual DWORD impersonate_client() { return ERROR_INVALID_FUNCTION; }
    /// GetSecurityInfo / SetSecurityInfo (named pipes; defined in security_api.cpp).
    virtual DWORD get_security(npipe::security_descriptor&) { return ERROR_NOT_SUPPORTED; }
    virtual DWORD set_security(const npipe::security_descriptor&, DWORD) { return ERROR_NOT_SUPPORTED; }

    /// Overlapped I/O: the pipe end an operation runs on (named pipes only; null otherwise, and
    /// such handles complete every operation at once), and its server half.
    virtual detail::pipe_channel* channel() noexcept { return nullptr; }
    virtual detail::server_impl* server() noexcept { return nullptr; }
    overlapped_state async;

    /// A descriptor a child process can inherit, and what it is ('r'/'w': anonymous pipe read /
    /// write end, 's': a named-pipe connection, 'f': anything else); -1 when there is none.
    virtual int child_descriptor() const noexcept { return -1; }
    virtual char child_kind() const noexcept { return 'f'; }

private:
    int busy_ = 0; // I/O calls running; guarded by dispatch().mutex
};

/// The server or client end of a named pipe.
class named_pipe_object final : public io_object {
public:
    named_pipe_object(server_instance server, pipe_direction direction);
    named_pipe_object(client c, bool can_write_attributes);
    object_kind kind() const noexcept override { return object_kind::named_pipe; }
    /// A client end whose server disconnected it is not signaled, for good: none of its calls
    /// can succeed again (Wine's test_DisconnectNamedPipe, run on Windows, waits on such a
    /// handle and gets WAIT_TIMEOUT).
    bool signaled() const noexcept override;

    io_result read(void* buffer, DWORD size) override;
    io_result write(const void* data, DWORD size) override;
    DWORD flush() override;
    DWORD peek(void* buffer, DWORD size, peek_counts& counts) override;
    io_result transact(const void* in, DWORD in_size, void* out, DWORD out_size) override;
    DWORD connect(const std::function<void()>& listening) override;
    DWORD disconnect() override;
    DWORD info(pipe_facts& facts) override;
    DWORD get_state(DWORD& state, DWORD& instances) override;
    DWORD client_user(std::string& name) override;
    DWORD set_mode(DWORD mode) override;
    DWORD process_id(bool client_end, ULONG& pid) override;
    DWORD client_computer(std::string& name) override;
    DWORD impersonate_client() override;
    DWORD get_security(npipe::security_descriptor& sd) override;
    DWORD set_security(const npipe::security_descriptor& sd, DWORD parts) override;
    int child_descriptor() const noexcept override;
    char child_kind() const noexcept override { return 's'; }
    void last_handle_closed() noexcept override;
    detail::pipe_channel* channel() noexcept override;
    detail::server_impl* server() noexcept override;

private:
    pipe_end_base& end() noexcept;
    const pipe_end_base& end() const noexcept;
    std::optional<server_instance> server_;
    std::optional<client> client_;
    bool may_set_state_; // FILE_WRITE_ATTRIBUTES
};

/// One end of an anonymous pipe (CreatePipe, or a pipe inherited from the parent).
class anonymous_pipe_object final : public io_object {
public:
    explicit anonymous_pipe_object(anonymous_pipe_end end) : end_(std::move(end)) {}
    object_kind kind() const noexcept override { return object_kind::anonymous_pipe; }

    io_result read(void* buffer, DWORD size) override;
    io_result write(const void* data, DWORD size) override;
    DWORD flush() override;
    DWORD peek(void* buffer, DWORD size, peek_counts& counts) override;
    DWORD info(pipe_facts& facts) override;
    DWORD get_state(DWORD& state, DWORD& instances) override;
    DWORD set_mode(DWORD mode) override;
    DWORD process_id(bool client_end, ULONG& pid) override;
    DWORD client_computer(std::string&) override { return ERROR_PIPE_LOCAL; } // as Windows answers
    int child_descriptor() const noexcept override { return end_.native_handle(); }
    char child_kind() const noexcept override { return end_.role() == pipe_end_role::read ? 'r' : 'w'; }

private:
    anonymous_pipe_end end_;
    std::atomic<bool> nowait_{false};
};

/// A plain descriptor: a file from CreateFile, a standard stream, an inherited socket.
class file_object final : public io_object {
public:
    /// Takes ownership of `fd`. `readable`/`writable`: the access the handle was opened with.
    file_object(int fd, bool readable, bool writable);
    ~file_object() override;
    object_kind kind() const noexcept override { return object_kind::file; }

    io_result read(void* buffer, DWORD size) override;
    io_result write(const void* data, DWORD size) override;
    DWORD flush() override;
    DWORD peek(void* buffer, DWORD size, peek_counts& counts) override;
    int child_descriptor() const noexcept override { return fd_; }
    char child_kind() const noexcept override { return stream_ ? 's' : 'f'; }

private:
    int fd_;
    bool readable_, writable_;
    bool stream_; // a pipe or socket: end of data is ERROR_BROKEN_PIPE, not a 0-byte success
    bool socket_;
};

/// A user's name from the password database, or the number when it has none.
std::string user_name_of(uid_t uid);

/// Makes the right object for a descriptor a parent passed down ('r', 'w', 's', 'f').
std::shared_ptr<io_object> adopt_descriptor(int fd, char kind);

/// A path CreateFile treats as a pipe name (`\\...`).
bool is_pipe_path(std::string_view name);
/// CreateFile on a pipe name (pipe_api.cpp).
HANDLE open_named_pipe(const std::string& name, DWORD access, DWORD flags, LPSECURITY_ATTRIBUTES sa);

} // namespace npipe::win32
