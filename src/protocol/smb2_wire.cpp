#include "protocol/smb2_wire.hpp"

namespace npipe::protocol::smb2 {

std::uint64_t wire_reader::get(std::size_t at, std::size_t n) noexcept {
    if (failed_ || at > data_.size() || data_.size() - at < n) {
        failed_ = true;
        return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::to_integer<std::uint64_t>(data_[at + i]) << (8 * i);
    return v;
}

std::span<const std::byte> wire_reader::bytes(std::size_t at, std::size_t length) noexcept {
    if (failed_ || at > data_.size() || data_.size() - at < length) {
        failed_ = true;
        return {};
    }
    return data_.subspan(at, length);
}

std::span<const std::byte> wire_reader::region(std::size_t offset, std::size_t length, std::size_t not_before) noexcept {
    if (length == 0) return {};
    if (offset < not_before) {
        failed_ = true;
        return {};
    }
    return bytes(offset, length);
}

void wire_writer::put(std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) buf_.push_back(static_cast<std::byte>(v >> (8 * i)));
}

void wire_writer::set(std::size_t at, std::uint64_t v, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) buf_[at + i] = static_cast<std::byte>(v >> (8 * i));
}

namespace {

/// One code point from UTF-8 at `i` (advanced); -1 when the bytes are not UTF-8.
long next_code_point(std::string_view s, std::size_t& i) noexcept {
    const auto c = static_cast<unsigned char>(s[i++]);
    if (c < 0x80) return c;
    std::size_t extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra == 0 || c > 0xF4 || s.size() - i < extra) return -1;
    long cp = c & (0x3F >> extra);
    for (std::size_t k = 0; k < extra; ++k) {
        const auto d = static_cast<unsigned char>(s[i++]);
        if ((d & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr long min_of[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_of[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1; // overlong, surrogates
    return cp;
}

void put_unit(std::vector<std::byte>& out, unsigned v) {
    out.push_back(static_cast<std::byte>(v & 0xFF));
    out.push_back(static_cast<std::byte>(v >> 8));
}

} // namespace

bool to_utf16le(std::string_view utf8, std::vector<std::byte>& out) {
    out.clear();
    for (std::size_t i = 0; i < utf8.size();) {
        const long cp = next_code_point(utf8, i);
        if (cp < 0) {
            out.clear();
            return false;
        }
        if (cp < 0x10000) {
            put_unit(out, static_cast<unsigned>(cp));
        } else {
            const auto v = static_cast<unsigned>(cp - 0x10000);
            put_unit(out, 0xD800 | (v >> 10));
            put_unit(out, 0xDC00 | (v & 0x3FF));
        }
    }
    return true;
}

} // namespace npipe::protocol::smb2
