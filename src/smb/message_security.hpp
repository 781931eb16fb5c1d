// smb/message_security.hpp - a session's keys and what they do to messages: signing and its
// check (HMAC-SHA256 for 2.0.2/2.1, AES-CMAC for 3.0/3.0.2, AES-CMAC or AES-GMAC as negotiated
// for 3.1.1), encryption into a transform header and decryption out of one (AES-128-CCM for
// 3.0/3.0.2; AES-128/256-CCM/GCM as negotiated for 3.1.1). Keys as MS-SMB2 3.2.5.3.1 derives
// them (smb_crypto.hpp's KDF; 3.1.1 with the session's pre-authentication hash as context).
#pragma once

#include "protocol/smb2_messages.hpp"
#include "smb/smb_crypto.hpp"

#include <optional>

namespace npipe::smb {

struct session_keys {
    std::uint16_t dialect = 0;
    std::uint16_t signing = protocol::smb2::signing_algorithm::hmac_sha256;
    std::uint16_t cipher = protocol::smb2::cipher::none;
    byte_vector signing_key;
    byte_vector encryption_key; ///< client to server ("ServerIn", C2S)
    byte_vector decryption_key; ///< server to client ("ServerOut", S2C)
};

/// The keys of a session: `session_key` from the authentication (GSSAPI's), `preauth` the
/// session's hash after its last SESSION_SETUP request (3.1.1 only). The signing algorithm
/// for 3.1.1 is `negotiated_signing` (AES-CMAC when the server sent no signing context).
session_keys derive_session_keys(std::uint16_t dialect, std::uint16_t cipher,
                                 std::optional<std::uint16_t> negotiated_signing, byte_span session_key,
                                 const preauth_hash& preauth);

/// Sets SMB2_FLAGS_SIGNED and writes the signature into a whole message (header first).
bool sign_message(std::span<std::byte> message, const session_keys& keys);
/// Whether a whole message carries SMB2_FLAGS_SIGNED and a signature that checks.
bool verify_message(std::span<const std::byte> message, const session_keys& keys);

/// The message wrapped in a transform header and encrypted (a fresh random nonce each time).
std::optional<byte_vector> encrypt_message(byte_span message, const session_keys& keys, std::uint64_t session_id);
/// The message inside a transform header; nullopt when the header is malformed, names another
/// session, or the tag does not check.
std::optional<byte_vector> decrypt_message(byte_span transformed, const session_keys& keys, std::uint64_t session_id);

} // namespace npipe::smb
