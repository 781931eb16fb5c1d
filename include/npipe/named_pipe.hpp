// npipe/named_pipe.hpp - Windows named pipes: server instances, clients, wait and call.
//
// Names are `\\.\pipe\NAME` (prefix and NAME case-insensitive, NAME up to 256 characters).
// Every blocking operation comes in two forms, as in asio: one throws std::system_error, the
// other reports through a std::error_code& and never throws. Error values are Win32 numbers
// (npipe/error.hpp). The functions document the Win32 errors they report.
//
// Thread safety: distinct objects may be used from different threads freely. On one object,
// read-side calls (read, peek) and write-side calls (write, flush) may run concurrently with each
// other from two threads, and concurrent writes never interleave messages; every other member
// (connect, disconnect, transact, set_handle_state, move, destruction) needs exclusive access.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>
#include <npipe/types.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npipe {

namespace detail {
class pipe_channel;
class server_impl;
} // namespace detail
class pipe_end_base;
class async_operation;
namespace detail {
/// The end's connection and operations, for the library's own drivers (overlapped I/O, the
/// async API); null for a moved-from end.
pipe_channel* channel_of(pipe_end_base& end) noexcept;
} // namespace detail

// npipe/security.hpp (which Win32 code cannot include after win32.h's macros) defines it; include
// that header to call security() and set_security().
struct security_descriptor;

/// CreateNamedPipe's parameters. `type`, `max_instances` and `default_timeout` are the pipe's:
/// they count when this instance makes the pipe, and a further instance gets the pipe's instead
/// (as on Windows). The buffer sizes are each instance's own.
struct server_options {
    pipe_direction direction = pipe_direction::duplex;
    bool first_instance = false; ///< FILE_FLAG_FIRST_PIPE_INSTANCE: fail if the pipe exists
    pipe_type type = pipe_type::byte;
    npipe::read_mode read_mode = read_mode::byte;
    npipe::wait_mode wait_mode = wait_mode::wait;
    bool reject_remote_clients = false;
    /// Export the pipe to SMB clients (`\\HOST\pipe\NAME` through Samba's smbd): they may open
    /// it when the broker serves Samba too (npiped --samba) and the pipe's DACL grants them
    /// (they hold NETWORK, never Interactive; npipe's default DACL grants them nothing). Taken
    /// from the pipe's first instance, as its type is; reject_remote_clients wins over it.
    bool remote = false;
    unsigned max_instances = unlimited_instances; ///< 1..255 (255 = unlimited)
    std::uint32_t out_buffer_size = 0;            ///< advisory, reported by info()
    std::uint32_t in_buffer_size = 0;             ///< advisory, reported by info()
    std::chrono::milliseconds default_timeout{0}; ///< WaitNamedPipe's default; 0 means 50 ms
    /// The pipe's security descriptor in SDDL (npipe/security.hpp), used when this instance
    /// creates the pipe. Empty: npipe's default - the owner and root, nobody else. A string the
    /// broker cannot parse is ERROR_INVALID_PARAMETER (the broker's log says where).
    std::string sddl;
    /// With an empty `sddl`: Windows' default instead (also Everyone and Anonymous read).
    bool windows_default_acl = false;
    /// Rights this handle holds beyond what its direction gives (CreateNamedPipe's dwOpenMode
    /// bits): rights::WRITE_DAC and/or rights::WRITE_OWNER, which set_security() needs.
    /// rights::ACCESS_SYSTEM_SECURITY is ERROR_PRIVILEGE_NOT_HELD; other bits are
    /// ERROR_INVALID_PARAMETER.
    std::uint32_t extra_access = 0;
    npipe::endpoint endpoint{};
};

/// CreateFile's parameters for a pipe.
struct client_options {
    /// The access asked for (CreateFile's dwDesiredAccess: GENERIC_*, FILE_*, READ_CONTROL,
    /// WRITE_DAC, MAXIMUM_ALLOWED, ...; npipe/security.hpp names them). It decides what the end
    /// may do: read with FILE_READ_DATA, write with FILE_WRITE_DATA, each after the generic
    /// mapping (GENERIC_READ holds FILE_READ_DATA), everything with MAXIMUM_ALLOWED. When empty,
    /// `read` and `write` ask for GENERIC_READ and/or GENERIC_WRITE.
    std::optional<std::uint32_t> access_mask;
    bool read = true;  ///< GENERIC_READ, when access_mask is empty
    bool write = true; ///< GENERIC_WRITE, when access_mask is empty
    /// How far the server may use this client's identity (security quality of service).
    npipe::impersonation_level impersonation = impersonation_level::identification;
    bool effective_only = false;   ///< SECURITY_EFFECTIVE_ONLY
    bool context_tracking = false; ///< SECURITY_CONTEXT_TRACKING
    npipe::wait_mode wait_mode = wait_mode::wait;
    npipe::endpoint endpoint{};
};

/// Who the connected client is, as the kernel told the broker when the client connected
/// (SO_PEERCRED, SO_PEERGROUPS, SO_PEERSEC) - never what the client claims - and what it allows.
/// A remote client (an SMB client through Samba's smbd; `remote`) has pid 0, the uid, gid and
/// groups of the Unix token smbd gave its user, no label, and what smbd said of it below; it
/// allows identification unless the broker was told remote clients allow impersonation
/// (`npiped --samba-impersonation`: smbd does not pass the SMB client's own choice on).
struct client_identity {
    pid_t pid = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups; ///< supplementary groups
    std::string label;         ///< LSM label (SELinux/AppArmor/Smack), empty without an LSM
    bool anonymous = false;    ///< an unmapped user-namespace peer: nobody we can name
    npipe::impersonation_level allowed = impersonation_level::identification;
    bool effective_only = false;
    bool remote = false; ///< came over the network, through Samba's smbd
    // A remote client as smbd described it (all empty for a local client):
    std::string account;       ///< the account name, without the domain
    std::string domain;        ///< its domain (for Samba's own users: the server's name)
    std::string computer_name; ///< the client computer's name (GetNamedPipeClientComputerName)
    std::string address;       ///< its IP address as smbd saw it
    std::uint16_t port = 0;    ///< its TCP port
    /// The SIDs of its security token that take part in access checks besides the Unix ones
    /// (the domain user first, then its groups: S-1-5-21-...), as sid::to_string() writes them
    /// (npipe::sid::parse reads them). Never Administrators, LocalSystem, Interactive, Anonymous
    /// or a Unix SID: npipe does not take those from smbd (SECURITY.md).
    std::vector<std::string> sids;
};

/// What both ends of a named pipe can do. Not used on its own.
class NPIPE_API pipe_end_base {
public:
    pipe_end_base(pipe_end_base&&) noexcept;
    pipe_end_base& operator=(pipe_end_base&&) noexcept;
    pipe_end_base(const pipe_end_base&) = delete;
    pipe_end_base& operator=(const pipe_end_base&) = delete;

    /// ReadFile. Byte read mode returns what is there (at least one byte, blocking in PIPE_WAIT
    /// mode until some arrives). Message read mode returns one message; a buffer smaller than
    /// the message yields `more_data` and the next read continues the message.
    /// Errors: ERROR_BROKEN_PIPE (peer closed, nothing left), ERROR_NO_DATA (PIPE_NOWAIT and
    /// nothing to read), ERROR_PIPE_LISTENING, ERROR_PIPE_NOT_CONNECTED, ERROR_ACCESS_DENIED
    /// (handle not opened for reading / wrong direction).
    read_result read(std::span<std::byte> buffer);
    read_result read(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    /// WriteFile. On a message pipe one call is one message (zero bytes is a message too).
    /// Blocks until everything is written (PIPE_WAIT). PIPE_NOWAIT never blocks and never writes
    /// part of a message: a message that does not fit now is not written (0 is returned).
    /// Errors: ERROR_NO_DATA (peer closed), ERROR_PIPE_NOT_CONNECTED, ERROR_PIPE_LISTENING,
    /// ERROR_ACCESS_DENIED.
    std::size_t write(std::span<const std::byte> data);
    std::size_t write(std::span<const std::byte> data, std::error_code& ec) noexcept;

    /// PeekNamedPipe: copies without removing. Errors: ERROR_BROKEN_PIPE, ERROR_BAD_PIPE
    /// (listening instance), ERROR_PIPE_NOT_CONNECTED.
    peek_result peek(std::span<std::byte> buffer);
    peek_result peek(std::span<std::byte> buffer, std::error_code& ec) noexcept;

    /// TransactNamedPipe: write one message, read one reply. Needs a message pipe in message
    /// read mode (else ERROR_BAD_PIPE) with no unread data (else ERROR_PIPE_BUSY).
    /// A reply larger than `reply` gives `more_data`.
    read_result transact(std::span<const std::byte> request, std::span<std::byte> reply);
    read_result transact(std::span<const std::byte> request, std::span<std::byte> reply,
                         std::error_code& ec) noexcept;

    /// FlushFileBuffers: returns once the peer has read everything this end wrote.
    /// Errors: ERROR_BROKEN_PIPE / ERROR_NO_DATA when the peer left with data unread.
    void flush();
    void flush(std::error_code& ec) noexcept;

    /// GetNamedPipeInfo.
    pipe_info info() const noexcept;

    /// GetNamedPipeHandleState (asks the broker for the current instance count).
    handle_state state();
    handle_state state(std::error_code& ec) noexcept;

    /// SetNamedPipeHandleState. Message read mode on a byte pipe: ERROR_INVALID_PARAMETER.
    void set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait);
    void set_state(std::optional<npipe::read_mode> read, std::optional<npipe::wait_mode> wait,
                   std::error_code& ec) noexcept;

    /// GetSecurityInfo: the pipe's security descriptor as the broker holds it now. Needs
    /// READ_CONTROL on this end (a server end always has it; a client end when it asked for it,
    /// e.g. with GENERIC_READ) and, for the caller, in the pipe's DACL at the time of the call
    /// (the owner always has it). Errors: ERROR_ACCESS_DENIED; ERROR_PIPE_NOT_CONNECTED (the
    /// pipe this end belongs to is gone); ERROR_SERVICE_NOT_ACTIVE (no broker).
    npipe::security_descriptor security() const;
    npipe::security_descriptor security(std::error_code& ec) const;

    /// SetSecurityInfo: replaces the parts of the pipe's descriptor that `parts` names
    /// (security_info: owner, group, DACL; PROTECTED_/UNPROTECTED_DACL set or clear the P flag).
    /// A `dacl` of nullopt is a NULL DACL: everyone may do everything. Needs WRITE_OWNER (owner,
    /// group) and WRITE_DAC (DACL) on this end - a server end has them only through
    /// server_options::extra_access, as on Windows - and in the pipe's DACL for the caller now.
    /// Only root may make someone else the owner. New opens and instances are checked against
    /// the new descriptor; connections already made stay. Errors: ERROR_ACCESS_DENIED,
    /// ERROR_INVALID_OWNER, ERROR_INVALID_PARAMETER (no such part, a missing owner or group, a
    /// SACL), ERROR_PIPE_NOT_CONNECTED, ERROR_SERVICE_NOT_ACTIVE.
    void set_security(const npipe::security_descriptor& sd, std::uint32_t parts);
    void set_security(const npipe::security_descriptor& sd, std::uint32_t parts, std::error_code& ec) noexcept;

    /// The access this end holds (access-mask bits, generic rights mapped): for a client what
    /// the DACL granted at open, for a server what its direction and extra_access give.
    std::uint32_t granted_access() const noexcept;

    /// The pipe's full name, `\\.\pipe\NAME`, as the creator spelled it.
    const std::string& name() const noexcept;

    /// Descriptor to poll for readability (epoll, asio's posix::stream_descriptor::async_wait).
    /// Readable means a read will not block. For a server instance it changes with the
    /// connection: while listening it signals an arriving client (then call connect()), while
    /// connected it is the connection itself. -1 when there is nothing to wait for.
    int native_handle() const noexcept;

    /// Process id of the client / the server, attested by the kernel to the broker
    /// (GetNamedPipeClientProcessId / GetNamedPipeServerProcessId). 0 when not connected.
    pid_t client_process_id() const noexcept;
    pid_t server_process_id() const noexcept;

protected:
    pipe_end_base() noexcept;
    ~pipe_end_base();
    std::unique_ptr<detail::pipe_channel> channel_;
    friend detail::pipe_channel* detail::channel_of(pipe_end_base& end) noexcept;
};

/// One server instance of a named pipe (CreateNamedPipe). The pipe exists while at least one
/// instance is open anywhere; the instance is closed when this object is destroyed.
class NPIPE_API server_instance : public pipe_end_base {
public:
    /// CreateNamedPipe. A further instance of an existing pipe gets the pipe's type,
    /// max_instances and default_timeout - the first instance's - whatever `options` asks for,
    /// as on Windows (info() reports them); its buffer sizes are its own. Errors:
    /// ERROR_INVALID_NAME, ERROR_INVALID_PARAMETER (max_instances 0 or > 255, message read mode
    /// on a byte pipe - the existing pipe's type counts), ERROR_ACCESS_DENIED (first_instance and
    /// the pipe exists; the direction differs from the existing pipe's), ERROR_PIPE_BUSY (the
    /// pipe's instance limit reached), ERROR_SERVICE_NOT_ACTIVE (no broker and autostart off).
    static server_instance create(std::string_view name, const server_options& options = {});
    static server_instance create(std::string_view name, const server_options& options,
                                  std::error_code& ec) noexcept;

    server_instance(server_instance&&) noexcept;
    server_instance& operator=(server_instance&&) noexcept;
    ~server_instance();

    /// ConnectNamedPipe: waits for a client. Returns true when the client had already arrived
    /// (Windows' FALSE + ERROR_PIPE_CONNECTED, which counts as success), false when it waited.
    /// Errors: ERROR_NO_DATA (the client has closed; disconnect first), ERROR_PIPE_LISTENING
    /// (PIPE_NOWAIT and no client yet).
    bool connect();
    bool connect(std::error_code& ec) noexcept;

    /// DisconnectNamedPipe: drops the client and all unread data both ways; the client's next
    /// I/O fails with ERROR_PIPE_NOT_CONNECTED. Call connect() to serve the next client.
    void disconnect();
    void disconnect(std::error_code& ec) noexcept;

    /// Current state of this instance as seen from the server.
    instance_state current_state() const noexcept;

    /// Uid of the connected client (kernel-attested), if any.
    std::optional<uid_t> client_uid() const noexcept;

    /// The connected client's verified identity and the impersonation it allows; empty when no
    /// client is connected. The safer alternative to impersonation: check the value.
    std::optional<npipe::client_identity> client_identity() const;

    /// ImpersonateNamedPipeClient: the calling thread - only it - acts as the connected client
    /// (its uid, gid and groups) until revert_to_self(). Needs a client that allowed
    /// impersonation or delegation, something read from it first (as on Windows), and
    /// CAP_SETUID + CAP_SETGID in this process (a client with our own uid and gid needs none).
    /// Errors: ERROR_CANNOT_IMPERSONATE (any of those missing; the thread is left as it was).
    /// A thread started while impersonating inherits the client's identity on Linux; the Win32
    /// CreateThread starts it as the process instead, as Windows does.
    void impersonate_client();
    void impersonate_client(std::error_code& ec) noexcept;

private:
    server_instance() noexcept;
    friend class detail::server_impl;
};

/// The client end of a named pipe (CreateFile on a pipe name).
class NPIPE_API client : public pipe_end_base {
public:
    /// CreateFile. Errors: ERROR_FILE_NOT_FOUND (no such pipe), ERROR_PIPE_BUSY (no instance
    /// listening), ERROR_ACCESS_DENIED (access does not fit the pipe's direction),
    /// ERROR_INVALID_NAME, ERROR_SERVICE_NOT_ACTIVE (no broker and autostart off).
    static client open(std::string_view name, const client_options& options = {});
    static client open(std::string_view name, const client_options& options,
                       std::error_code& ec) noexcept;

    client(client&&) noexcept;
    client& operator=(client&&) noexcept;
    ~client();

    /// The server cut this client off (DisconnectNamedPipe): every call on it fails with
    /// ERROR_PIPE_NOT_CONNECTED from now on. (A server that closed instead leaves its data to be
    /// read, then ERROR_BROKEN_PIPE.) Safe to call from any thread, during I/O too.
    bool disconnected() const noexcept;

private:
    client() noexcept;
    friend class async_operation; // an asynchronous open hands over its end
};

/// RevertToSelf: the calling thread stops impersonating (nothing happens when it does not).
NPIPE_API void revert_to_self();
NPIPE_API void revert_to_self(std::error_code& ec) noexcept;
/// Whether the calling thread impersonates a client.
NPIPE_API bool is_impersonating() noexcept;

/// WaitNamedPipe: waits until an instance of the pipe is listening. `timeout` may be
/// use_default_wait (the pipe's default) or wait_forever. Errors: ERROR_FILE_NOT_FOUND at once
/// when the pipe does not exist (or goes away while waiting), ERROR_SEM_TIMEOUT.
NPIPE_API void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout,
                               const endpoint& where = {});
NPIPE_API void wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout,
                               const endpoint& where, std::error_code& ec) noexcept;

/// CallNamedPipe: wait, open, message read mode, transact, close.
NPIPE_API read_result call_named_pipe(std::string_view name, std::span<const std::byte> request,
                                      std::span<std::byte> reply,
                                      std::chrono::milliseconds timeout,
                                      const endpoint& where = {});
NPIPE_API read_result call_named_pipe(std::string_view name, std::span<const std::byte> request,
                                      std::span<std::byte> reply,
                                      std::chrono::milliseconds timeout, const endpoint& where,
                                      std::error_code& ec) noexcept;

} // namespace npipe
