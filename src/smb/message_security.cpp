// Signing, encryption and the keys of a session (message_security.hpp).
#include "smb/message_security.hpp"

#include <algorithm>
#include <cstring>

namespace npipe::smb {
namespace {

namespace smb2 = protocol::smb2;

bool is_256(std::uint16_t cipher) noexcept {
    return cipher == smb2::cipher::aes256_ccm || cipher == smb2::cipher::aes256_gcm;
}

aead mode_of(std::uint16_t cipher) noexcept {
    return cipher == smb2::cipher::aes128_gcm || cipher == smb2::cipher::aes256_gcm ? aead::gcm : aead::ccm;
}

std::size_t nonce_size(std::uint16_t cipher) noexcept { return mode_of(cipher) == aead::gcm ? 12 : 11; }

/// The MAC of a message with its signature field zeroed, by the session's algorithm.
bool signature_of(std::span<const std::byte> message, const session_keys& keys, std::array<std::byte, 16>& out) {
    byte_vector copy(message.begin(), message.end());
    std::fill_n(copy.begin() + smb2::signature_offset, smb2::signature_size, std::byte{0});
    if (keys.dialect < smb2::dialect::smb300) {
        std::array<std::byte, 32> full{};
        if (!hmac_sha256(keys.signing_key, copy, full)) return false;
        std::copy_n(full.begin(), 16, out.begin());
        return true;
    }
    if (keys.signing == smb2::signing_algorithm::aes_gmac) {
        // The nonce (MS-SMB2 3.1.4.1): the MessageId, then a word whose bit 0 says the message
        // is a server's and bit 1 that it is a CANCEL request.
        auto h = smb2::decode_header(copy);
        if (!h) return false;
        std::array<std::byte, 12> nonce{};
        for (std::size_t i = 0; i < 8; ++i) nonce[i] = static_cast<std::byte>(h->message_id >> (8 * i));
        unsigned role = (h->is_response() ? 1u : 0u) | (h->cmd == smb2::command::cancel ? 2u : 0u);
        nonce[8] = static_cast<std::byte>(role);
        return aes_gmac(keys.signing_key, nonce, copy, out);
    }
    return aes_cmac(keys.signing_key, copy, out);
}

} // namespace

session_keys derive_session_keys(std::uint16_t dialect, std::uint16_t cipher,
                                 std::optional<std::uint16_t> negotiated_signing, byte_span session_key,
                                 const preauth_hash& preauth) {
    session_keys k;
    k.dialect = dialect;
    // Session.SessionKey is the first 16 bytes of GSSAPI's key, zero-padded when shorter; the
    // 256-bit ciphers take the whole key.
    byte_vector key16(16);
    std::copy_n(session_key.begin(), std::min<std::size_t>(16, session_key.size()), key16.begin());
    if (dialect < smb2::dialect::smb300) {
        k.signing_key = key16;
        return k;
    }
    if (dialect < smb2::dialect::smb311) {
        k.signing = smb2::signing_algorithm::aes_cmac;
        k.cipher = smb2::cipher::aes128_ccm;
        k.signing_key = derive_key(key16, label_of("SMB2AESCMAC"), label_of("SmbSign"), 128);
        k.encryption_key = derive_key(key16, label_of("SMB2AESCCM"), label_of("ServerIn "), 128);
        k.decryption_key = derive_key(key16, label_of("SMB2AESCCM"), label_of("ServerOut"), 128);
        return k;
    }
    k.signing = negotiated_signing.value_or(smb2::signing_algorithm::aes_cmac);
    k.cipher = cipher;
    k.signing_key = derive_key(key16, label_of("SMBSigningKey"), preauth, 128);
    if (cipher != smb2::cipher::none) {
        const bool wide = is_256(cipher);
        byte_span cipher_input = wide ? session_key : byte_span(key16);
        const unsigned bits = wide ? 256 : 128;
        k.encryption_key = derive_key(cipher_input, label_of("SMBC2SCipherKey"), preauth, bits);
        k.decryption_key = derive_key(cipher_input, label_of("SMBS2CCipherKey"), preauth, bits);
    }
    return k;
}

bool sign_message(std::span<std::byte> message, const session_keys& keys) {
    if (message.size() < smb2::header_size || keys.signing_key.empty()) return false;
    message[16] |= std::byte{smb2::flags::is_signed}; // Flags is at 16, little-endian: bit 3 in its first byte
    std::array<std::byte, 16> sig{};
    if (!signature_of(message, keys, sig)) return false;
    std::copy(sig.begin(), sig.end(), message.begin() + smb2::signature_offset);
    return true;
}

bool verify_message(std::span<const std::byte> message, const session_keys& keys) {
    auto h = smb2::decode_header(message);
    if (!h || !(h->flags & smb2::flags::is_signed) || keys.signing_key.empty()) return false;
    std::array<std::byte, 16> sig{};
    if (!signature_of(message, keys, sig)) return false;
    // A comparison whose time does not depend on where the first difference is.
    unsigned diff = 0;
    for (std::size_t i = 0; i < 16; ++i) diff |= std::to_integer<unsigned>(sig[i] ^ h->signature[i]);
    return diff == 0;
}

std::optional<byte_vector> encrypt_message(byte_span message, const session_keys& keys, std::uint64_t session_id) {
    if (keys.encryption_key.empty()) return std::nullopt;
    smb2::transform_header t;
    if (!random_bytes(std::span(t.nonce).first(nonce_size(keys.cipher)))) return std::nullopt;
    t.original_size = static_cast<std::uint32_t>(message.size());
    t.session_id = session_id;
    byte_vector out;
    out.reserve(smb2::transform_header_size + message.size());
    smb2::encode_transform_header(t, out);
    out.resize(smb2::transform_header_size + message.size());
    std::array<std::byte, 16> tag{};
    std::span<std::byte> body(out.data() + smb2::transform_header_size, message.size());
    const byte_vector aad(out.begin() + 20, out.begin() + smb2::transform_header_size);
    if (!aead_seal(mode_of(keys.cipher), keys.encryption_key, std::span(t.nonce).first(nonce_size(keys.cipher)), aad,
                   message, body, tag))
        return std::nullopt;
    std::copy(tag.begin(), tag.end(), out.begin() + 4);
    return out;
}

std::optional<byte_vector> decrypt_message(byte_span transformed, const session_keys& keys, std::uint64_t session_id) {
    auto t = smb2::decode_transform_header(transformed);
    if (!t || t->session_id != session_id || keys.decryption_key.empty()) return std::nullopt;
    byte_vector plain(t->original_size);
    if (!aead_open(mode_of(keys.cipher), keys.decryption_key, std::span(t->nonce).first(nonce_size(keys.cipher)),
                   smb2::transform_aad(transformed), transformed.subspan(smb2::transform_header_size), plain,
                   t->signature))
        return std::nullopt;
    return plain;
}

} // namespace npipe::smb
