// protocol/smb2_messages.hpp - the bodies of the SMB2 requests npipe's pipe client sends and of
// the responses it reads (MS-SMB2 2.2.3-2.2.32): NEGOTIATE with the 3.1.1 negotiate contexts,
// SESSION_SETUP, LOGOFF, TREE_CONNECT, CREATE, CLOSE, READ, WRITE, IOCTL (the pipe FSCTLs),
// SET_INFO FilePipeInformation, CANCEL, and the ERROR response (which an interim STATUS_PENDING
// reply also has).
//
// encode_*: the body, to follow a 64-byte header (offsets in it count from the header's start).
// decode_*: a whole response (header included). Strict: the StructureSize must be the one the
// specification gives, every (offset, length) pair must name bytes inside the message after the
// fixed part, counts must fit what is there. A response that breaks any rule is std::nullopt.
#pragma once

#include "protocol/smb2_header.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace npipe::protocol::smb2 {

using bytes = std::vector<std::byte>;

namespace dialect {
constexpr std::uint16_t smb202 = 0x0202, smb210 = 0x0210, smb300 = 0x0300, smb302 = 0x0302, smb311 = 0x0311;
}
namespace security_mode {
constexpr std::uint16_t signing_enabled = 1, signing_required = 2;
}
namespace capability {
constexpr std::uint32_t dfs = 0x1, leasing = 0x2, large_mtu = 0x4, multi_channel = 0x8,
                        persistent_handles = 0x10, directory_leasing = 0x20, encryption = 0x40;
}
namespace hash_algorithm {
constexpr std::uint16_t sha512 = 1;
}
namespace cipher {
constexpr std::uint16_t none = 0, aes128_ccm = 1, aes128_gcm = 2, aes256_ccm = 3, aes256_gcm = 4;
}
namespace signing_algorithm {
constexpr std::uint16_t hmac_sha256 = 0, aes_cmac = 1, aes_gmac = 2;
}
namespace context_type {
constexpr std::uint16_t preauth_integrity = 1, encryption = 2, signing = 8;
}
namespace session_flag {
constexpr std::uint16_t is_guest = 1, is_null = 2, encrypt_data = 4;
}
namespace share_type {
constexpr std::uint8_t disk = 1, pipe = 2, print = 3;
}
namespace share_flag {
constexpr std::uint32_t encrypt_data = 0x8000;
}
namespace fsctl {
constexpr std::uint32_t pipe_peek = 0x0011400C, pipe_transceive = 0x0011C017, pipe_wait = 0x00110018,
                        validate_negotiate_info = 0x00140204;
}
constexpr std::uint32_t ioctl_is_fsctl = 1;
constexpr std::uint8_t info_file = 1;
constexpr std::uint8_t file_pipe_information = 23;

struct file_id {
    std::uint64_t persistent = 0, volatile_part = 0;
    bool operator==(const file_id&) const = default;
};
/// FSCTL_PIPE_WAIT names no open: the FileId is all ones.
constexpr file_id no_file{~0ull, ~0ull};

// ---- NEGOTIATE ---------------------------------------------------------------------------------

struct negotiate_request {
    std::vector<std::uint16_t> dialects;
    std::uint16_t security_mode = security_mode::signing_enabled;
    std::uint32_t capabilities = 0;
    std::array<std::byte, 16> client_guid{};
    // 3.1.1 contexts (sent when dialects has 3.1.1)
    std::array<std::byte, 32> salt{};
    std::vector<std::uint16_t> ciphers;
    std::vector<std::uint16_t> signing_algorithms;
};
bytes encode_negotiate(const negotiate_request& r);

struct negotiate_response {
    std::uint16_t security_mode = 0;
    std::uint16_t dialect = 0;
    std::array<std::byte, 16> server_guid{};
    std::uint32_t capabilities = 0;
    std::uint32_t max_transact = 0, max_read = 0, max_write = 0;
    bytes security_blob;
    // 3.1.1: what the server chose (its contexts; one preauth hash, at most one cipher and one
    // signing algorithm)
    std::uint16_t hash = 0;
    std::uint16_t cipher = cipher::none;
    std::optional<std::uint16_t> signing; ///< absent: the server sent no signing context
};
std::optional<negotiate_response> decode_negotiate(std::span<const std::byte> message);

/// FSCTL_VALIDATE_NEGOTIATE_INFO's input (2.2.31.4): what the client's NEGOTIATE said
/// (capabilities, GUID, security mode, dialects), sent again once the session is signed.
bytes encode_validate_negotiate_input(const negotiate_request& r);
/// Its output (2.2.32.6): what the server's NEGOTIATE response should have said. Exactly 24 bytes.
struct validate_negotiate_output {
    std::uint32_t capabilities = 0;
    std::array<std::byte, 16> server_guid{};
    std::uint16_t security_mode = 0;
    std::uint16_t dialect = 0;
};
inline constexpr std::uint32_t validate_negotiate_output_size = 24;
std::optional<validate_negotiate_output> decode_validate_negotiate_output(std::span<const std::byte> output);

// ---- SESSION_SETUP, LOGOFF, TREE_CONNECT ------------------------------------------------------

struct session_setup_request {
    std::uint8_t security_mode = security_mode::signing_enabled;
    std::uint32_t capabilities = 0;
    std::span<const std::byte> token;
};
bytes encode_session_setup(const session_setup_request& r);

struct session_setup_response {
    std::uint16_t session_flags = 0;
    bytes token;
};
std::optional<session_setup_response> decode_session_setup(std::span<const std::byte> message);

bytes encode_logoff();
bytes encode_tree_disconnect();
bytes encode_cancel();
/// LOGOFF, TREE_DISCONNECT, SET_INFO and the like answer with a 4- or 2-byte body; true when
/// it has the StructureSize given.
bool decode_empty(std::span<const std::byte> message, std::uint16_t structure_size) noexcept;

/// `path` as UTF-16LE ("\\HOST\IPC$").
bytes encode_tree_connect(std::span<const std::byte> path_utf16);
struct tree_connect_response {
    std::uint8_t share_type = 0;
    std::uint32_t share_flags = 0, capabilities = 0, maximal_access = 0;
};
std::optional<tree_connect_response> decode_tree_connect(std::span<const std::byte> message);

// ---- CREATE, CLOSE ------------------------------------------------------------------------------

struct create_request {
    std::uint32_t impersonation_level = 2; ///< 0 Anonymous, 1 Identification, 2 Impersonation, 3 Delegation
    std::uint32_t desired_access = 0;
    std::uint32_t share_access = 3; ///< FILE_SHARE_READ | FILE_SHARE_WRITE
    std::uint32_t disposition = 1;  ///< FILE_OPEN
    std::uint32_t options = 0;
    std::span<const std::byte> name_utf16; ///< the pipe's name on IPC$, without "\pipe\"
};
bytes encode_create(const create_request& r);
struct create_response {
    std::uint32_t create_action = 0;
    std::uint64_t allocation_size = 0, end_of_file = 0;
    std::uint32_t attributes = 0;
    file_id id;
};
std::optional<create_response> decode_create(std::span<const std::byte> message);

bytes encode_close(file_id id);
bool decode_close(std::span<const std::byte> message) noexcept;

// ---- READ, WRITE --------------------------------------------------------------------------------

bytes encode_read(file_id id, std::uint32_t length, std::uint32_t minimum = 0);
/// The data of a READ response, a view into `message` (success or STATUS_BUFFER_OVERFLOW).
std::optional<std::span<const std::byte>> decode_read(std::span<const std::byte> message);

bytes encode_write(file_id id, std::span<const std::byte> data);
/// The count written.
std::optional<std::uint32_t> decode_write(std::span<const std::byte> message);

// ---- IOCTL, SET_INFO ----------------------------------------------------------------------------

struct ioctl_request {
    std::uint32_t code = 0;
    file_id id;
    std::span<const std::byte> input;
    std::uint32_t max_output = 0;
};
bytes encode_ioctl(const ioctl_request& r);
struct ioctl_response {
    std::uint32_t code = 0;
    file_id id;
    std::span<const std::byte> output; ///< a view into the message
};
std::optional<ioctl_response> decode_ioctl(std::span<const std::byte> message);

/// FSCTL_PIPE_WAIT's input (MS-FSCC 2.3.49): `timeout_100ns` absent waits for the pipe's
/// default; the name is UTF-16LE without "\pipe\".
bytes encode_pipe_wait_input(std::span<const std::byte> name_utf16, std::optional<std::int64_t> timeout_100ns);

/// FSCTL_PIPE_PEEK's output (MS-FSCC 2.3.46).
struct pipe_peek_output {
    std::uint32_t state = 0, available = 0, messages = 0, message_length = 0;
    std::span<const std::byte> data;
};
std::optional<pipe_peek_output> decode_pipe_peek_output(std::span<const std::byte> output);

/// SET_INFO FilePipeInformation (MS-FSCC 2.4.33): read mode 0 byte / 1 message, completion
/// mode 0 queue (wait) / 1 complete (nowait).
bytes encode_set_pipe_information(file_id id, std::uint32_t read_mode, std::uint32_t completion_mode);

// ---- ERROR, interim responses -------------------------------------------------------------------

/// The ERROR response body (2.2.2): its data (the error contexts or one byte), a view.
std::optional<std::span<const std::byte>> decode_error(std::span<const std::byte> message);

} // namespace npipe::protocol::smb2
