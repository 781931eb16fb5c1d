#include "protocol/ndr.hpp"

#include <algorithm>

namespace npipe::protocol::ndr {

std::uint64_t reader::get(std::size_t n, std::size_t alignment) noexcept {
    align(alignment);
    if (failed_ || data_.size() - pos_ < n) {
        fail();
        return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
}

void reader::align(std::size_t n) noexcept {
    const std::size_t pad = (n - pos_ % n) % n;
    if (failed_ || data_.size() - pos_ < pad) {
        fail();
        return;
    }
    for (std::size_t i = 0; i < pad; ++i)
        if (data_[pos_ + i] != std::byte{0}) fail();
    pos_ += pad;
}

std::span<const std::byte> reader::bytes(std::size_t n) noexcept {
    if (failed_ || data_.size() - pos_ < n) {
        fail();
        return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
}

std::uint32_t reader::count(std::size_t min_element_size) noexcept {
    const std::uint32_t n = u32();
    if (failed_ || (data_.size() - pos_) / min_element_size < n) {
        fail();
        return 0;
    }
    return n;
}

std::string reader::string(std::size_t max_length) {
    const std::uint32_t maximum = u32();
    const std::uint32_t offset = u32();
    const std::uint32_t actual = u32();
    if (failed_ || offset != 0 || actual != maximum || actual == 0 || actual - 1 > max_length) {
        fail();
        return {};
    }
    auto b = bytes(actual);
    if (failed_) return {};
    std::string s(reinterpret_cast<const char*>(b.data()), b.size() - 1);
    if (b.back() != std::byte{0} || s.find('\0') != std::string::npos) {
        fail();
        return {};
    }
    return s;
}

std::vector<std::byte> reader::blob(std::size_t max_length) {
    const std::uint32_t n = u32();
    if (failed_ || n > max_length) {
        fail();
        return {};
    }
    auto b = bytes(n);
    return {b.begin(), b.end()};
}

void writer::put(std::uint64_t v, std::size_t n, std::size_t alignment) {
    align(alignment);
    for (std::size_t i = 0; i < n; ++i) buf_.push_back(static_cast<std::byte>(v >> (8 * i)));
}

void writer::align(std::size_t n) {
    while (buf_.size() % n != 0) buf_.push_back(std::byte{0});
}

void writer::pointer(bool present) {
    if (!present) {
        u32(0);
        return;
    }
    u32(next_referent_);
    next_referent_ += 4;
}

void writer::bytes(std::span<const std::byte> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }

void writer::string(std::string_view s) {
    const auto n = static_cast<std::uint32_t>(s.size() + 1);
    u32(n);
    u32(0);
    u32(n);
    bytes(std::as_bytes(std::span(s.data(), s.size())));
    buf_.push_back(std::byte{0});
}

void writer::blob(std::span<const std::byte> b) {
    u32(static_cast<std::uint32_t>(b.size()));
    bytes(b);
}

namespace {

/// The length of the UTF-8 sequence that starts at s[i] (0: not a valid one).
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) return (c < 0x20 || c == 0x7F) ? 0 : 1;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (s.size() - i < n) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto t = static_cast<unsigned char>(s[i + k]);
        if ((t & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (t & 0x3Fu);
    }
    static constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < smallest[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

} // namespace

bool printable_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = sequence_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

} // namespace npipe::protocol::ndr
