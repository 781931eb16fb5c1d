// protocol/samba_npa.hpp - Samba's named_pipe_auth handshake ("NPAM"), the one place that knows
// its wire form.
//
// When an SMB client opens NAME on IPC$, smbd (after authenticating the user) connects to the
// Unix socket <ncalrpc dir>/np/<name in lower case> and sends a request: a 32-bit big-endian
// length of what follows, "NPAM", the level, then the level's structure in NDR (see ndr.hpp):
// the transport, the remote client's and the local server's name, address and port, and the
// session: the user's security token (SIDs), Unix token (uid, gid, groups), account and domain
// names, the session key. The server answers with the same length/magic/level header, the pipe's
// file type, device state and allocation size, and an NTSTATUS; closing the socket instead
// denies the open. After a message-mode reply every message in either direction is a 16-bit
// little-endian length and that many bytes (so at most 65,535 bytes).
//
// Level 7 is what Samba 4.17 (Debian 12) sends; Samba 4.20 and later send level 8, the same
// request but for two structures inside the session (librpc/idl, Samba commits f893cf85cc3,
// 4ef7845b570, da841a80e3b, 14d94460ca1): the security token goes on after its rights mask with
// local, user and device claims, device SIDs and evaluate_claims, and auth_user_info's
// `authenticated` byte became the 32-bit PAC user flags (authenticated: NETLOGON_GUEST clear).
// Both are decoded; a level-8 token carrying claims is refused (claims are not decoded), so such
// an open is denied, never misread. The reply's level must be the request's (smbd checks it).
// (Samba 4.19 also says level 7 with the user flags; it is not told apart from 4.17's.)
//
// Everything here is checked strictly (fuzzed: fuzz/fuzz_samba_npa.cpp): a request that does not
// decode exactly to its last byte is refused whole.
#pragma once

#include <npipe/security.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace npipe::protocol::samba {

inline constexpr std::uint32_t level_samba_4_17 = 7;
inline constexpr std::uint32_t level_samba_4_20 = 8;
/// The largest request taken, its 4-byte length included. A real one is under 1 KiB plus about
/// 28 bytes per group SID; this leaves room for users in thousands of groups.
inline constexpr std::size_t max_request_size = 256 * 1024;
inline constexpr std::size_t max_name_length = 1024; ///< any one string inside
inline constexpr std::size_t max_session_key = 1024;

/// FILE_TYPE_BYTE_MODE_PIPE and FILE_TYPE_MESSAGE_MODE_PIPE.
enum class file_type : std::uint16_t { byte_mode = 1, message_mode = 2 };

/// One end of the SMB connection as smbd saw it.
struct endpoint {
    std::string name;    ///< the host name (client: as it called itself or as resolved)
    std::string address; ///< numeric address
    std::uint16_t port = 0;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

struct unix_token {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups;

    friend bool operator==(const unix_token&, const unix_token&) = default;
};

/// The session smbd authenticated: what is absent on the wire is absent here.
struct session {
    std::optional<std::vector<sid>> token_sids; ///< the user's security token
    std::uint64_t privilege_mask = 0;
    std::uint32_t rights_mask = 0;
    std::optional<unix_token> unix_ids;
    std::string account_name; ///< empty when smbd sent none
    std::string domain_name;
    std::string unix_name;
    bool authenticated = false;
    std::vector<std::byte> session_key;

    friend bool operator==(const session&, const session&) = default;
};

struct request {
    std::uint32_t level = level_samba_4_17;
    std::uint8_t transport = 1; ///< NCACN_NP
    endpoint remote_client;
    endpoint local_server;
    std::optional<session> session_info;

    friend bool operator==(const request&, const request&) = default;
};

/// The size of the whole request whose first four bytes are `header` (4 + the length they
/// say); nullopt when that is more than max_request_size or less than the smallest request.
std::optional<std::size_t> request_size(std::span<const std::byte, 4> header) noexcept;

/// Decodes a whole request (its 4-byte length first). nullopt, with the reason in `why` when
/// given, unless every byte is exactly where level 7 or 8 puts it.
std::optional<request> decode_request(std::span<const std::byte> whole, std::string* why = nullptr);

/// The request as smbd writes it at `r.level` (tests and fuzz seeds make requests with it; a
/// level-8 token carries no claims and no device SIDs).
std::vector<std::byte> encode_request(const request& r);

struct reply {
    std::uint32_t level = level_samba_4_17;
    file_type type = file_type::byte_mode;
    std::uint16_t device_state = 0; ///< PIPE_STATE bits as Windows reports them to FSCTLs
    std::uint64_t allocation_size = 0;
    /// NTSTATUS. smbd 4.17 ignores it (a reply with STATUS_PIPE_NOT_AVAILABLE still opens:
    /// checked with impacket): only closing the socket instead of replying refuses an open.
    std::uint32_t status = 0;

    friend bool operator==(const reply&, const reply&) = default;
};

inline constexpr std::size_t reply_size = 36;
std::vector<std::byte> encode_reply(const reply& r);
std::optional<reply> decode_reply(std::span<const std::byte> whole);

/// Message mode: the 16-bit length before each message (either direction).
inline constexpr std::size_t message_header_size = 2;
inline constexpr std::size_t max_message_size = 0xFFFF;

} // namespace npipe::protocol::samba
