// protocol/messages.hpp - the library <-> broker wire protocol, shared by both sides.
//
// A frame is an 8-byte header (magic "NP", version, type, body length, little-endian) and a
// body: the message's fields in the order protocol/fields.hpp declares them. Requests to the
// broker are at most max_request_body bytes; replies at most max_reply_body (frame_reader.hpp
// reassembles frames as they arrive). A frame with a wrong magic, version or length, or a body
// that does not decode exactly, ends the connection: the peer is either broken or hostile.
//
// One connection carries one conversation:
//   client:  open -> opened (+ the instance's shared page) | error; on success the same
//            connection is handed to the server and becomes the pipe's data connection.
//            The broker replies to the client before it pushes the connection to the server,
//            so the reply precedes the server's first byte on that connection.
//   server:  create_instance (+ shared page) -> created | error; the connection then stays as
//            the instance's link: listen (-> listening, when the instance already listened),
//            disconnect (-> disconnected, when the instance was listening) from the server,
//            client_arrived (+ the data connection) pushed by the broker. Because the
//            broker handles an open in one step, a client whose open has returned is always
//            pushed before the acknowledgement of any later listen: that is how the server
//            knows exactly whether a client is there.
//            After a broker restart the server sends create_instance again with `reregister`
//            set: the instance's state, generation and pipe id, its page and, when a client is
//            connected, the data connection (so the broker learns that client from the kernel).
//   others:  wait -> ok | error;  query / list -> pipe_list;  status -> broker_status;  stop -> ok;
//            get_security / set_security -> security | error (by name and pipe id, so a pipe
//            that replaced the one a handle belongs to is never touched);
//            monitor -> event... (and events_lost when the reader fell behind the ring), then,
//            with `follow`, every new event as it happens, until the reader hangs up.
#pragma once

#include "protocol/codec.hpp"

#include <npipe/namespace.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace npipe::protocol {

inline constexpr std::uint16_t magic = 0x504E; // "NP"
// 2: security descriptors, SQOS, identities; 3: pipe ids, re-registration, security changes;
// 4: the descriptor-bytes limit in the status; 5: a further instance takes the pipe's type,
// limit and timeout (created_reply says them), buffer sizes are each instance's own; 6: a pipe
// exported to SMB clients (create_instance_request), a client that came through Samba
// (client_arrived_push: its messages carry Samba's 16-bit lengths); 7: who a remote client is
// (client_arrived_push: account, domain, computer, address, port, token SIDs; instance_record:
// the remote client's account and address, for `npipe list`)
inline constexpr std::uint8_t version = 7;
inline constexpr std::size_t header_size = 8;
inline constexpr std::size_t max_request_body = 64 * 1024;
inline constexpr std::size_t max_reply_body = 16 * 1024 * 1024;
inline constexpr std::size_t max_groups = 65535; // what a 16-bit count carries (NGROUPS_MAX is 65536)

enum class message_type : std::uint8_t {
    create_instance = 1,
    open = 2,
    wait = 3,
    listen = 4,
    disconnect = 5,
    query = 6,
    list = 7,
    status = 8,
    stop = 9,
    get_security = 10,
    set_security = 11,
    monitor = 12,

    ok = 64,
    error = 65,
    created = 66,
    opened = 67,
    client_arrived = 68,
    pipe_list = 69,
    broker_status = 70,
    listening = 71,    // acknowledges listen: every client pushed before it came first
    disconnected = 72, // acknowledges disconnect: no client can arrive after it
    security = 73,     // a pipe's security descriptor (SDDL)
    event = 74,        // one event (monitor)
    events_lost = 75,  // events the reader missed: the ring overwrote them first
    events_end = 76,   // everything retained was sent and the reader does not follow
};

struct frame_header {
    message_type type{};
    std::uint32_t length = 0;
};

enum class header_problem { none, bad_magic, bad_version, too_long };

/// Decodes a header; `max_body` is the limit for this direction.
header_problem decode_header(std::span<const std::byte, header_size> raw, std::size_t max_body,
                             frame_header& out) noexcept;

// ---- bodies ----------------------------------------------------------------------------------

struct create_instance_request {
    std::string name; // full name as the caller spelled it
    std::uint8_t direction = 3;
    std::uint8_t type = 0;
    bool reject_remote = false;
    bool first_instance = false;
    std::uint16_t max_instances = 255;
    std::uint32_t out_buffer_size = 0;
    std::uint32_t in_buffer_size = 0;
    std::uint32_t default_timeout_ms = 0;
    std::string sddl;                 // the pipe's security descriptor; empty = npipe's default
    bool windows_default_acl = false; // the default plus Everyone and Anonymous read
    // Re-registration after a broker restart (descriptors: the page, then the data connection
    // when `state` is connected or closing).
    bool reregister = false;
    std::uint8_t state = 0;       // npipe::instance_state
    std::uint64_t generation = 0; // connections the instance has served
    std::uint64_t pipe_id = 0;    // the pipe the instance belonged to
    bool message_read_mode = false; // the instance reads messages (a byte pipe refuses it)
    bool exported = false; // SMB clients may open the pipe through Samba (the first instance decides)

    friend bool operator==(const create_instance_request&, const create_instance_request&) = default;
};

struct created_reply {
    std::uint64_t instance_id = 0;
    std::uint64_t pipe_id = 0; // random, unique, kept across broker restarts
    std::int32_t broker_pid = 0;      // who answered: a server re-registers when this process is gone
    std::uint64_t broker_start = 0;   // its start time (pid + start time name one process for good)
    // What the pipe is, as its first instance made it: a further instance that asked for
    // another type, limit or default timeout has these (as on Windows), not its own.
    std::uint8_t type = 0;
    std::uint16_t max_instances = 0;
    std::uint32_t default_timeout_ms = 0;

    friend bool operator==(const created_reply&, const created_reply&) = default;
};

/// Impersonation levels a client allows (SECURITY_SQOS_PRESENT flags of CreateFile).
enum class impersonation_level : std::uint8_t { anonymous = 0, identification = 1, impersonation = 2, delegation = 3 };

struct open_request {
    std::string name;
    bool read = true;
    bool write = true;
    std::uint32_t desired_access = 0; // the whole access mask asked for (GENERIC_*, FILE_*)
    std::uint8_t impersonation = 1;   // impersonation_level; npipe's default: identification
    bool effective_only = false;
    bool context_tracking = false;

    friend bool operator==(const open_request&, const open_request&) = default;
};

struct opened_reply {
    std::int32_t server_pid = 0;
    std::uint8_t type = 0;
    std::uint8_t direction = 3;
    std::uint16_t max_instances = 0;
    std::uint32_t out_buffer_size = 0;
    std::uint32_t in_buffer_size = 0;
    std::uint64_t generation = 0;
    std::uint64_t pipe_id = 0;
    std::uint32_t granted_access = 0; // what the DACL granted (MAXIMUM_ALLOWED resolved)

    friend bool operator==(const opened_reply&, const opened_reply&) = default;
};

/// A SID in its canonical text form (S-1-5-21-...); the decoder refuses any other spelling.
struct sid_text {
    std::string text;

    friend bool operator==(const sid_text&, const sid_text&) = default;
};
/// `text` is a SID written as sid::to_string() writes it.
bool canonical_sid(const std::string& text);

struct client_arrived_push {
    std::uint64_t generation = 0;
    std::int32_t pid = 0;
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups{}; // supplementary groups (kernel-attested)
    std::string label{};                 // LSM label, empty without one
    bool anonymous = false;              // an unmapped user-namespace peer
    std::uint8_t impersonation = 1;      // what the client allows (impersonation_level)
    bool effective_only = false;
    /// Came through Samba's smbd (an SMB client): in message mode each message on the data
    /// connection is a 16-bit little-endian length and its bytes (protocol/samba_npa.hpp).
    bool remote = false;
    // A remote client as smbd described it; all empty for a local client (the decoder refuses
    // anything else).
    std::string account{};  // the account name, without the domain
    std::string domain{};   // its domain (Samba's own name for its local users)
    std::string computer{}; // the client computer's name (GetNamedPipeClientComputerName)
    std::string address{};  // its IP address as smbd saw it
    std::uint16_t port = 0;
    std::vector<sid_text> sids{}; // the token SIDs the broker keeps (broker/samba_identity.hpp)

    friend bool operator==(const client_arrived_push&, const client_arrived_push&) = default;
};

struct wait_request {
    std::string name;
    std::uint32_t timeout_ms = 0; // 0 = the pipe's default, 0xffffffff = forever

    friend bool operator==(const wait_request&, const wait_request&) = default;
};

struct name_request { // query
    std::string name;

    friend bool operator==(const name_request&, const name_request&) = default;
};

/// SECURITY_INFORMATION bits (Windows' values) a get_security / set_security names.
namespace security_parts {
inline constexpr std::uint32_t owner = 0x1;
inline constexpr std::uint32_t group = 0x2;
inline constexpr std::uint32_t dacl = 0x4;
inline constexpr std::uint32_t sacl = 0x8;
} // namespace security_parts

struct get_security_request {
    std::string name;
    std::uint64_t pipe_id = 0;

    friend bool operator==(const get_security_request&, const get_security_request&) = default;
};

struct set_security_request {
    std::string name;
    std::uint64_t pipe_id = 0;
    std::uint32_t parts = 0; // security_parts: which parts of `sddl` replace the pipe's
    std::string sddl;

    friend bool operator==(const set_security_request&, const set_security_request&) = default;
};

struct security_reply {
    std::string sddl; // the whole descriptor (after the change, for set_security)

    friend bool operator==(const security_reply&, const security_reply&) = default;
};

/// The server's counts for the connection it ends (DisconnectNamedPipe, or closing the instance
/// with a client): what the client sent and what it was sent.
struct disconnect_request {
    std::uint64_t bytes_from_client = 0;
    std::uint64_t bytes_to_client = 0;
    bool client_closed = false; // the client had closed its end first (as the server saw it)
    bool server_closing = false; // sent as the instance closes, not by DisconnectNamedPipe

    friend bool operator==(const disconnect_request&, const disconnect_request&) = default;
};

struct monitor_request {
    bool follow = false;
    std::int64_t since_unix_ms = 0; // only events at or after this time; 0 = all retained

    friend bool operator==(const monitor_request&, const monitor_request&) = default;
};

struct event_push {
    std::uint64_t seq = 0;
    std::string json; // one event, one line

    friend bool operator==(const event_push&, const event_push&) = default;
};

struct events_lost_push {
    std::uint64_t count = 0;

    friend bool operator==(const events_lost_push&, const events_lost_push&) = default;
};

struct error_reply {
    std::uint32_t code = 0; // a Win32 error number

    friend bool operator==(const error_reply&, const error_reply&) = default;
};

struct instance_record {
    std::uint8_t state = 0;
    std::int32_t server_pid = 0;
    std::int32_t client_pid = 0;       // 0 = none
    std::uint32_t client_uid = 0xFFFFFFFF; // = none
    std::uint32_t server_uid = 0;
    std::uint32_t out_buffer_size = 0; // each instance's own, as its server asked
    std::uint32_t in_buffer_size = 0;
    std::string client_account{}; // a remote client's DOMAIN\account; empty for local ones
    std::string client_address{}; // a remote client's address:port ([v6]:port); empty for local ones

    friend bool operator==(const instance_record&, const instance_record&) = default;
};

struct pipe_record {
    std::string name;
    std::uint8_t type = 0;
    std::uint8_t direction = 3;
    std::uint16_t max_instances = 0;
    std::uint32_t owner_uid = 0;
    std::uint32_t out_buffer_size = 0; // the instance that made the pipe asked for these
    std::uint32_t in_buffer_size = 0;
    std::uint32_t default_timeout_ms = 0;
    bool reject_remote = false;
    std::vector<instance_record> instances{};
    std::string owner_sid{}; // S-1-22-1-<uid>
    std::string sddl{};      // the pipe's security descriptor
    bool remote = false;     // remote clients may open it (broker and pipe both allow it)

    friend bool operator==(const pipe_record&, const pipe_record&) = default;
};

struct pipe_list_reply {
    std::vector<pipe_record> pipes;

    friend bool operator==(const pipe_list_reply&, const pipe_list_reply&) = default;
};

/// The status reply's body is the public struct itself: its fields travel in the order
/// npipe::for_each_field lists them (protocol/fields.hpp), so the status is declared once.
using broker_status_reply = npipe::broker_status;

struct empty_body {};

// encode(): a whole frame, header included. decode(): the body only; false = malformed.
std::vector<std::byte> encode(message_type type, const empty_body&);
std::vector<std::byte> encode(const create_instance_request&);
std::vector<std::byte> encode(const created_reply&);
std::vector<std::byte> encode(const open_request&);
std::vector<std::byte> encode(const opened_reply&);
std::vector<std::byte> encode(const client_arrived_push&);
std::vector<std::byte> encode(const wait_request&);
std::vector<std::byte> encode(const name_request&);
std::vector<std::byte> encode(const error_reply&);
std::vector<std::byte> encode(const get_security_request&);
std::vector<std::byte> encode(const set_security_request&);
std::vector<std::byte> encode(const security_reply&);
std::vector<std::byte> encode(const disconnect_request&);
std::vector<std::byte> encode(const monitor_request&);
std::vector<std::byte> encode(const event_push&);
std::vector<std::byte> encode(const events_lost_push&);
std::vector<std::byte> encode(const pipe_list_reply&);
std::vector<std::byte> encode(const broker_status_reply&);

bool decode(std::span<const std::byte> body, create_instance_request& out);
bool decode(std::span<const std::byte> body, created_reply& out);
bool decode(std::span<const std::byte> body, open_request& out);
bool decode(std::span<const std::byte> body, opened_reply& out);
bool decode(std::span<const std::byte> body, client_arrived_push& out);
bool decode(std::span<const std::byte> body, wait_request& out);
bool decode(std::span<const std::byte> body, name_request& out);
bool decode(std::span<const std::byte> body, error_reply& out);
bool decode(std::span<const std::byte> body, get_security_request& out);
bool decode(std::span<const std::byte> body, set_security_request& out);
bool decode(std::span<const std::byte> body, security_reply& out);
bool decode(std::span<const std::byte> body, disconnect_request& out);
bool decode(std::span<const std::byte> body, monitor_request& out);
bool decode(std::span<const std::byte> body, event_push& out);
bool decode(std::span<const std::byte> body, events_lost_push& out);
bool decode(std::span<const std::byte> body, pipe_list_reply& out);
bool decode(std::span<const std::byte> body, broker_status_reply& out);

} // namespace npipe::protocol
