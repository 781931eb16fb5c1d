// OpenSSL 3 calls with SMB's parameters (see smb_crypto.hpp).
#include "smb/smb_crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <mutex>
#include <utility>

namespace npipe::smb {
namespace {

struct mac_deleter {
    void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
    void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
    void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
    void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
template <typename T>
using owned = std::unique_ptr<T, mac_deleter>;

const unsigned char* u(byte_span s) noexcept { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* u(std::span<std::byte> s) noexcept { return reinterpret_cast<unsigned char*>(s.data()); }
char* c_str(const char* s) noexcept { return const_cast<char*>(s); } // OSSL_PARAM takes char*, reads only

/// The algorithms, fetched once (a fetch costs a lookup and locks in OpenSSL's tables on every
/// call; a signed message needs one). Never freed: they live as long as the process.
struct algorithms {
    EVP_MAC* hmac = nullptr;
    EVP_MAC* cmac = nullptr;
    EVP_MAC* gmac = nullptr;
    EVP_KDF* kbkdf = nullptr;
    EVP_CIPHER* aes128_ccm = nullptr;
    EVP_CIPHER* aes128_gcm = nullptr;
    EVP_CIPHER* aes256_ccm = nullptr;
    EVP_CIPHER* aes256_gcm = nullptr;
};

const algorithms& fetched() noexcept {
    static algorithms a;
    static std::once_flag once;
    std::call_once(once, [] {
        a.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        a.cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
        a.gmac = EVP_MAC_fetch(nullptr, "GMAC", nullptr);
        a.kbkdf = EVP_KDF_fetch(nullptr, "KBKDF", nullptr);
        a.aes128_ccm = EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr);
        a.aes128_gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
        a.aes256_ccm = EVP_CIPHER_fetch(nullptr, "AES-256-CCM", nullptr);
        a.aes256_gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    });
    return a;
}

/// One MAC computation: `m` (HMAC, CMAC, GMAC) with its parameters, over `data`.
bool mac(EVP_MAC* m, const OSSL_PARAM* params, byte_span key, byte_span data, std::span<std::byte> out) {
    if (!m) return false;
    owned<EVP_MAC_CTX> ctx(EVP_MAC_CTX_new(m));
    std::size_t n = 0;
    return ctx && EVP_MAC_init(ctx.get(), u(key), key.size(), params) == 1 &&
           EVP_MAC_update(ctx.get(), u(data), data.size()) == 1 &&
           EVP_MAC_final(ctx.get(), u(out), &n, out.size()) == 1 && n == out.size();
}

EVP_CIPHER* cipher_of(aead mode, std::size_t key_size) noexcept {
    const algorithms& a = fetched();
    if (key_size == 32) return mode == aead::gcm ? a.aes256_gcm : a.aes256_ccm;
    return mode == aead::gcm ? a.aes128_gcm : a.aes128_ccm;
}

/// A context for `mode` with the nonce length and (for CCM, which needs it before the key) the
/// tag set; `encrypt` says which direction. CCM also needs the total length up front.
owned<EVP_CIPHER_CTX> aead_context(aead mode, byte_span key, byte_span nonce, std::size_t length, bool encrypt,
                                   const std::byte* tag) {
    if (key.size() != 16 && key.size() != 32) return nullptr;
    EVP_CIPHER* cipher = cipher_of(mode, key.size());
    owned<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
    if (!cipher || !ctx || EVP_CipherInit_ex2(ctx.get(), cipher, nullptr, nullptr, encrypt ? 1 : 0, nullptr) != 1)
        return nullptr;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1)
        return nullptr;
    if (mode == aead::ccm &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, 16, encrypt ? nullptr : const_cast<std::byte*>(tag)) != 1)
        return nullptr;
    if (EVP_CipherInit_ex2(ctx.get(), nullptr, u(key), u(nonce), -1, nullptr) != 1) return nullptr;
    int ignored = 0;
    if (mode == aead::ccm && EVP_CipherUpdate(ctx.get(), nullptr, &ignored, nullptr, static_cast<int>(length)) != 1)
        return nullptr;
    return ctx;
}

/// The AAD and the text through a context made by aead_context.
bool aead_run(EVP_CIPHER_CTX* ctx, byte_span aad, byte_span in, std::span<std::byte> out) {
    int n = 0;
    if (EVP_CipherUpdate(ctx, nullptr, &n, u(aad), static_cast<int>(aad.size())) != 1) return false;
    if (!in.empty() && EVP_CipherUpdate(ctx, u(out), &n, u(in), static_cast<int>(in.size())) != 1) return false;
    return true;
}

} // namespace

void init_crypto() noexcept { fetched(); }

void release_thread_crypto() noexcept { OPENSSL_thread_stop(); }

void release_crypto() noexcept {
    auto& a = const_cast<algorithms&>(fetched());
    for (EVP_MAC** m : {&a.hmac, &a.cmac, &a.gmac}) EVP_MAC_free(std::exchange(*m, nullptr));
    EVP_KDF_free(std::exchange(a.kbkdf, nullptr));
    for (EVP_CIPHER** c : {&a.aes128_ccm, &a.aes128_gcm, &a.aes256_ccm, &a.aes256_gcm})
        EVP_CIPHER_free(std::exchange(*c, nullptr));
}

bool update_preauth(preauth_hash& h, byte_span message) {
    fetched();
    owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    unsigned n = 0;
    return ctx && EVP_DigestInit_ex2(ctx.get(), EVP_sha512(), nullptr) == 1 &&
           EVP_DigestUpdate(ctx.get(), h.data(), h.size()) == 1 &&
           EVP_DigestUpdate(ctx.get(), message.data(), message.size()) == 1 &&
           EVP_DigestFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(h.data()), &n) == 1 && n == h.size();
}

byte_vector derive_key(byte_span key, byte_span label, byte_span context, unsigned bits) {
    EVP_KDF* kdf = fetched().kbkdf;
    if (!kdf) return {};
    owned<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf));
    if (!ctx) return {};
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, c_str("counter"), 0),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, c_str("HMAC"), 0),
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, c_str("SHA256"), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::byte*>(key.data()), key.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::byte*>(label.data()), label.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::byte*>(context.data()), context.size()),
        OSSL_PARAM_construct_end(),
    };
    byte_vector out(bits / 8);
    if (EVP_KDF_derive(ctx.get(), u(std::span<std::byte>(out)), out.size(), params) != 1) return {};
    return out;
}

bool hmac_sha256(byte_span key, byte_span data, std::array<std::byte, 32>& out) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, c_str("SHA256"), 0),
                           OSSL_PARAM_construct_end()};
    return mac(fetched().hmac, params, key, data, out);
}

bool aes_cmac(byte_span key, byte_span data, std::array<std::byte, 16>& out) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, c_str("AES-128-CBC"), 0),
                           OSSL_PARAM_construct_end()};
    return key.size() == 16 && mac(fetched().cmac, params, key, data, out);
}

bool aes_gmac(byte_span key, std::span<const std::byte, 12> nonce, byte_span data, std::array<std::byte, 16>& out) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, c_str("AES-128-GCM"), 0),
                           OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_IV, const_cast<std::byte*>(nonce.data()),
                                                             nonce.size()),
                           OSSL_PARAM_construct_end()};
    return key.size() == 16 && mac(fetched().gmac, params, key, data, out);
}

bool aead_seal(aead mode, byte_span key, byte_span nonce, byte_span aad, byte_span plain, std::span<std::byte> out,
               std::array<std::byte, 16>& tag) {
    if (out.size() != plain.size()) return false;
    auto ctx = aead_context(mode, key, nonce, plain.size(), true, nullptr);
    int n = 0;
    return ctx && aead_run(ctx.get(), aad, plain, out) &&
           EVP_CipherFinal_ex(ctx.get(), u(out.subspan(out.size())), &n) == 1 &&
           EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, 16, tag.data()) == 1;
}

bool aead_open(aead mode, byte_span key, byte_span nonce, byte_span aad, byte_span cipher, std::span<std::byte> out,
               std::span<const std::byte, 16> tag) {
    if (out.size() != cipher.size()) return false;
    auto ctx = aead_context(mode, key, nonce, cipher.size(), false, tag.data());
    if (!ctx) return false;
    // CCM checks the tag in the update (there is no final); GCM in the final, after the tag is set.
    if (mode == aead::ccm) return aead_run(ctx.get(), aad, cipher, out);
    int n = 0;
    return aead_run(ctx.get(), aad, cipher, out) &&
           EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, 16, const_cast<std::byte*>(tag.data())) == 1 &&
           EVP_CipherFinal_ex(ctx.get(), u(out.subspan(out.size())), &n) == 1;
}

bool random_bytes(std::span<std::byte> out) {
    fetched();
    return RAND_bytes(u(out), static_cast<int>(out.size())) == 1;
}

byte_vector label_of(std::string_view text) {
    byte_vector v(text.size() + 1);
    for (std::size_t i = 0; i < text.size(); ++i) v[i] = static_cast<std::byte>(text[i]);
    return v;
}

} // namespace npipe::smb
