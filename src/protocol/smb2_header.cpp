#include "protocol/smb2_header.hpp"

#include "protocol/smb2_wire.hpp"

#include <algorithm>

namespace npipe::protocol::smb2 {
namespace {

constexpr std::array<std::byte, 4> smb2_id{std::byte{0xFE}, std::byte{'S'}, std::byte{'M'}, std::byte{'B'}};
constexpr std::array<std::byte, 4> transform_id{std::byte{0xFD}, std::byte{'S'}, std::byte{'M'}, std::byte{'B'}};

bool starts_with(std::span<const std::byte> m, const std::array<std::byte, 4>& id) noexcept {
    return m.size() >= 4 && std::equal(id.begin(), id.end(), m.begin());
}

} // namespace

void encode_header(const header& h, std::vector<std::byte>& out) {
    wire_writer w;
    w.bytes(smb2_id);
    w.u16(header_size);
    w.u16(h.credit_charge);
    w.u32(h.status);
    w.u16(static_cast<std::uint16_t>(h.cmd));
    w.u16(h.credits);
    w.u32(h.flags);
    w.u32(h.next_command);
    w.u64(h.message_id);
    if (h.is_async()) {
        w.u64(h.async_id);
    } else {
        w.u32(0);
        w.u32(h.tree_id);
    }
    w.u64(h.session_id);
    w.bytes(h.signature);
    out.insert(out.end(), w.buffer().begin(), w.buffer().end());
}

std::optional<header> decode_header(std::span<const std::byte> message) noexcept {
    if (message.size() < header_size || !starts_with(message, smb2_id)) return std::nullopt;
    wire_reader r(message);
    if (r.u16(4) != header_size) return std::nullopt;
    header h;
    h.credit_charge = r.u16(6);
    h.status = r.u32(8);
    h.cmd = static_cast<command>(r.u16(12));
    h.credits = r.u16(14);
    h.flags = r.u32(16);
    h.next_command = r.u32(20);
    h.message_id = r.u64(24);
    if (h.is_async())
        h.async_id = r.u64(32);
    else
        h.tree_id = r.u32(36);
    h.session_id = r.u64(40);
    auto sig = r.bytes(signature_offset, signature_size);
    if (r.failed() || h.next_command != 0) return std::nullopt;
    std::copy(sig.begin(), sig.end(), h.signature.begin());
    return h;
}

void encode_transform_header(const transform_header& t, std::vector<std::byte>& out) {
    wire_writer w;
    w.bytes(transform_id);
    w.bytes(t.signature);
    w.bytes(t.nonce);
    w.u32(t.original_size);
    w.u16(0);
    w.u16(t.flags);
    w.u64(t.session_id);
    out.insert(out.end(), w.buffer().begin(), w.buffer().end());
}

bool is_transform(std::span<const std::byte> message) noexcept { return starts_with(message, transform_id); }

std::optional<transform_header> decode_transform_header(std::span<const std::byte> message) noexcept {
    if (message.size() < transform_header_size || !is_transform(message)) return std::nullopt;
    wire_reader r(message);
    transform_header t;
    auto sig = r.bytes(4, 16);
    auto nonce = r.bytes(20, 16);
    t.original_size = r.u32(36);
    t.flags = r.u16(42);
    t.session_id = r.u64(44);
    if (r.failed() || t.flags != 1 || message.size() - transform_header_size != t.original_size) return std::nullopt;
    std::copy(sig.begin(), sig.end(), t.signature.begin());
    std::copy(nonce.begin(), nonce.end(), t.nonce.begin());
    return t;
}

std::array<std::byte, 4> transport_prefix(std::size_t length) noexcept {
    return {std::byte{0}, static_cast<std::byte>(length >> 16), static_cast<std::byte>(length >> 8),
            static_cast<std::byte>(length)};
}

std::optional<std::size_t> transport_length(std::span<const std::byte, 4> prefix) noexcept {
    if (prefix[0] != std::byte{0}) return std::nullopt;
    const std::size_t n = (std::to_integer<std::size_t>(prefix[1]) << 16) |
                          (std::to_integer<std::size_t>(prefix[2]) << 8) | std::to_integer<std::size_t>(prefix[3]);
    if (n > max_message) return std::nullopt;
    return n;
}

} // namespace npipe::protocol::smb2
