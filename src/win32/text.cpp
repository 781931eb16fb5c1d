#include "win32/text.hpp"

#include <cstdio>
#include <cstring>
#include <cwchar>
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

} // namespace

std::string format16(const WCHAR* format, va_list args) {
    std::string out;
    va_list ap;
    va_copy(ap, args);
    const std::size_t n = length16(format);
    std::size_t i = 0;
    auto at = [&](std::size_t k) -> char16_t { return k < n ? static_cast<char16_t>(format[k]) : u'\0'; };
    while (i < n) {
        std::size_t literal_start = i;
        while (i < n && at(i) != u'%') ++i;
        if (i > literal_start) {
            auto lit = to_utf8(format + literal_start, i - literal_start);
            out += lit ? *lit : std::string("\xEF\xBF\xBD");
        }
        if (i >= n) break;
        ++i; // '%'
        if (at(i) == u'%') {
            out += '%';
            ++i;
            continue;
        }
        std::string spec = "%";
        while (at(i) == u'-' || at(i) == u'+' || at(i) == u' ' || at(i) == u'#' || at(i) == u'0')
            spec += static_cast<char>(at(i++));
        int width = -1, precision = -1;
        if (at(i) == u'*') {
            width = va_arg(ap, int);
            ++i;
        } else {
            while (at(i) >= u'0' && at(i) <= u'9') {
                width = (width < 0 ? 0 : width * 10) + (at(i) - u'0');
                ++i;
            }
        }
        if (at(i) == u'.') {
            ++i;
            precision = 0;
            if (at(i) == u'*') {
                precision = va_arg(ap, int);
                ++i;
            } else {
                while (at(i) >= u'0' && at(i) <= u'9') precision = precision * 10 + (at(i++) - u'0');
            }
        }
        std::string size; // h, hh, l, ll, L, z, j, t, I64, I32, w
        for (;;) {
            char16_t c = at(i);
            if (c == u'h' || c == u'l' || c == u'L' || c == u'z' || c == u'j' || c == u't' || c == u'w') {
                size += static_cast<char>(c);
                ++i;
            } else if (c == u'I' && at(i + 1) == u'6' && at(i + 2) == u'4') {
                size += "ll";
                i += 3;
            } else if (c == u'I' && at(i + 1) == u'3' && at(i + 2) == u'2') {
                i += 3;
            } else if (c == u'I') {
                size += "z";
                ++i;
            } else {
                break;
            }
        }
        char16_t conv = at(i++);
        std::string sized = spec;
        if (width >= 0) sized += std::to_string(width);
        if (precision >= 0) sized += "." + std::to_string(precision);
        switch (conv) {
        case u'd':
        case u'i':
            if (size == "ll" || size == "L" || size == "j") append_formatted(out, sized + "lld", va_arg(ap, long long));
            else if (size == "l" || size == "z" || size == "t") append_formatted(out, sized + "ld", va_arg(ap, long));
            else append_formatted(out, sized + "d", va_arg(ap, int));
            break;
        case u'u':
        case u'o':
        case u'x':
        case u'X': {
            char c = static_cast<char>(conv);
            if (size == "ll" || size == "L" || size == "j")
                append_formatted(out, sized + "ll" + c, va_arg(ap, unsigned long long));
            else if (size == "l" || size == "z" || size == "t")
                append_formatted(out, sized + "l" + c, va_arg(ap, unsigned long));
            else
                append_formatted(out, sized + c, va_arg(ap, unsigned int));
            break;
        }
        case u'e':
        case u'E':
        case u'f':
        case u'F':
        case u'g':
        case u'G':
        case u'a':
        case u'A': {
            char c = static_cast<char>(conv);
            if (size == "L") append_formatted(out, sized + "L" + c, va_arg(ap, long double));
            else append_formatted(out, sized + c, va_arg(ap, double));
            break;
        }
        case u'p': append_formatted(out, sized + "p", va_arg(ap, void*)); break;
        case u'c':
        case u'C': {
            bool narrow = (conv == u'c' && size == "h") || (conv == u'C' && size != "l" && size != "w");
            int v = va_arg(ap, int);
            std::string text;
            if (narrow) {
                text = std::string(1, static_cast<char>(v));
            } else {
                WCHAR unit = static_cast<WCHAR>(v);
                auto u8 = to_utf8(&unit, 1);
                text = u8 ? *u8 : "\xEF\xBF\xBD";
            }
            append_formatted(out, spec + (width >= 0 ? std::to_string(width) : "") + "s", text.c_str());
            break;
        }
        case u's':
        case u'S': {
            bool narrow = (conv == u's' && size == "h") || (conv == u'S' && size != "l" && size != "w");
            std::string text;
            if (narrow) {
                const char* s = va_arg(ap, const char*);
                text = s ? s : "(null)";
                if (precision >= 0 && static_cast<std::size_t>(precision) < text.size())
                    text.resize(static_cast<std::size_t>(precision));
            } else {
                const WCHAR* s = va_arg(ap, const WCHAR*);
                if (!s) {
                    text = "(null)";
                } else {
                    std::size_t len = length16(s);
                    if (precision >= 0 && static_cast<std::size_t>(precision) < len)
                        len = static_cast<std::size_t>(precision);
                    auto u8 = to_utf8(s, len);
                    text = u8 ? *u8 : "\xEF\xBF\xBD";
                }
            }
            append_formatted(out, spec + (width >= 0 ? std::to_string(width) : "") + "s", text.c_str());
            break;
        }
        case u'n': (void)va_arg(ap, int*); break; // never written: %n is a hazard
        default:
            // Unknown conversion: print it literally, as the CRT does with an invalid one.
            out += '%';
            if (conv) out += static_cast<char>(conv);
            break;
        }
    }
    va_end(ap);
    return out;
}

} // namespace npipe::win32
