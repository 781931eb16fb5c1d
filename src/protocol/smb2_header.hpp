// protocol/smb2_header.hpp - the SMB2 message header (MS-SMB2 2.2.1), the transform header that
// wraps an encrypted message (2.2.41), the commands, flags and NTSTATUS values npipe's client
// meets, and how messages travel on TCP (the 4-byte Direct TCP transport length, 2.1).
//
// decode_header is strict: the protocol id, a structure size of 64, a message at least a header
// long, an async id only with SMB2_FLAGS_ASYNC_COMMAND, and a NextCommand that is zero (npipe
// never sends compound requests, so a compound response is refused, not half-read).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace npipe::protocol::smb2 {

constexpr std::size_t header_size = 64;
constexpr std::size_t signature_offset = 48;
constexpr std::size_t signature_size = 16;
constexpr std::size_t transform_header_size = 52;
/// The largest message npipe accepts from a server: a READ of max_io plus headers. The Direct
/// TCP length is 24 bits, so a forged length can ask for at most 16 MiB; npipe refuses above this.
constexpr std::size_t max_io = 1024 * 1024;
constexpr std::size_t max_message = max_io + 4096;

enum class command : std::uint16_t {
    negotiate = 0, session_setup = 1, logoff = 2, tree_connect = 3, tree_disconnect = 4,
    create = 5, close = 6, flush = 7, read = 8, write = 9, lock = 10, ioctl = 11, cancel = 12,
    echo = 13, query_directory = 14, change_notify = 15, query_info = 16, set_info = 17,
    oplock_break = 18,
};

namespace flags {
constexpr std::uint32_t server_to_redir = 0x1;
constexpr std::uint32_t async_command = 0x2;
constexpr std::uint32_t related_operations = 0x4;
constexpr std::uint32_t is_signed = 0x8;
} // namespace flags

/// The NTSTATUS values the client acts on (MS-ERREF 2.3.1).
namespace status {
constexpr std::uint32_t success = 0;
constexpr std::uint32_t pending = 0x00000103;
constexpr std::uint32_t buffer_overflow = 0x80000005;
constexpr std::uint32_t more_processing_required = 0xC0000016;
constexpr std::uint32_t invalid_parameter = 0xC000000D;
constexpr std::uint32_t access_denied = 0xC0000022;
constexpr std::uint32_t object_name_not_found = 0xC0000034;
constexpr std::uint32_t object_name_invalid = 0xC0000033;
constexpr std::uint32_t object_path_not_found = 0xC000003A;
constexpr std::uint32_t pipe_not_available = 0xC00000AC;
constexpr std::uint32_t invalid_pipe_state = 0xC00000AD;
constexpr std::uint32_t pipe_busy = 0xC00000AE;
constexpr std::uint32_t pipe_disconnected = 0xC00000B0;
constexpr std::uint32_t pipe_closing = 0xC00000B1;
constexpr std::uint32_t pipe_listening = 0xC00000B3;
constexpr std::uint32_t io_timeout = 0xC00000B5;
constexpr std::uint32_t not_supported = 0xC00000BB;
constexpr std::uint32_t bad_network_name = 0xC00000CC;
constexpr std::uint32_t pipe_empty = 0xC00000D9;
constexpr std::uint32_t cancelled = 0xC0000120;
constexpr std::uint32_t pipe_broken = 0xC000014B;
constexpr std::uint32_t fs_driver_required = 0xC000019C;
constexpr std::uint32_t logon_failure = 0xC000006D;
constexpr std::uint32_t account_disabled = 0xC0000072;
constexpr std::uint32_t password_expired = 0xC0000071;
constexpr std::uint32_t account_restriction = 0xC000006E;
constexpr std::uint32_t no_such_user = 0xC0000064;
constexpr std::uint32_t wrong_password = 0xC000006A;
constexpr std::uint32_t user_session_deleted = 0xC0000203;
constexpr std::uint32_t network_session_expired = 0xC000035C;
constexpr std::uint32_t connection_disconnected = 0xC000020C;
constexpr std::uint32_t insufficient_resources = 0xC000009A;
constexpr std::uint32_t invalid_device_request = 0xC0000010;
constexpr std::uint32_t not_implemented = 0xC0000002;
constexpr std::uint32_t invalid_info_class = 0xC0000003;
constexpr std::uint32_t end_of_file = 0xC0000011;
} // namespace status

/// An NTSTATUS is an error when its severity bits are 11 (0xC...); 0x8... is a warning that
/// still carries data (STATUS_BUFFER_OVERFLOW).
constexpr bool is_error(std::uint32_t s) noexcept { return (s >> 30) == 3; }

struct header {
    std::uint16_t credit_charge = 0;
    std::uint32_t status = 0; ///< responses; a request's ChannelSequence/Reserved is zero
    command cmd = command::negotiate;
    std::uint16_t credits = 0; ///< requested (request) or granted (response)
    std::uint32_t flags = 0;
    std::uint32_t next_command = 0;
    std::uint64_t message_id = 0;
    std::uint64_t async_id = 0; ///< with flags::async_command
    std::uint32_t tree_id = 0;  ///< without it
    std::uint64_t session_id = 0;
    std::array<std::byte, signature_size> signature{};

    bool is_async() const noexcept { return (flags & flags::async_command) != 0; }
    bool is_response() const noexcept { return (flags & flags::server_to_redir) != 0; }
};

/// Appends the 64-byte header to `out`.
void encode_header(const header& h, std::vector<std::byte>& out);
/// The header of a whole message (std::nullopt: not an SMB2 message, or one npipe refuses).
std::optional<header> decode_header(std::span<const std::byte> message) noexcept;

/// The transform header (MS-SMB2 2.2.41) of an encrypted message.
struct transform_header {
    std::array<std::byte, 16> signature{}; ///< the AEAD tag
    std::array<std::byte, 16> nonce{};     ///< 11 bytes used by CCM, 12 by GCM, the rest zero
    std::uint32_t original_size = 0;
    std::uint16_t flags = 1; ///< 1: encrypted (Flags in 3.1.1, EncryptionAlgorithm before: same value)
    std::uint64_t session_id = 0;
};

void encode_transform_header(const transform_header& t, std::vector<std::byte>& out);
/// Refuses anything but protocol id 0xFD 'S' 'M' 'B', flags 1, and a ciphertext exactly
/// original_size long after the header.
std::optional<transform_header> decode_transform_header(std::span<const std::byte> message) noexcept;
/// The part of a transform header the AEAD authenticates (from the nonce to the end: 32 bytes).
inline std::span<const std::byte> transform_aad(std::span<const std::byte> message) noexcept {
    return message.subspan(20, transform_header_size - 20);
}
bool is_transform(std::span<const std::byte> message) noexcept;

/// Direct TCP transport (MS-SMB2 2.1): a zero byte and a 24-bit big-endian length.
std::array<std::byte, 4> transport_prefix(std::size_t length) noexcept;
/// The length a prefix announces; nullopt when its first byte is not zero or it exceeds max_message.
std::optional<std::size_t> transport_length(std::span<const std::byte, 4> prefix) noexcept;

} // namespace npipe::protocol::smb2
