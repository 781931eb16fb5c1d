// protocol/ndr.hpp - the little of DCE/RPC NDR (version 2.0, little-endian, 32-bit pointers)
// that Samba's named_pipe_auth handshake needs: aligned integers, unique pointers (a non-zero
// referent id; the pointee follows later, after the enclosing structure's scalars), conformant
// varying strings and length-prefixed blobs.
//
// ndr_reader is strict: every read is bounds-checked, padding must be zero, a string must be
// exactly as long as it says and end in its one NUL. The first violation makes the reader
// failed() for good and every later read yields zero or empty, so a decoder checks once at the end
// and never reads outside the buffer. ndr_writer writes the same forms (tests, fuzz seeds, the
// reply).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npipe::protocol::ndr {

class reader {
public:
    explicit reader(std::span<const std::byte> data) noexcept : data_(data) {}

    std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(get(1, 1)); }
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(get(2, 2)); }
    std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(get(4, 4)); }
    /// NDR's hyper: 8 bytes aligned to 8 (uid_t, gid_t, privilege masks).
    std::uint64_t hyper() noexcept { return get(8, 8); }
    /// NTTIME as Samba sends it (udlong): 8 bytes aligned to 4.
    std::uint64_t udlong() noexcept { return get(8, 4); }
    /// A unique pointer's referent id: true when something follows later.
    bool pointer() noexcept { return u32() != 0; }
    /// `n` bytes taken as they are (no alignment).
    std::span<const std::byte> bytes(std::size_t n) noexcept;
    /// A conformant varying string of at most `max_length` bytes before its NUL: maximum count,
    /// offset 0, actual count equal to the maximum, the bytes, a NUL at the end and none before.
    std::string string(std::size_t max_length);
    /// A DATA_BLOB: a 32-bit length (aligned to 4), then that many bytes, at most `max_length`.
    std::vector<std::byte> blob(std::size_t max_length);
    /// A count of elements each at least `min_element_size` bytes long: refused when the rest of
    /// the buffer could not hold them (nothing is reserved for a forged count).
    std::uint32_t count(std::size_t min_element_size) noexcept;
    /// Skips padding up to a multiple of `n` (which must be zero bytes).
    void align(std::size_t n) noexcept;

    /// Marks the buffer malformed; the first failure's position and reason (a literal, or
    /// nullptr for "malformed") are kept.
    void fail(const char* reason = nullptr) noexcept {
        if (failed_) return;
        failed_ = true;
        failed_at_ = pos_;
        reason_ = reason;
    }
    bool failed() const noexcept { return failed_; }
    std::size_t failed_at() const noexcept { return failed_at_; }
    const char* reason() const noexcept { return reason_; }
    std::size_t position() const noexcept { return pos_; }
    bool at_end() const noexcept { return pos_ == data_.size(); }

private:
    std::uint64_t get(std::size_t n, std::size_t alignment) noexcept;
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
    bool failed_ = false;
    std::size_t failed_at_ = 0;
    const char* reason_ = nullptr;
};

class writer {
public:
    void u8(std::uint8_t v) { put(v, 1, 1); }
    void u16(std::uint16_t v) { put(v, 2, 2); }
    void u32(std::uint32_t v) { put(v, 4, 4); }
    void hyper(std::uint64_t v) { put(v, 8, 8); }
    void udlong(std::uint64_t v) { put(v, 8, 4); }
    /// A unique pointer: the next referent id when `present`, else 0.
    void pointer(bool present);
    void bytes(std::span<const std::byte> b);
    void string(std::string_view s);
    void blob(std::span<const std::byte> b);
    void align(std::size_t n);
    std::vector<std::byte>& buffer() noexcept { return buf_; }

private:
    void put(std::uint64_t v, std::size_t n, std::size_t alignment);
    std::vector<std::byte> buf_;
    std::uint32_t next_referent_ = 0x00020000; // what Samba's marshalling starts from
};

/// Whether `s` is valid UTF-8 without control characters (what a name or address may hold
/// before it goes into a log line, an event or JSON).
bool printable_utf8(std::string_view s) noexcept;

} // namespace npipe::protocol::ndr
