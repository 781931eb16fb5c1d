// SMB's cryptography (smb/smb_crypto.hpp, smb/message_security.hpp) against Microsoft's worked
// example: the pre-authentication hash after each message, the 3.0 and 3.1.1 keys, and the
// signature on the final SESSION_SETUP response. Then round trips and tampering for every
// signing algorithm and cipher (interoperation with a real server is tests/samba/test_client.py).
#include "smb/message_security.hpp"
#include "smb2_vectors.hpp"

#include <gtest/gtest.h>

using namespace npipe::smb;
namespace smb2 = npipe::protocol::smb2;
using smb2_vectors::hex;

namespace {

preauth_hash hash_of(const std::string& h) {
    preauth_hash out{};
    auto b = hex(h);
    std::copy(b.begin(), b.end(), out.begin());
    return out;
}

smb2::bytes a_request(std::uint64_t message_id, smb2::command cmd = smb2::command::write) {
    smb2::header h;
    h.cmd = cmd;
    h.message_id = message_id;
    h.session_id = 0x1234;
    smb2::bytes m;
    smb2::encode_header(h, m);
    auto body = smb2::encode_write({1, 2}, hex("00112233445566778899"));
    m.insert(m.end(), body.begin(), body.end());
    return m;
}

} // namespace

TEST(SmbCrypto, PreauthHashFollowsMicrosoftsExample) {
    preauth_hash h{};
    ASSERT_TRUE(update_preauth(h, hex(smb2_vectors::negotiate_request)));
    EXPECT_EQ(h, hash_of(smb2_vectors::hash_after_negotiate_request));
    ASSERT_TRUE(update_preauth(h, hex(smb2_vectors::negotiate_response)));
    EXPECT_EQ(h, hash_of(smb2_vectors::hash_after_negotiate_response));
    ASSERT_TRUE(update_preauth(h, hex(smb2_vectors::session_setup_request_1)));
    ASSERT_TRUE(update_preauth(h, hex(smb2_vectors::session_setup_response_1)));
    EXPECT_EQ(h, hash_of(smb2_vectors::hash_after_response_1));
    ASSERT_TRUE(update_preauth(h, hex(smb2_vectors::session_setup_request_2)));
    EXPECT_EQ(h, hash_of(smb2_vectors::session_hash));
}

TEST(SmbCrypto, Smb300KeysAreMicrosofts) {
    auto k = derive_session_keys(smb2::dialect::smb300, smb2::cipher::none, std::nullopt,
                                 hex(smb2_vectors::session_key_300), preauth_hash{});
    EXPECT_EQ(k.signing_key, hex(smb2_vectors::signing_key_300));
    EXPECT_EQ(k.encryption_key, hex(smb2_vectors::encryption_key_300));
    EXPECT_EQ(k.decryption_key, hex(smb2_vectors::decryption_key_300));
    EXPECT_EQ(k.signing, smb2::signing_algorithm::aes_cmac);
    EXPECT_EQ(k.cipher, smb2::cipher::aes128_ccm);
}

TEST(SmbCrypto, Smb311KeysAndFinalSignatureAreMicrosofts) {
    auto k = derive_session_keys(smb2::dialect::smb311, smb2::cipher::aes128_gcm, std::nullopt,
                                 hex(smb2_vectors::session_key_311), hash_of(smb2_vectors::session_hash));
    EXPECT_EQ(k.signing_key, hex(smb2_vectors::signing_key_311));
    EXPECT_EQ(k.encryption_key, hex(smb2_vectors::encryption_key_311));
    EXPECT_EQ(k.decryption_key, hex(smb2_vectors::decryption_key_311));
    auto final_response = hex(smb2_vectors::session_setup_response_final);
    EXPECT_TRUE(verify_message(final_response, k));
    final_response.back() ^= std::byte{1};
    EXPECT_FALSE(verify_message(final_response, k));
}

TEST(SmbCrypto, AesCmacRfc4493) {
    std::array<std::byte, 16> mac{};
    ASSERT_TRUE(aes_cmac(hex("2b7e151628aed2a6abf7158809cf4f3c"), {}, mac));
    EXPECT_EQ(smb2::bytes(mac.begin(), mac.end()), hex("bb1d6929e95937287fa37d129b756746"));
    ASSERT_TRUE(aes_cmac(hex("2b7e151628aed2a6abf7158809cf4f3c"), hex("6bc1bee22e409f96e93d7e117393172a"), mac));
    EXPECT_EQ(smb2::bytes(mac.begin(), mac.end()), hex("070a16b46b4d4144f79bdd9dd04a287c"));
}

TEST(SmbCrypto, EverySigningAlgorithmSignsAndDetectsTampering) {
    const auto key = hex(smb2_vectors::session_key_311);
    struct case_t {
        std::uint16_t dialect;
        std::optional<std::uint16_t> signing;
    };
    for (auto c : {case_t{smb2::dialect::smb210, std::nullopt}, case_t{smb2::dialect::smb302, std::nullopt},
                   case_t{smb2::dialect::smb311, smb2::signing_algorithm::aes_gmac},
                   case_t{smb2::dialect::smb311, smb2::signing_algorithm::aes_cmac}}) {
        auto k = derive_session_keys(c.dialect, smb2::cipher::none, c.signing, key, preauth_hash{});
        auto m = a_request(9);
        ASSERT_TRUE(sign_message(m, k));
        EXPECT_TRUE(verify_message(m, k)) << c.dialect;
        auto other = m;
        other.back() ^= std::byte{0x80};
        EXPECT_FALSE(verify_message(other, k)) << c.dialect;
        other = m;
        other[24] ^= std::byte{1}; // the MessageId (GMAC's nonce)
        EXPECT_FALSE(verify_message(other, k)) << c.dialect;
    }
    // GMAC and CMAC give different signatures for the same message.
    auto gmac = derive_session_keys(smb2::dialect::smb311, 0, smb2::signing_algorithm::aes_gmac, key, preauth_hash{});
    auto cmac = derive_session_keys(smb2::dialect::smb311, 0, smb2::signing_algorithm::aes_cmac, key, preauth_hash{});
    auto a = a_request(3), b = a_request(3);
    ASSERT_TRUE(sign_message(a, gmac));
    ASSERT_TRUE(sign_message(b, cmac));
    EXPECT_NE(a, b);
    EXPECT_FALSE(verify_message(a, cmac));
}

TEST(SmbCrypto, EveryCipherRoundTripsAndDetectsTampering) {
    const auto key = hex("00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
    for (auto cipher : {smb2::cipher::aes128_ccm, smb2::cipher::aes128_gcm, smb2::cipher::aes256_ccm,
                        smb2::cipher::aes256_gcm}) {
        auto mine = derive_session_keys(smb2::dialect::smb311, cipher, std::nullopt, key, preauth_hash{});
        EXPECT_EQ(mine.encryption_key.size(), cipher >= smb2::cipher::aes256_ccm ? 32u : 16u);
        // The server's view: what the client encrypts, the server decrypts with the same key.
        session_keys server = mine;
        std::swap(server.encryption_key, server.decryption_key);
        auto m = a_request(11);
        auto sealed = encrypt_message(m, mine, 0x1234);
        ASSERT_TRUE(sealed) << cipher;
        EXPECT_EQ(sealed->size(), m.size() + smb2::transform_header_size);
        auto opened = decrypt_message(*sealed, server, 0x1234);
        ASSERT_TRUE(opened) << cipher;
        EXPECT_EQ(*opened, m);
        EXPECT_FALSE(decrypt_message(*sealed, server, 0x9999)) << "another session's";
        EXPECT_FALSE(decrypt_message(*sealed, mine, 0x1234)) << "the wrong direction's key";
        for (std::size_t at : {std::size_t{4}, std::size_t{25}, std::size_t{44}, sealed->size() - 1}) {
            auto bad = *sealed;
            bad[at] ^= std::byte{1};
            EXPECT_FALSE(decrypt_message(bad, server, 0x1234)) << cipher << " byte " << at;
        }
    }
}
