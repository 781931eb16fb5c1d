// NEGOTIATE (MS-SMB2 2.2.3, 2.2.4), the 3.1.1 negotiate contexts (2.2.3.1), and
// FSCTL_VALIDATE_NEGOTIATE_INFO's input and output (2.2.31.4, 2.2.32.6), which repeat it.
#include "protocol/smb2_messages.hpp"
#include "protocol/smb2_wire.hpp"

#include <algorithm>

namespace npipe::protocol::smb2 {
namespace {

constexpr std::size_t negotiate_fixed = 36;
constexpr std::size_t negotiate_response_fixed = 64;
constexpr std::size_t max_contexts = 32; // far more than any server sends

void put_context(wire_writer& w, std::uint16_t type, wire_writer& data) {
    w.pad_to(8); // every context starts 8-aligned (counted from the header: 64 is a multiple)
    w.u16(type);
    w.u16(static_cast<std::uint16_t>(data.size()));
    w.u32(0);
    w.bytes(data.buffer());
}

void put_contexts(wire_writer& w, const negotiate_request& r, std::size_t count_at, std::size_t offset_at) {
    w.pad_to(8);
    w.put_u32(offset_at, static_cast<std::uint32_t>(header_size + w.size()));
    std::uint16_t count = 0;
    wire_writer pre;
    pre.u16(1); // one hash algorithm
    pre.u16(static_cast<std::uint16_t>(r.salt.size()));
    pre.u16(hash_algorithm::sha512);
    pre.bytes(r.salt);
    put_context(w, context_type::preauth_integrity, pre), ++count;
    if (!r.ciphers.empty()) {
        wire_writer enc;
        enc.u16(static_cast<std::uint16_t>(r.ciphers.size()));
        for (auto c : r.ciphers) enc.u16(c);
        put_context(w, context_type::encryption, enc), ++count;
    }
    if (!r.signing_algorithms.empty()) {
        wire_writer sig;
        sig.u16(static_cast<std::uint16_t>(r.signing_algorithms.size()));
        for (auto a : r.signing_algorithms) sig.u16(a);
        put_context(w, context_type::signing, sig), ++count;
    }
    w.put_u16(count_at, count);
}

/// One context the server chose: exactly one value in a list of one.
std::optional<std::uint16_t> single_choice(std::span<const std::byte> data) {
    wire_reader r(data);
    const std::uint16_t n = r.u16(0);
    const std::uint16_t v = r.u16(2);
    if (r.failed() || n != 1) return std::nullopt;
    return v;
}

bool read_preauth(std::span<const std::byte> data, negotiate_response& out) {
    wire_reader r(data);
    const std::uint16_t n = r.u16(0), salt = r.u16(2);
    const std::uint16_t hash = r.u16(4);
    r.bytes(6, salt);
    if (r.failed() || n != 1 || hash != hash_algorithm::sha512) return false;
    out.hash = hash;
    return true;
}

/// The server's contexts: one preauth context (SHA-512) required; unknown types skipped.
bool read_contexts(wire_reader& r, std::size_t offset, std::size_t count, negotiate_response& out) {
    if (count == 0 || count > max_contexts || offset < negotiate_response_fixed + header_size) return false;
    bool preauth = false;
    for (std::size_t i = 0; i < count; ++i) {
        offset = (offset + 7) & ~std::size_t{7};
        const std::uint16_t type = r.u16(offset);
        const std::uint16_t length = r.u16(offset + 2);
        auto data = r.bytes(offset + 8, length);
        if (r.failed()) return false;
        if (type == context_type::preauth_integrity) {
            if (preauth || !read_preauth(data, out)) return false;
            preauth = true;
        } else if (type == context_type::encryption || type == context_type::signing) {
            auto v = single_choice(data);
            if (!v) return false;
            if (type == context_type::encryption) out.cipher = *v;
            else out.signing = *v;
        }
        offset += 8 + length;
    }
    return preauth;
}

} // namespace

bytes encode_negotiate(const negotiate_request& r) {
    const bool has_311 = std::find(r.dialects.begin(), r.dialects.end(), dialect::smb311) != r.dialects.end();
    wire_writer w;
    w.u16(negotiate_fixed);
    w.u16(static_cast<std::uint16_t>(r.dialects.size()));
    w.u16(r.security_mode);
    w.u16(0);
    w.u32(r.capabilities);
    w.bytes(r.client_guid);
    const std::size_t offset_at = w.size();
    w.u32(0); // NegotiateContextOffset (3.1.1) or ClientStartTime (zero)
    const std::size_t count_at = w.size();
    w.u16(0);
    w.u16(0);
    for (auto d : r.dialects) w.u16(d);
    if (has_311) put_contexts(w, r, count_at, offset_at);
    return std::move(w.buffer());
}

std::optional<negotiate_response> decode_negotiate(std::span<const std::byte> message) {
    wire_reader r(message);
    constexpr std::size_t b = header_size;
    if (r.u16(b) != 65) return std::nullopt;
    negotiate_response out;
    out.security_mode = r.u16(b + 2);
    out.dialect = r.u16(b + 4);
    const std::uint16_t context_count = r.u16(b + 6);
    auto guid = r.bytes(b + 8, 16);
    out.capabilities = r.u32(b + 24);
    out.max_transact = r.u32(b + 28);
    out.max_read = r.u32(b + 32);
    out.max_write = r.u32(b + 36);
    const std::uint16_t blob_offset = r.u16(b + 56), blob_length = r.u16(b + 58);
    const std::uint32_t context_offset = r.u32(b + 60);
    auto blob = r.region(blob_offset, blob_length, b + negotiate_response_fixed);
    if (r.failed()) return std::nullopt;
    std::copy(guid.begin(), guid.end(), out.server_guid.begin());
    out.security_blob.assign(blob.begin(), blob.end());
    if (out.dialect == dialect::smb311 && !read_contexts(r, context_offset, context_count, out)) return std::nullopt;
    if (r.failed()) return std::nullopt;
    return out;
}

bytes encode_validate_negotiate_input(const negotiate_request& r) {
    wire_writer w;
    w.u32(r.capabilities);
    w.bytes(r.client_guid);
    w.u16(r.security_mode);
    w.u16(static_cast<std::uint16_t>(r.dialects.size()));
    for (auto d : r.dialects) w.u16(d);
    return std::move(w.buffer());
}

std::optional<validate_negotiate_output> decode_validate_negotiate_output(std::span<const std::byte> output) {
    if (output.size() != validate_negotiate_output_size) return std::nullopt;
    wire_reader r(output);
    validate_negotiate_output out;
    out.capabilities = r.u32(0);
    auto guid = r.bytes(4, 16);
    out.security_mode = r.u16(20);
    out.dialect = r.u16(22);
    if (r.failed()) return std::nullopt;
    std::copy(guid.begin(), guid.end(), out.server_guid.begin());
    return out;
}

} // namespace npipe::protocol::smb2
