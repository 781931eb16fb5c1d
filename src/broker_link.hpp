// broker_link.hpp - the library's side of the control plane: reach the broker (starting one
// when allowed) and make one request/reply call. Every exchange with the broker goes through
// broker_call() (or broker_exchange() where a refusal and a lost broker are handled apart).
#pragma once

#include "frame_receiver.hpp"
#include "os/fd.hpp"
#include "protocol/messages.hpp"
#include "win32_errors.hpp"

#include <npipe/types.hpp>

#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace npipe::detail {

/// How a call reaches the broker.
enum class broker_access {
    /// Looking at what exists (list, status, security): no broker is started;
    /// ERROR_SERVICE_NOT_ACTIVE when none runs.
    query,
    /// Looking a pipe up (open, wait): no broker is started; with none running, the pipe does
    /// not exist (ERROR_FILE_NOT_FOUND) unless autostart is off (then ERROR_SERVICE_NOT_ACTIVE).
    lookup,
    /// Creating (an instance): a user-scope broker is started when none answers.
    create,
};

/// A connection to the broker for `where`. ERROR_SERVICE_NOT_ACTIVE when there is none (and
/// none may be started); ERROR_ACCESS_DENIED when the runtime directory fails its safety checks.
os::fd connect_broker(const endpoint& where, broker_access how, std::error_code& ec);

/// Sends one frame (and descriptors). A broker that hung up may have said why first: its error
/// reply is the result then, else ERROR_SERVICE_NOT_ACTIVE.
std::error_code send_frame(int sock, const std::vector<std::byte>& bytes, std::span<const int> fds = {});

/// Reads exactly one frame (a frame_receiver run to its end on this thread). End of stream:
/// ERROR_SERVICE_NOT_ACTIVE (the broker went away). `timeout_ms` < 0 waits as long as it takes;
/// running out of time is ERROR_SEM_TIMEOUT.
bool receive_frame(int sock, frame& out, std::size_t max_fds, std::error_code& ec, int timeout_ms = -1);

/// Turns an `error` reply into its Win32 code; any other unexpected frame is ERROR_INVALID_DATA.
std::error_code reply_error(const frame& f);

// ---- typed calls ---------------------------------------------------------------------------

/// The reply `ok` (its body carries nothing).
struct ok_reply {};

/// The frame type each reply arrives as.
template <class Reply> inline constexpr protocol::message_type reply_type = Reply::unknown_reply_type;
template <> inline constexpr protocol::message_type reply_type<ok_reply> = protocol::message_type::ok;
template <> inline constexpr protocol::message_type reply_type<protocol::created_reply> = protocol::message_type::created;
template <> inline constexpr protocol::message_type reply_type<protocol::opened_reply> = protocol::message_type::opened;
template <> inline constexpr protocol::message_type reply_type<protocol::pipe_list_reply> = protocol::message_type::pipe_list;
template <> inline constexpr protocol::message_type reply_type<protocol::broker_status_reply> = protocol::message_type::broker_status;
template <> inline constexpr protocol::message_type reply_type<protocol::security_reply> = protocol::message_type::security;

inline bool decode_body(std::span<const std::byte>, ok_reply&) noexcept { return true; }
template <class Reply> bool decode_body(std::span<const std::byte> body, Reply& out) { return protocol::decode(body, out); }

/// Decodes `f` as a `Reply`. An `error` reply becomes its Win32 code, anything else (another
/// type, a body that does not decode) ERROR_INVALID_DATA.
template <class Reply>
bool decode_reply(const frame& f, Reply& out, std::error_code& ec) {
    if (f.type == reply_type<Reply> && decode_body(f.body, out)) return true;
    ec = reply_error(f);
    return false;
}

/// A request's frame: a message struct, or a message type whose body is empty (list, status,
/// stop, listen).
inline std::vector<std::byte> encode_request(protocol::message_type type) { return protocol::encode(type, {}); }
template <class Request> std::vector<std::byte> encode_request(const Request& request) { return protocol::encode(request); }

/// What travels with a call besides the frames, and how long the reply may take.
struct call_options {
    std::span<const int> send_fds{};          ///< attached to the request
    std::vector<os::fd>* received = nullptr;  ///< where the reply's descriptors go
    std::size_t expect_fds = 0;               ///< a successful reply brings exactly this many
    int timeout_ms = -1;                      ///< for the reply; < 0: as long as it takes
};

/// How a call ended.
enum class call_status {
    replied, ///< the reply expected, decoded
    refused, ///< the broker answered, with an error or something unexpected (ec says which)
    failed,  ///< no answer: the request or the reply did not get through (ec says why)
};

/// One request, one reply on a connection to the broker.
call_status broker_exchange(int sock, const std::vector<std::byte>& request, frame& reply,
                            std::error_code& ec, const call_options& options = {});

template <class Request, class Reply>
call_status broker_exchange(int sock, const Request& request, Reply& reply, std::error_code& ec,
                            const call_options& options = {}) {
    frame f;
    if (auto s = broker_exchange(sock, encode_request(request), f, ec, options); s != call_status::replied) return s;
    if (!decode_reply(f, reply, ec)) return call_status::refused;
    if (f.fds.size() != options.expect_fds) {
        ec = win32(win32_error::invalid_data);
        return call_status::refused;
    }
    if (options.received) *options.received = std::move(f.fds);
    return call_status::replied;
}

/// One request, one reply: true with `reply` decoded, else false with the Win32 error.
template <class Request, class Reply>
bool broker_call(int sock, const Request& request, Reply& reply, std::error_code& ec, const call_options& options = {}) {
    return broker_exchange(sock, request, reply, ec, options) == call_status::replied;
}

/// Connects as `how` says, then one call. Returns the connection (an open's becomes the pipe's
/// data connection); an empty one when the call failed.
template <class Request, class Reply>
os::fd broker_call(const endpoint& where, broker_access how, const Request& request, Reply& reply,
                   std::error_code& ec, const call_options& options = {}) {
    os::fd sock = connect_broker(where, how, ec);
    if (ec) return {};
    if (!broker_call(sock.get(), request, reply, ec, options)) return {};
    return sock;
}

/// One request whose reply may take a while (a wait; an open driven by readiness), as steps:
/// start() connects and sends (the broker takes both at once), reply() takes what has come of
/// the reply without waiting.
class broker_request {
public:
    bool start(const endpoint& where, broker_access how, const std::vector<std::byte>& request,
               std::error_code& ec) noexcept;
    /// True with `out` when the whole reply is there; false with `ec` clear: wait until fd() is
    /// readable; false with `ec`: no reply will come.
    /// A broker that died with the request unanswered (it was in the dying broker's queue) is
    /// asked again once: the next broker - started here in user scope - answers it.
    bool reply(frame& out, std::size_t max_fds, std::error_code& ec) noexcept;
    bool started() const noexcept { return sock_.valid(); }
    int fd() const noexcept { return sock_.get(); }
    /// The connection, once the reply is in (an open's is the pipe's data connection).
    os::fd take_connection() noexcept { return std::move(sock_); }
    void close() noexcept;

private:
    bool send(std::error_code& ec) noexcept;

    os::fd sock_;
    frame_receiver rx_;
    endpoint where_;
    broker_access how_ = broker_access::lookup;
    std::vector<std::byte> request_;
    bool asked_again_ = false;
};

/// The number of instances of `name` (for GetNamedPipeHandleState).
unsigned count_instances(const std::string& name, const endpoint& where, std::error_code& ec);

/// Path of the npiped to start: NPIPE_BROKER, else beside this library (../bin/npiped), else the
/// configured install directory.
std::string broker_program();

} // namespace npipe::detail
