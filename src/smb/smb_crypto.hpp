// smb/smb_crypto.hpp - the cryptography SMB2/3 needs, all of it from OpenSSL 3: HMAC-SHA256,
// AES-CMAC and AES-GMAC (EVP_MAC), the SP 800-108 counter-mode KDF with HMAC-SHA256 (EVP_KDF
// KBKDF), AES-CCM and AES-GCM (EVP_CIPHER) and SHA-512 for the pre-authentication hash.
// Nothing here is hand-written cryptography: these are calls with SMB's parameters.
//
// Every function returns false (or an empty result) when OpenSSL fails; a caller treats that as
// a failed connection, never as a message that passed a check.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace npipe::smb {

using byte_span = std::span<const std::byte>;
using byte_vector = std::vector<std::byte>;
using preauth_hash = std::array<std::byte, 64>;

/// Readies OpenSSL for the process's SMB connections (once; every other function calls it):
/// the algorithms are fetched once. release_crypto() gives them back; it runs at exit, after
/// the connections' I/O threads have stopped and before OpenSSL's own clean-up
/// (connection.hpp, stop_all_connections).
void init_crypto() noexcept;
void release_crypto() noexcept;
/// Frees what OpenSSL keeps for the calling thread (its random generator): an I/O thread's last
/// act, so that nothing of it is left when the process exits right after.
void release_thread_crypto() noexcept;

/// Hi = SHA-512(Hi-1 || message) (MS-SMB2 3.2.5.2, 3.2.5.3.1).
bool update_preauth(preauth_hash& h, byte_span message);

/// SP 800-108 KDF in counter mode, PRF HMAC-SHA256, r = 32, L = `bits`: what MS-SMB2 3.1.4.2
/// calls KDF(Ki, Label, Context). `label` and `context` are passed as SMB spells them
/// (terminating NUL included); OpenSSL adds the 0x00 separator and L.
byte_vector derive_key(byte_span key, byte_span label, byte_span context, unsigned bits);

/// The three MACs SMB signs with (the first 16 bytes of HMAC-SHA256 for 2.x).
bool hmac_sha256(byte_span key, byte_span data, std::array<std::byte, 32>& out);
bool aes_cmac(byte_span key, byte_span data, std::array<std::byte, 16>& out);
bool aes_gmac(byte_span key, std::span<const std::byte, 12> nonce, byte_span data, std::array<std::byte, 16>& out);

/// AES-CCM (11-byte nonce) or AES-GCM (12-byte nonce) with a 16-byte tag, 128- or 256-bit keys
/// (the key's length says which). seal encrypts `plain` into `out` (same size); open decrypts
/// and returns false when the tag does not match (then `out` must be thrown away).
enum class aead { ccm, gcm };
bool aead_seal(aead mode, byte_span key, byte_span nonce, byte_span aad, byte_span plain, std::span<std::byte> out,
               std::array<std::byte, 16>& tag);
bool aead_open(aead mode, byte_span key, byte_span nonce, byte_span aad, byte_span cipher, std::span<std::byte> out,
               std::span<const std::byte, 16> tag);

/// Fresh random bytes (nonces, salt, the client GUID).
bool random_bytes(std::span<std::byte> out);

/// `text` as bytes, its terminating NUL included (SMB's KDF labels).
byte_vector label_of(std::string_view text);

} // namespace npipe::smb
