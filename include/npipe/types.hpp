// npipe/types.hpp - the vocabulary shared by the named-pipe and anonymous-pipe APIs.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sys/types.h>

namespace npipe {

/// Direction of a named pipe, seen from the server (Windows' PIPE_ACCESS_*).
/// inbound: client writes, server reads. outbound: server writes, client reads.
enum class pipe_direction : std::uint8_t { inbound = 1, outbound = 2, duplex = 3 };

/// Pipe type, fixed when the pipe is created (PIPE_TYPE_BYTE / PIPE_TYPE_MESSAGE).
enum class pipe_type : std::uint8_t { byte = 0, message = 1 };

/// Read mode of one handle (PIPE_READMODE_*). Message read mode needs a message-type pipe.
enum class read_mode : std::uint8_t { byte = 0, message = 1 };

/// Blocking mode of one handle (PIPE_WAIT / PIPE_NOWAIT).
enum class wait_mode : std::uint8_t { wait = 0, nowait = 1 };

/// Which end of a pipe a handle is (PIPE_CLIENT_END / PIPE_SERVER_END).
enum class pipe_end : std::uint8_t { client = 0, server = 1 };

/// Which way an anonymous pipe end carries data.
enum class pipe_end_role : std::uint8_t { read = 0, write = 1 };

/// State of a server instance as the broker sees it.
enum class instance_state : std::uint8_t {
    listening = 0,    ///< waiting for a client (new, or ConnectNamedPipe after a disconnect)
    connected = 1,    ///< a client is attached
    closing = 2,      ///< the client closed; the server has not disconnected yet
    disconnected = 3, ///< the server disconnected and has not listened again
};

/// Which broker to talk to.
enum class scope : std::uint8_t {
    from_environment, ///< NPIPE_SCOPE=system selects the system scope, anything else the user scope
    user,             ///< $XDG_RUNTIME_DIR/npipe, else /tmp/npipe-<uid>; a broker starts on demand
    system,           ///< /run/npipe, one broker for all users (started by systemd, never on demand)
};

/// Where the broker is and whether to start one. Every option struct carries one.
struct endpoint {
    /// Which namespace. NPIPE_RUNTIME_DIR, when set, overrides the directory of either scope.
    npipe::scope scope = scope::from_environment;
    /// Explicit runtime directory; takes precedence over scope and environment.
    std::optional<std::filesystem::path> runtime_dir;
    /// Start a user-scope broker when none answers. Default: yes unless NPIPE_NO_AUTOSTART=1.
    std::optional<bool> autostart;
};

/// What a client lets the server do with its identity (CreateFile's SECURITY_SQOS_PRESENT with
/// SECURITY_ANONYMOUS / _IDENTIFICATION / _IMPERSONATION / _DELEGATION). npipe's default is
/// identification: the server learns who the client is but cannot act as it.
enum class impersonation_level : std::uint8_t { anonymous = 0, identification = 1, impersonation = 2, delegation = 3 };

/// Win32's PIPE_UNLIMITED_INSTANCES.
inline constexpr unsigned unlimited_instances = 255;

/// Timeouts of WaitNamedPipe/CallNamedPipe: NMPWAIT_USE_DEFAULT_WAIT uses the pipe's default
/// timeout, NMPWAIT_WAIT_FOREVER never gives up.
inline constexpr std::chrono::milliseconds use_default_wait{0};
inline constexpr std::chrono::milliseconds wait_forever{0xffffffffLL};

/// Result of a read: ERROR_MORE_DATA is not an exception but `more_data == true`.
struct read_result {
    std::size_t bytes = 0;  ///< bytes stored in the caller's buffer
    bool more_data = false; ///< message read mode: the message continues; read again for the rest
};

/// PeekNamedPipe's three counts.
struct peek_result {
    std::size_t bytes_read = 0;        ///< bytes copied into the caller's buffer
    std::size_t total_available = 0;  ///< bytes that a read could return now (all messages)
    std::size_t left_this_message = 0; ///< message pipes: bytes of the current message not copied; 0 for byte pipes
};

/// GetNamedPipeInfo.
struct pipe_info {
    pipe_end end = pipe_end::server;
    pipe_type type = pipe_type::byte;
    std::uint32_t out_buffer_size = 0;
    std::uint32_t in_buffer_size = 0;
    unsigned max_instances = 0;
};

/// GetNamedPipeHandleState.
struct handle_state {
    npipe::read_mode read_mode = read_mode::byte;
    npipe::wait_mode wait_mode = wait_mode::wait;
    unsigned current_instances = 0;
};

} // namespace npipe
