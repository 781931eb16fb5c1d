#include <npipe/pipe_name.hpp>

#include <clocale>
#include <cwctype>
#include <locale.h>

namespace npipe {
namespace {

bool equals_ignore_ascii_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
        if (x >= 'A' && x <= 'Z') x = static_cast<unsigned char>(x + 32);
        if (y >= 'A' && y <= 'Z') y = static_cast<unsigned char>(y + 32);
        if (x != y) return false;
    }
    return true;
}

// Strict UTF-8 decoding: no overlong forms, no surrogates, nothing above U+10FFFF.
bool decode_utf8(std::string_view s, std::u32string& out) {
    for (std::size_t i = 0; i < s.size();) {
        auto b0 = static_cast<unsigned char>(s[i]);
        char32_t cp;
        std::size_t len;
        if (b0 < 0x80) { cp = b0; len = 1; }
        else if ((b0 & 0xE0) == 0xC0) { cp = b0 & 0x1Fu; len = 2; }
        else if ((b0 & 0xF0) == 0xE0) { cp = b0 & 0x0Fu; len = 3; }
        else if ((b0 & 0xF8) == 0xF0) { cp = b0 & 0x07u; len = 4; }
        else return false;
        if (i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            auto b = static_cast<unsigned char>(s[i + k]);
            if ((b & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        static constexpr char32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        out.push_back(cp);
        i += len;
    }
    return true;
}

void encode_utf8(char32_t cp, std::string& out) {
    if (cp < 0x80) out.push_back(static_cast<char>(cp));
    else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// Windows compares names by upper-casing each UTF-16 unit with its simple case table;
// glibc's C.UTF-8 towupper is the same simple mapping. Characters outside the BMP are
// surrogate pairs on Windows and never change.
char32_t upcase(char32_t cp) {
    static locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (cp < 0x80) return (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
    if (cp > 0xFFFF || !utf8) return cp;
    auto up = static_cast<char32_t>(towupper_l(static_cast<wint_t>(cp), utf8));
    return up <= 0xFFFF ? up : cp;
}

} // namespace

std::string pipe_name::full() const { return "\\\\" + server + "\\pipe\\" + name; }

std::optional<pipe_name> parse_pipe_name(std::string_view full, std::error_code& ec) {
    ec.clear();
    auto invalid = [&]() -> std::optional<pipe_name> {
        ec = make_error_code(win32_error::invalid_name);
        return std::nullopt;
    };
    if (full.find('\0') != std::string_view::npos) return invalid();
    if (full.size() < 2 || full[0] != '\\' || full[1] != '\\') return invalid();
    std::string_view rest = full.substr(2);
    auto sep = rest.find('\\');
    if (sep == std::string_view::npos || sep == 0) return invalid();
    std::string_view server = rest.substr(0, sep);
    rest = rest.substr(sep + 1);
    constexpr std::string_view pipe_word = "pipe\\";
    if (rest.size() < pipe_word.size() || !equals_ignore_ascii_case(rest.substr(0, 4), "pipe") ||
        rest[4] != '\\')
        return invalid();
    std::string_view name = rest.substr(pipe_word.size());
    if (name.empty()) return invalid();

    std::u32string code_points;
    if (!decode_utf8(name, code_points)) return invalid();
    std::size_t utf16_units = 0;
    for (char32_t cp : code_points) utf16_units += cp > 0xFFFF ? 2 : 1;
    if (utf16_units > max_pipe_name_length) return invalid();
    std::u32string host_points;
    if (!decode_utf8(server, host_points)) return invalid();

    pipe_name out;
    out.server = std::string(server);
    out.name = std::string(name);
    out.key.reserve(name.size());
    for (char32_t cp : code_points) encode_utf8(upcase(cp), out.key);
    return out;
}

std::string expand_pipe_name(std::string_view short_or_full) {
    if (short_or_full.size() >= 2 && short_or_full[0] == '\\' && short_or_full[1] == '\\')
        return std::string(short_or_full);
    // `//HOST/NAME`, the spelling a shell needs no quotes for: HOST ends at the first '/' after
    // the two; NAME is the rest as it is. Without that '/', the name is kept for
    // parse_pipe_name to refuse (a local NAME that starts with "//" would surprise).
    if (short_or_full.size() >= 2 && short_or_full[0] == '/' && short_or_full[1] == '/') {
        auto slash = short_or_full.find('/', 2);
        if (slash == std::string_view::npos) return std::string(short_or_full);
        return "\\\\" + std::string(short_or_full.substr(2, slash - 2)) + "\\pipe\\" +
               std::string(short_or_full.substr(slash + 1));
    }
    return "\\\\.\\pipe\\" + std::string(short_or_full);
}

} // namespace npipe
