// smb/connection.hpp - one SMB2/3 connection: a TCP socket to (host, port), one authenticated
// session on it, the tree of IPC$, and the pipes opened there by this process.
//
// Threads. One I/O thread per connection (io_loop.cpp) reads every message from the server,
// decrypts and checks it, counts the credits it grants, and hands each final response to the
// request that waits for it: a caller blocked in call(), or the handler given to submit(),
// which runs on the I/O thread. The same thread moves the data of this connection's pipes
// (pipe_bridge.hpp). Sending happens on whichever thread asks, one message at a time under
// send_mutex_, so message ids, credits, signing and encryption stay in order.
//
// Security. The session is signed unless it is encrypted: every request after SESSION_SETUP
// is signed (or encrypted, when the session or the share requires it), and every response
// must be signed (or encrypted) and must check, or the connection is dropped. Interim
// STATUS_PENDING replies carry no data and are accepted unsigned.
#pragma once

#include "os/fd.hpp"
#include "protocol/smb2_messages.hpp"
#include "smb/gss_auth.hpp"
#include "smb/message_security.hpp"

#include <poll.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

namespace npipe::smb {

namespace smb2 = protocol::smb2;

class pipe_bridge;

struct connect_options {
    std::string host;
    std::uint16_t port = 445;
    std::optional<explicit_credentials> credentials;
    bool allow_guest = false; ///< guest and anonymous sessions are refused unless this is set
    int timeout_ms = 30000;   ///< connecting, and each response of the handshake
};

/// A final response: its header and the whole message (decrypted, signature checked).
struct response {
    smb2::header h;
    byte_vector message;
};

class connection : public std::enable_shared_from_this<connection> {
public:
    /// Connects, negotiates, authenticates and connects to IPC$ (session_setup.cpp). Errors are
    /// Win32 codes: ERROR_BAD_NETPATH (no such host, nothing listening, not SMB2),
    /// ERROR_LOGON_FAILURE, ERROR_ACCESS_DENIED (a guest session refused), ERROR_BAD_NET_NAME.
    static std::shared_ptr<connection> establish(const connect_options& options, std::error_code& ec);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// A request on the session and IPC$, waited for up to `timeout_ms` (< 0: for ever). The
    /// response whatever its status (the caller reads h.status); std::nullopt with `ec` set when
    /// the connection failed or the time ran out (the request is then cancelled). `sent`: a copy
    /// of the request as built, before signing (the pre-authentication hash takes it).
    std::optional<response> call(smb2::command cmd, const byte_vector& body, std::error_code& ec,
                                 int timeout_ms = -1, byte_vector* sent = nullptr);

    /// A request whose final response (or nullptr: the connection failed) goes to `done` on the
    /// I/O thread. Returns the message id (for cancel); 0 when the connection has failed, or,
    /// on the I/O thread, when no credit is left now (the caller tries again later).
    using handler = std::function<void(const response*)>;
    std::uint64_t submit(smb2::command cmd, const byte_vector& body, handler done);
    /// SMB2 CANCEL of a request still waiting (best effort: its response still comes).
    void cancel(std::uint64_t message_id);

    /// Hands a pipe's bridge to the I/O thread.
    void add_bridge(std::unique_ptr<pipe_bridge> bridge);

    bool failed() const noexcept { return failed_.load(); }
    std::uint32_t max_read() const noexcept { return max_read_; }
    std::uint32_t max_write() const noexcept { return max_write_; }
    std::uint32_t max_transact() const noexcept { return max_transact_; }
    std::uint16_t dialect() const noexcept { return keys_.dialect; }
    bool encrypted() const noexcept { return encrypt_.load(); }
    bool signing() const noexcept { return sign_.load(); }
    const std::string& host() const noexcept { return host_; }

private:
    friend class handshake;
    friend void stop_all_connections() noexcept;
    connection() = default;

    struct pending {
        handler done;                      ///< submit()
        std::optional<response> result;    ///< call(): filled by the I/O thread
        bool finished = false;
        std::uint64_t async_id = 0;        ///< from an interim response
    };

    // Sending (any thread).
    std::uint64_t send_request(smb2::command cmd, const byte_vector& body, std::shared_ptr<pending> p,
                               std::error_code& ec, byte_vector* sent = nullptr);
    std::error_code write_message(const byte_vector& message);
    bool protect(byte_vector& message, const smb2::header& h);

    // The I/O thread (io_loop.cpp). It holds the connection alive while it runs, and ends when
    // the connection fails or has had no pipe for a while (idle_ms).
    static constexpr int idle_ms = 60000;
    void start_io();
    void io_main();
    bool poll_once(std::vector<pollfd>& fds);
    bool read_messages();
    bool take_message(byte_vector message);
    bool accept_response(const byte_vector& message, bool was_encrypted);
    void fail_all(std::error_code why);

    std::string host_;
    os::fd sock_;
    std::mutex send_mutex_;

    std::mutex mu_; ///< guards what follows up to the I/O thread's members
    std::condition_variable cv_;
    std::uint64_t next_message_id_ = 0;
    std::uint32_t credits_ = 1;
    std::unordered_map<std::uint64_t, std::shared_ptr<pending>> pending_;
    std::vector<std::unique_ptr<pipe_bridge>> arriving_;
    std::error_code failure_;
    std::atomic<bool> failed_{false};
    std::atomic<bool> stopping_{false};

    // The session (fixed once established; read by both sides afterwards).
    std::uint64_t session_id_ = 0;
    std::uint32_t tree_id_ = 0;
    session_keys keys_;
    std::atomic<bool> secured_{false}; ///< keys_ in force: sign/encrypt and check from now on
    std::atomic<bool> sign_{false}, encrypt_{false};
    std::uint32_t max_read_ = 65536, max_write_ = 65536, max_transact_ = 65536;
    bool large_mtu_ = false;

    // The I/O thread's own.
    std::thread io_;
    std::atomic<std::thread::id> io_id_{}; ///< never waits for credits: it is what brings them
    os::fd wake_;
    byte_vector inbox_; ///< bytes read from the socket, not yet a whole message
    std::vector<std::unique_ptr<pipe_bridge>> bridges_;
};

/// At exit (registered with the first connection, so it runs before OpenSSL's own clean-up):
/// stops every connection's I/O thread, waits for them (a few seconds at most), and releases
/// the cryptography. An I/O thread left running would sign with a library already torn down.
void stop_all_connections() noexcept;

/// The answer to FSCTL_VALIDATE_NEGOTIATE_INFO (a whole IOCTL response, its status `status`)
/// judged as MS-SMB2 3.2.5.14.12 says, against what the server's NEGOTIATE response said:
/// success whose output repeats `negotiated` (capabilities, server GUID, security mode,
/// dialect) is {}; so is another error status (a server without the FSCTL: it is signed, as
/// every response is, so it was not forged); STATUS_ACCESS_DENIED, a difference or an output that
/// does not decode is ERROR_ACCESS_DENIED: the negotiation was tampered with, the connection
/// must go.
std::error_code judge_validate_negotiate(std::uint32_t status, std::span<const std::byte> message,
                                         const smb2::negotiate_response& negotiated);

/// The connection for (host, port, user), shared by the process's pipes: an established one
/// that has not failed, or a new one.
std::shared_ptr<connection> shared_connection(const connect_options& options, std::error_code& ec);

} // namespace npipe::smb
