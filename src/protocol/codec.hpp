// protocol/codec.hpp - bounds-checked little-endian encoding for the broker protocol.
//
// writer and reader put and take single values. field_writer and field_reader walk a message's
// fields as protocol/fields.hpp declares them, one writing, the other reading: encode and decode
// share that one declaration.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
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
    /// Marks the body malformed (a rule of the message was broken).
    void fail() noexcept { failed_ = true; }
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

/// Writes the fields a description (protocol/fields.hpp) walks, in that order.
class field_writer {
public:
    explicit field_writer(writer& out) noexcept : w_(out) {}
    void u8(std::uint8_t v) { w_.u8(v); }
    void u16(std::uint16_t v) { w_.u16(v); }
    void u32(std::uint32_t v) { w_.u32(v); }
    void u64(std::uint64_t v) { w_.u64(v); }
    void i32(std::int32_t v) { w_.u32(static_cast<std::uint32_t>(v)); }
    void i64(std::int64_t v) { w_.i64(v); }
    void boolean(bool v) { w_.boolean(v); }
    void str(const std::string& s) { w_.str(s); }
    void long_str(const std::string& s) { w_.long_str(s); }
    /// A 16-bit count, then the items; more than 65535 items are cut to the first 65535.
    template <class T> void list16(const std::vector<T>& v) {
        std::size_t n = std::min<std::size_t>(v.size(), 0xFFFF);
        w_.u16(static_cast<std::uint16_t>(n));
        first_items(v, n);
    }
    /// A 32-bit count, then the items.
    template <class T> void list32(const std::vector<T>& v) {
        std::size_t n = std::min<std::size_t>(v.size(), 0xFFFFFFFF);
        w_.u32(static_cast<std::uint32_t>(n));
        first_items(v, n);
    }
    /// A rule for received messages; what is sent is the sender's responsibility.
    void check(bool) noexcept {}

    /// One list item: a u32, or a record with fields() of its own.
    template <class T> void item(const T& x) {
        if constexpr (std::is_same_v<T, std::uint32_t>) u32(x);
        else fields(*this, x);
    }

private:
    template <class T> void first_items(const std::vector<T>& v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) item(v[i]);
    }
    writer& w_;
};

/// Reads the fields a description walks from one received body. Any failure (a read past the
/// end, a boolean that is not 0 or 1, a broken check) makes ok() false; the fields read so far
/// keep what they got and the rest get zero.
class field_reader {
public:
    explicit field_reader(std::span<const std::byte> body) noexcept : r_(body), body_size_(body.size()) {}
    void u8(std::uint8_t& v) noexcept { v = r_.u8(); }
    void u16(std::uint16_t& v) noexcept { v = r_.u16(); }
    void u32(std::uint32_t& v) noexcept { v = r_.u32(); }
    void u64(std::uint64_t& v) noexcept { v = r_.u64(); }
    void i32(std::int32_t& v) noexcept { v = static_cast<std::int32_t>(r_.u32()); }
    void i64(std::int64_t& v) noexcept { v = r_.i64(); }
    void boolean(bool& v) noexcept { v = r_.boolean(); }
    void str(std::string& s) { s = r_.str(); }
    void long_str(std::string& s) { s = r_.long_str(); }
    template <class T> void list16(std::vector<T>& v) { items(v, r_.u16()); }
    template <class T> void list32(std::vector<T>& v) { items(v, r_.u32()); }
    void check(bool valid) noexcept {
        if (!valid) r_.fail();
    }
    /// Everything was read, every rule held and nothing was left over.
    bool ok() const noexcept { return r_.ok(); }

    template <class T> void item(T& x) {
        if constexpr (std::is_same_v<T, std::uint32_t>) u32(x);
        else fields(*this, x);
    }

private:
    /// Replaces `v` with `n` items. A count larger than the whole body could hold (no item is
    /// smaller than a default-constructed one) is a lie, refused before anything is allocated.
    template <class T> void items(std::vector<T>& v, std::size_t n) {
        v.clear();
        if (n > body_size_ / smallest<T>()) r_.fail();
        for (std::size_t i = 0; i < n && !r_.failed(); ++i) item(v.emplace_back());
    }
    /// The size of the shortest encoding of a T: that of a default one (empty strings and lists).
    template <class T> static std::size_t smallest() {
        static const std::size_t size = [] {
            writer w;
            field_writer f(w);
            f.item(T{});
            return std::max<std::size_t>(w.bytes().size(), 1);
        }();
        return size;
    }
    reader r_;
    std::size_t body_size_;
};

} // namespace npipe::protocol
