#include "protocol/codec.hpp"

namespace npipe::protocol {

void writer::str(std::string_view s) {
    auto n = static_cast<std::uint16_t>(s.size() > 0xFFFF ? 0xFFFF : s.size());
    u16(n);
    auto p = reinterpret_cast<const std::byte*>(s.data());
    buf_.insert(buf_.end(), p, p + n);
}

void writer::long_str(std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    auto p = reinterpret_cast<const std::byte*>(s.data());
    buf_.insert(buf_.end(), p, p + s.size());
}

std::uint64_t reader::get(std::size_t n) noexcept {
    if (failed_ || data_.size() - pos_ < n) {
        failed_ = true;
        return 0;
    }
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(data_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
}

bool reader::boolean() noexcept {
    auto v = u8();
    if (v > 1) failed_ = true;
    return v == 1;
}

std::string reader::str() { return bytes_as_string(u16()); }

std::string reader::long_str() { return bytes_as_string(u32()); }

std::string reader::bytes_as_string(std::size_t n) {
    if (failed_ || data_.size() - pos_ < n) {
        failed_ = true;
        return {};
    }
    std::string s(reinterpret_cast<const char*>(data_.data() + pos_), n);
    pos_ += n;
    return s;
}

} // namespace npipe::protocol
