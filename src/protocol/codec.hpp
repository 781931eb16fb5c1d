// protocol/codec.hpp - bounds-checked little-endian encoding for the broker protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npipe::protocol {

class writer {
public:
    void u8(std::uint8_t v) { buf_.push_back(static_cast<std::byte>(v)); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void i64(std::int64_t v) { put(static_cast<std::uint64_t>(v), 8); }
    void boolean(bool v) { u8(v ? 1 : 0); }
    /// A string of at most 65535 bytes, length-prefixed.
    void str(std::string_view s);
    /// A string of any length below 4 GiB (32-bit length prefix); the frame limit bounds it.
    void long_str(std::string_view s);
    std::vector<std::byte>& bytes() noexcept { return buf_; }

private:
    void put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) buf_.push_back(static_cast<std::byte>(v >> (8 * i)));
    }
    std::vector<std::byte> buf_;
};

/// Reads values from a received body. Any read past the end sets failed() and yields zero;
/// decoders check failed() once at the end instead of after every field.
class reader {
public:
    explicit reader(std::span<const std::byte> data) noexcept : data_(data) {}
    std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(get(1)); }
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(get(2)); }
    std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(get(4)); }
    std::uint64_t u64() noexcept { return get(8); }
    std::int64_t i64() noexcept { return static_cast<std::int64_t>(get(8)); }
    bool boolean() noexcept;
    std::string str();
    std::string long_str();
    bool failed() const noexcept { return failed_; }
    bool at_end() const noexcept { return pos_ == data_.size(); }
    /// True when everything was read and nothing was left over.
    bool ok() const noexcept { return !failed_ && at_end(); }

private:
    std::uint64_t get(std::size_t n) noexcept;
    /// The next `n` bytes as a string (a length just read says how many).
    std::string bytes_as_string(std::size_t n);
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool failed_ = false;
};

} // namespace npipe::protocol
