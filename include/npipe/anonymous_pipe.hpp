// npipe/anonymous_pipe.hpp - anonymous pipes (CreatePipe) and child processes that inherit them.
//
// An anonymous pipe is one-way and unnamed; it never enters the broker's namespace. Handles are
// not inheritable unless asked: a child started with npipe::child_process receives exactly the
// handles it is given (as its stdin/stdout/stderr or in `inherit`), nothing else of the parent.
//
// Thread safety: distinct objects from any thread. One pipe end: read/peek and write may run
// on different threads; other members need exclusive access.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>
#include <npipe/types.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace npipe {

/// One end of an anonymous pipe. Owns its descriptor.
class NPIPE_API anonymous_pipe_end {
public:
    anonymous_pipe_end() noexcept = default;
    /// Adopts a descriptor (e.g. a child's stdin) as a pipe end.
    explicit anonymous_pipe_end(int fd, pipe_end_role role, std::uint32_t size = 0) noexcept;
    anonymous_pipe_end(anonymous_pipe_end&&) noexcept;
    anonymous_pipe_end& operator=(anonymous_pipe_end&&) noexcept;
    anonymous_pipe_end(const anonymous_pipe_end&) = delete;
    anonymous_pipe_end& operator=(const anonymous_pipe_end&) = delete;
    ~anonymous_pipe_end();

    /// ReadFile: blocks until at least one byte; ERROR_BROKEN_PIPE once the write end is closed
    /// and everything was read. An empty buffer waits the same way and takes nothing (0 bytes,
    /// or ERROR_BROKEN_PIPE at the end). ERROR_ACCESS_DENIED on a write end.
    std::size_t read(std::span<std::byte> buffer);
    std::size_t read(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    /// WriteFile: writes everything (blocking). ERROR_NO_DATA when the read end is closed.
    /// Never raises SIGPIPE. ERROR_ACCESS_DENIED on a read end.
    std::size_t write(std::span<const std::byte> data);
    std::size_t write(std::span<const std::byte> data, std::error_code& ec) noexcept;

    /// PeekNamedPipe on a read end: copies without removing; left_this_message is 0.
    peek_result peek(std::span<std::byte> buffer);
    peek_result peek(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    /// GetNamedPipeInfo: byte pipe, the size given to create (4096 when 0), max instances 1.
    pipe_info info() const noexcept;

    /// HANDLE_FLAG_INHERIT, kept as a mark for the caller. The descriptor itself always stays
    /// close-on-exec: child_process passes exactly the descriptors named in spawn_options.
    bool inheritable() const noexcept { return inheritable_; }
    void set_inheritable(bool on) noexcept { inheritable_ = on; }

    pipe_end_role role() const noexcept { return role_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    int native_handle() const noexcept { return fd_; }
    /// Gives up ownership of the descriptor.
    int release() noexcept;
    void close() noexcept;

private:
    int fd_ = -1;
    pipe_end_role role_ = pipe_end_role::read;
    std::uint32_t size_ = 0;
    bool inheritable_ = false;
};

/// CreatePipe: a connected read end and write end.
struct anonymous_pipe {
    anonymous_pipe_end read_end;
    anonymous_pipe_end write_end;

    /// `size` 0 means the default (reported as 4096). `inheritable` marks both ends (as
    /// SECURITY_ATTRIBUTES.bInheritHandle does); usually one end is then unmarked.
    NPIPE_API static anonymous_pipe create(std::uint32_t size = 0, bool inheritable = false);
    NPIPE_API static anonymous_pipe create(std::uint32_t size, bool inheritable,
                                           std::error_code& ec) noexcept;
};

/// How to start a child process.
struct spawn_options {
    std::string program;            ///< path, or a name looked up in PATH
    std::vector<std::string> args;  ///< argv[1..]
    /// The child's stdin/stdout/stderr: a descriptor of the parent (e.g. a pipe end's
    /// native_handle()); empty means the parent's own stream.
    std::optional<int> stdin_fd, stdout_fd, stderr_fd;
    /// Further descriptors the child inherits at the same number (Windows keeps handle values).
    /// Numbers 0..2 here only matter when the matching *_fd above is empty, and then the child
    /// already has the parent's stream there.
    std::vector<int> inherit;
    std::optional<std::string> working_directory;
};

/// A started child process. Waiting is explicit; destroying an unwaited child does not kill it
/// (it is reaped by nobody until the parent exits, as a detached Windows process).
class NPIPE_API child_process {
public:
    child_process() noexcept = default;
    child_process(child_process&&) noexcept;
    child_process& operator=(child_process&&) noexcept;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process();

    /// CreateProcess. Fails synchronously when the program cannot be started: ERROR_FILE_NOT_FOUND
    /// when it does not exist, ERROR_ACCESS_DENIED when it may not be executed, ERROR_BAD_FORMAT
    /// when it is no executable, ERROR_INVALID_HANDLE when a given descriptor is not open.
    static child_process spawn(const spawn_options& options);
    static child_process spawn(const spawn_options& options, std::error_code& ec) noexcept;

    /// The child's process id; 0 for an empty object.
    pid_t pid() const noexcept { return pid_; }

    /// Waits for exit and returns the exit code (128+N when killed by signal N), like
    /// WaitForSingleObject + GetExitCodeProcess. `timeout` empty (or npipe::wait_forever) waits
    /// forever; ERROR_WAIT_TIMEOUT (258) when it runs out. Reaps the child.
    int wait(std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    int wait(std::optional<std::chrono::milliseconds> timeout, std::error_code& ec) noexcept;

    /// Exit code if it has exited, else empty (STILL_ACTIVE).
    std::optional<int> exit_code() noexcept;

    /// Sends SIGKILL (TerminateProcess); nothing once the exit was observed.
    void kill() noexcept;

    /// A pidfd: readable once the child has exited. -1 if the kernel has no pidfd.
    int native_handle() const noexcept { return pidfd_; }

private:
    pid_t pid_ = 0;
    int pidfd_ = -1;
    std::optional<int> exit_code_;
};

} // namespace npipe
