// protocol/smb2_wire.hpp - little-endian fields at fixed positions, as SMB2 lays them out.
//
// SMB2 places variable parts (names, security blobs, data) by offsets counted from the start of
// the message header; so a reader is made over the whole message and reads at absolute
// positions. Every read is bounds-checked: the first one outside the message makes the reader
// failed() for good and every read after it yields zero or an empty span, so a decoder checks
// once at the end and never reads outside the buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npipe::protocol::smb2 {

class wire_reader {
public:
    explicit wire_reader(std::span<const std::byte> data) noexcept : data_(data) {}

    std::uint8_t u8(std::size_t at) noexcept { return static_cast<std::uint8_t>(get(at, 1)); }
    std::uint16_t u16(std::size_t at) noexcept { return static_cast<std::uint16_t>(get(at, 2)); }
    std::uint32_t u32(std::size_t at) noexcept { return static_cast<std::uint32_t>(get(at, 4)); }
    std::uint64_t u64(std::size_t at) noexcept { return get(at, 8); }
    /// `length` bytes at `at`, which must lie wholly inside the message.
    std::span<const std::byte> bytes(std::size_t at, std::size_t length) noexcept;
    /// The variable part an (offset, length) pair names: empty when length is 0 (whatever the
    /// offset), else it must start at or after `not_before` (the fixed part) and end inside.
    std::span<const std::byte> region(std::size_t offset, std::size_t length, std::size_t not_before) noexcept;

    void fail() noexcept { failed_ = true; }
    bool failed() const noexcept { return failed_; }
    std::size_t size() const noexcept { return data_.size(); }

private:
    std::uint64_t get(std::size_t at, std::size_t n) noexcept;
    std::span<const std::byte> data_;
    bool failed_ = false;
};

/// Appends fields; put_* at a position overwrites what is there (offsets known only later).
class wire_writer {
public:
    void u8(std::uint8_t v) { put(v, 1); }
    void u16(std::uint16_t v) { put(v, 2); }
    void u32(std::uint32_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void bytes(std::span<const std::byte> b) { buf_.insert(buf_.end(), b.begin(), b.end()); }
    void zeros(std::size_t n) { buf_.resize(buf_.size() + n); }
    /// Zero bytes up to a multiple of `n`.
    void pad_to(std::size_t n) { zeros((n - buf_.size() % n) % n); }
    void put_u16(std::size_t at, std::uint16_t v) noexcept { set(at, v, 2); }
    void put_u32(std::size_t at, std::uint32_t v) noexcept { set(at, v, 4); }
    std::size_t size() const noexcept { return buf_.size(); }
    std::vector<std::byte>& buffer() noexcept { return buf_; }

private:
    void put(std::uint64_t v, std::size_t n);
    void set(std::size_t at, std::uint64_t v, std::size_t n) noexcept;
    std::vector<std::byte> buf_;
};

/// UTF-8 to UTF-16LE bytes (names on the wire); invalid UTF-8 gives an empty result and false.
bool to_utf16le(std::string_view utf8, std::vector<std::byte>& out);

} // namespace npipe::protocol::smb2
