#include "win32/text.hpp"

#include <cstdio>
#include <cstring>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace npipe::win32 {

std::size_t length16(const WCHAR* s) noexcept {
    std::size_t n = 0;
    if (s)
        while (s[n]) ++n;
    return n;
}

std::optional<std::string> to_utf8(const WCHAR* s, std::size_t length) {
    std::string out;
    out.reserve(length);
    for (std::size_t i = 0; i < length; ++i) {
        char32_t c = static_cast<char16_t>(s[i]);
        if (c >= 0xD800 && c <= 0xDBFF) {
            if (i + 1 >= length) return std::nullopt;
            char32_t low = static_cast<char16_t>(s[i + 1]);
            if (low < 0xDC00 || low > 0xDFFF) return std::nullopt;
            c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
            ++i;
        } else if (c >= 0xDC00 && c <= 0xDFFF) {
            return std::nullopt;
        }
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    return out;
}

std::string to_utf8_lossy(const WCHAR* s, std::size_t length) {
    auto is_high = [](char16_t c) { return c >= 0xD800 && c <= 0xDBFF; };
    auto is_low = [](char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; };
    std::u16string units(s, s + length);
    for (std::size_t i = 0; i < units.size(); ++i) {
        if (is_high(units[i]) && i + 1 < units.size() && is_low(units[i + 1]))
            ++i; // a pair: keep both
        else if (is_high(units[i]) || is_low(units[i]))
            units[i] = 0xFFFD;
    }
    return to_utf8(units.data(), units.size()).value_or(std::string{});
}

std::u16string to_utf16(std::string_view s) {
    std::u16string out;
    out.reserve(s.size());
    std::size_t i = 0;
    auto cont = [&](std::size_t k) {
        return k < s.size() && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80;
    };
    while (i < s.size()) {
        auto b = static_cast<unsigned char>(s[i]);
        char32_t c = 0xFFFD;
        std::size_t used = 1;
        if (b < 0x80) {
            c = b;
        } else if ((b & 0xE0) == 0xC0 && cont(i + 1)) {
            c = ((b & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
            used = 2;
            if (c < 0x80) c = 0xFFFD;
        } else if ((b & 0xF0) == 0xE0 && cont(i + 1) && cont(i + 2)) {
            c = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 6) |
                (static_cast<unsigned char>(s[i + 2]) & 0x3Fu);
            used = 3;
            if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF)) c = 0xFFFD;
        } else if ((b & 0xF8) == 0xF0 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
            c = ((b & 0x07u) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3Fu) << 12) |
                ((static_cast<unsigned char>(s[i + 2]) & 0x3Fu) << 6) |
                (static_cast<unsigned char>(s[i + 3]) & 0x3Fu);
            used = 4;
            if (c < 0x10000 || c > 0x10FFFF) c = 0xFFFD;
        }
        i += used;
        if (c >= 0x10000) {
            c -= 0x10000;
            out += static_cast<char16_t>(0xD800 + (c >> 10));
            out += static_cast<char16_t>(0xDC00 + (c & 0x3FF));
        } else {
            out += static_cast<char16_t>(c);
        }
    }
    return out;
}

bool copy16(WCHAR* dest, std::size_t capacity, std::u16string_view text) noexcept {
    if (capacity == 0) return false;
    std::size_t n = std::min(text.size(), capacity - 1);
    for (std::size_t i = 0; i < n; ++i) dest[i] = static_cast<WCHAR>(text[i]);
    dest[n] = 0;
    return n == text.size();
}

namespace {

/// snprintf into a std::string.
template <class... A>
void append_formatted(std::string& out, const std::string& spec, A... args) {
    int n = std::snprintf(nullptr, 0, spec.c_str(), args...);
    if (n <= 0) return;
    std::vector<char> buf(static_cast<std::size_t>(n) + 1);
    std::snprintf(buf.data(), buf.size(), spec.c_str(), args...);
    out.append(buf.data(), static_cast<std::size_t>(n));
}

/// Appends `text` padded to `width` characters (UTF-16 units, as the Microsoft runtime counts).
void append_padded(std::string& out, const std::string& text, int width, bool left) {
    auto units = static_cast<int>(to_utf16(text).size());
    std::string pad(width > units ? static_cast<std::size_t>(width - units) : 0, ' ');
    out += left ? text + pad : pad + text;
}

std::string utf8_of_units(const WCHAR* s, std::size_t n) {
    auto u8 = to_utf8(s, n);
    return u8 ? *u8 : std::string("\xEF\xBF\xBD");
}

/// One conversion of a format: %[flags][width][.precision][size]conv.
struct conversion {
    std::string flags;
    int width = -1, precision = -1;
    std::string size; // h, hh, l, ll, L, z, j, t, w (I64 as ll, I as z; I32 dropped)
    char32_t conv = 0;
    bool left() const { return flags.find('-') != std::string::npos; }
    /// The conversion as the C library's printf takes it, without size and letter.
    std::string spec() const {
        std::string out = "%" + flags;
        if (width >= 0) out += std::to_string(width);
        if (precision >= 0) out += "." + std::to_string(precision);
        return out;
    }
};

/// Reads one conversion at `at(i)` (after its '%'); `*` takes its value from `ap`.
template <class At>
conversion parse_conversion(At at, std::size_t& i, va_list& ap) {
    conversion c;
    while (at(i) == U'-' || at(i) == U'+' || at(i) == U' ' || at(i) == U'#' || at(i) == U'0')
        c.flags += static_cast<char>(at(i++));
    if (at(i) == U'*') {
        c.width = va_arg(ap, int);
        ++i;
        if (c.width < 0) { // a negative width is a '-' flag and the positive width
            c.flags += '-';
            c.width = -c.width;
        }
    } else {
        while (at(i) >= U'0' && at(i) <= U'9') c.width = (c.width < 0 ? 0 : c.width * 10) + static_cast<int>(at(i++) - U'0');
    }
    if (at(i) == U'.') {
        ++i;
        c.precision = 0;
        if (at(i) == U'*') {
            c.precision = va_arg(ap, int);
            ++i;
        } else {
            while (at(i) >= U'0' && at(i) <= U'9') c.precision = c.precision * 10 + static_cast<int>(at(i++) - U'0');
        }
    }
    for (;;) {
        char32_t ch = at(i);
        if (ch == U'h' || ch == U'l' || ch == U'L' || ch == U'z' || ch == U'j' || ch == U't' || ch == U'w') {
            c.size += static_cast<char>(ch);
            ++i;
        } else if (ch == U'I' && at(i + 1) == U'6' && at(i + 2) == U'4') {
            c.size += "ll";
            i += 3;
        } else if (ch == U'I' && at(i + 1) == U'3' && at(i + 2) == U'2') {
            i += 3;
        } else if (ch == U'I') {
            c.size += "z";
            ++i;
        } else {
            break;
        }
    }
    c.conv = at(i++);
    return c;
}

void append_integer(std::string& out, const conversion& c, va_list& ap) {
    const std::string& z = c.size;
    if (c.conv == U'd' || c.conv == U'i') {
        std::string spec = c.spec();
        if (z == "ll" || z == "L" || z == "j") append_formatted(out, spec + "lld", va_arg(ap, long long));
        else if (z == "l" || z == "z" || z == "t") append_formatted(out, spec + "ld", va_arg(ap, long));
        else if (z == "hh") append_formatted(out, spec + "d", static_cast<int>(static_cast<signed char>(va_arg(ap, int))));
        else if (z == "h") append_formatted(out, spec + "d", static_cast<int>(static_cast<short>(va_arg(ap, int))));
        else append_formatted(out, spec + "d", va_arg(ap, int));
        return;
    }
    std::string spec = c.spec();
    char letter = static_cast<char>(c.conv);
    if (z == "ll" || z == "L" || z == "j") append_formatted(out, spec + "ll" + letter, va_arg(ap, unsigned long long));
    else if (z == "l" || z == "z" || z == "t") append_formatted(out, spec + "l" + letter, va_arg(ap, unsigned long));
    else if (z == "hh")
        append_formatted(out, spec + letter, static_cast<unsigned>(static_cast<unsigned char>(va_arg(ap, unsigned))));
    else if (z == "h")
        append_formatted(out, spec + letter, static_cast<unsigned>(static_cast<unsigned short>(va_arg(ap, unsigned))));
    else append_formatted(out, spec + letter, va_arg(ap, unsigned int));
}

/// %c and %s: `wide_arg` says whether the argument is a WCHAR (string) or a char (string).
void append_text(std::string& out, const conversion& c, bool wide_arg, va_list& ap) {
    std::string text;
    if (c.conv == U'c' || c.conv == U'C') {
        int v = va_arg(ap, int);
        WCHAR unit = static_cast<WCHAR>(v);
        text = wide_arg ? utf8_of_units(&unit, 1) : std::string(1, static_cast<char>(v));
    } else if (!wide_arg) {
        const char* p = va_arg(ap, const char*);
        text = p ? p : "(null)";
        if (c.precision >= 0 && static_cast<std::size_t>(c.precision) < text.size())
            text.resize(static_cast<std::size_t>(c.precision));
    } else if (const WCHAR* p = va_arg(ap, const WCHAR*); !p) {
        text = "(null)";
    } else {
        std::size_t len = length16(p);
        if (c.precision >= 0 && static_cast<std::size_t>(c.precision) < len) len = static_cast<std::size_t>(c.precision);
        text = utf8_of_units(p, len);
    }
    append_padded(out, text, c.width, c.left());
}

/// One conversion's output. `wide_format`: the format is WCHAR (%s is then a wide string).
void append_conversion(std::string& out, const conversion& c, bool wide_format, va_list& ap) {
    const std::string& z = c.size;
    bool wide_arg = (c.conv == U's' || c.conv == U'c') ? (wide_format ? z != "h" : (z == "l" || z == "w"))
                                                       : (wide_format ? (z == "l" || z == "w") : z != "h");
    switch (c.conv) {
    case U'd': case U'i': case U'u': case U'o': case U'x': case U'X': append_integer(out, c, ap); break;
    case U'e': case U'E': case U'f': case U'F': case U'g': case U'G': case U'a': case U'A': {
        char letter = static_cast<char>(c.conv);
        if (z == "L") append_formatted(out, c.spec() + "L" + letter, va_arg(ap, long double));
        else append_formatted(out, c.spec() + letter, va_arg(ap, double));
        break;
    }
    case U'p': // the Microsoft runtime: the address in upper-case hex, all 16 digits
        append_formatted(out, "%" + c.flags + (c.width >= 0 ? std::to_string(c.width) : "") + "016llX",
                         static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(va_arg(ap, void*))));
        break;
    case U'c': case U'C': case U's': case U'S': append_text(out, c, wide_arg, ap); break;
    case U'n': (void)va_arg(ap, int*); break; // never written: %n is a hazard
    default:
        // Unknown conversion: print it literally, as the CRT does with an invalid one.
        out += '%';
        if (c.conv) out += static_cast<char>(c.conv);
        break;
    }
}

/// The printf engine of the Microsoft C runtime for a narrow (char) or wide (WCHAR) format:
/// %s and %c take the format's own kind of string and character, %S and %C the other kind,
/// h/l (and w) force narrow/wide. The result is UTF-8.
template <class C>
std::string format_engine(const C* format, va_list args) {
    constexpr bool wide_format = sizeof(C) == 2;
    std::string out;
    va_list ap;
    va_copy(ap, args);
    std::size_t n = 0;
    while (format[n]) ++n;
    auto at = [&](std::size_t k) -> char32_t {
        return k < n ? static_cast<char32_t>(static_cast<std::make_unsigned_t<C>>(format[k])) : U'\0';
    };
    std::size_t i = 0;
    while (i < n) {
        std::size_t literal_start = i;
        while (i < n && at(i) != U'%') ++i;
        if (i > literal_start) {
            if constexpr (wide_format)
                out += utf8_of_units(reinterpret_cast<const WCHAR*>(format) + literal_start, i - literal_start);
            else
                out.append(reinterpret_cast<const char*>(format) + literal_start, i - literal_start);
        }
        if (i >= n) break;
        ++i; // '%'
        if (at(i) == U'%') {
            out += '%';
            ++i;
            continue;
        }
        append_conversion(out, parse_conversion(at, i, ap), wide_format, ap);
    }
    va_end(ap);
    return out;
}

} // namespace

std::string format16(const WCHAR* format, va_list args) { return format_engine(format, args); }
std::string format8(const char* format, va_list args) { return format_engine(format, args); }

} // namespace npipe::win32
