// fuzz/fuzz_pipe_name.cpp - the pipe-name canonicaliser (parse_pipe_name, expand_pipe_name).
//
// The input is a candidate full name. Checked for every input:
//  - parse_pipe_name accepts exactly what an independent oracle accepts (the prefix rules, and
//    well-formed UTF-8 per the Unicode standard's table 3-7, written here from the table rather
//    than from src/), with the same server and NAME; it fails only with ERROR_INVALID_NAME;
//  - the key has NAME's code points and UTF-16 length, ASCII letters upper-cased;
//  - canonicalising is idempotent: the key, as a NAME, has itself as key;
//  - ASCII case changes anywhere in the input change neither validity nor the key;
//  - full() spells the input back (prefix in lower case) and parses to the same name;
//  - expand_pipe_name keeps full names and prefixes the others.
#include "fuzz_check.hpp"

#include <npipe/error.hpp>
#include <npipe/pipe_name.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

// Well-formed UTF-8 (Unicode 15, table 3-7). The code points, or nothing.
std::optional<std::vector<char32_t>> utf8_code_points(std::string_view s) {
    std::vector<char32_t> out;
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    auto in = [](unsigned char b, unsigned lo, unsigned hi) { return b >= lo && b <= hi; };
    while (i < s.size()) {
        unsigned char b0 = at(i);
        std::size_t len;
        unsigned lo = 0x80, hi = 0xBF; // range of the second byte
        if (b0 <= 0x7F) len = 1;
        else if (in(b0, 0xC2, 0xDF)) len = 2;
        else if (b0 == 0xE0) { len = 3; lo = 0xA0; }
        else if (in(b0, 0xE1, 0xEC) || in(b0, 0xEE, 0xEF)) len = 3;
        else if (b0 == 0xED) { len = 3; hi = 0x9F; }
        else if (b0 == 0xF0) { len = 4; lo = 0x90; }
        else if (in(b0, 0xF1, 0xF3)) len = 4;
        else if (b0 == 0xF4) { len = 4; hi = 0x8F; }
        else return std::nullopt;
        if (s.size() - i < len) return std::nullopt;
        char32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
        for (std::size_t k = 1; k < len; ++k) {
            unsigned char b = at(i + k);
            if (k == 1 ? !in(b, lo, hi) : !in(b, 0x80, 0xBF)) return std::nullopt;
            cp = (cp << 6) | (b & 0x3Fu);
        }
        out.push_back(cp);
        i += len;
    }
    return out;
}

std::size_t utf16_units(const std::vector<char32_t>& cps) {
    std::size_t n = 0;
    for (char32_t c : cps) n += c > 0xFFFF ? 2 : 1;
    return n;
}

struct expected_name {
    std::string_view server, name;
};

// What parse_pipe_name must accept, written from the header's contract.
std::optional<expected_name> oracle(std::string_view s) {
    if (s.find('\0') != std::string_view::npos) return std::nullopt;
    if (s.substr(0, 2) != "\\\\") return std::nullopt;
    auto rest = s.substr(2);
    auto sep = rest.find('\\');
    if (sep == std::string_view::npos || sep == 0) return std::nullopt;
    auto server = rest.substr(0, sep);
    rest = rest.substr(sep + 1);
    if (rest.size() < 5 || rest[4] != '\\') return std::nullopt;
    for (std::size_t i = 0; i < 4; ++i)
        if ((rest[i] | 0x20) != "pipe"[i]) return std::nullopt;
    auto name = rest.substr(5);
    if (name.empty() || !utf8_code_points(server)) return std::nullopt;
    auto cps = utf8_code_points(name);
    if (!cps || utf16_units(*cps) > npipe::max_pipe_name_length) return std::nullopt;
    return expected_name{server, name};
}

std::optional<npipe::pipe_name> parse(std::string_view s) {
    std::error_code ec;
    auto r = npipe::parse_pipe_name(s, ec);
    FUZZ_CHECK(r.has_value() == !ec);
    if (!r) FUZZ_CHECK(ec == npipe::win32_error::invalid_name);
    return r;
}

std::string flip_ascii_case(std::string_view s, bool upper) {
    std::string out(s);
    for (char& c : out) {
        if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
        if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    return out;
}

void check(std::string_view input) {
    auto expected = oracle(input);
    auto got = parse(input);
    FUZZ_CHECK(got.has_value() == expected.has_value());

    // expand_pipe_name: full names are kept, //HOST/NAME becomes \\HOST\pipe\NAME, anything
    // else becomes a local NAME.
    auto expanded = npipe::expand_pipe_name(input);
    if (input.substr(0, 2) == "\\\\") {
        FUZZ_CHECK(expanded == input);
    } else if (input.substr(0, 2) == "//") {
        auto slash = input.find('/', 2);
        if (slash == std::string_view::npos) FUZZ_CHECK(expanded == input);
        else FUZZ_CHECK(expanded == "\\\\" + std::string(input.substr(2, slash - 2)) + "\\pipe\\" +
                                    std::string(input.substr(slash + 1)));
    } else {
        FUZZ_CHECK(expanded == "\\\\.\\pipe\\" + std::string(input));
    }

    // ASCII case never matters: not for validity, not for the key.
    for (bool upper : {false, true}) {
        auto other = parse(flip_ascii_case(input, upper));
        FUZZ_CHECK(other.has_value() == got.has_value());
        if (got) FUZZ_CHECK(other->key == got->key);
    }
    if (!got) return;

    FUZZ_CHECK(got->server == expected->server);
    FUZZ_CHECK(got->name == expected->name);
    FUZZ_CHECK(got->is_local() == (got->server == "."));

    // The key: same code points count and UTF-16 length as NAME, ASCII upper-cased.
    auto name_cps = utf8_code_points(got->name);
    auto key_cps = utf8_code_points(got->key);
    FUZZ_CHECK(name_cps && key_cps);
    FUZZ_CHECK(name_cps->size() == key_cps->size());
    FUZZ_CHECK(utf16_units(*name_cps) == utf16_units(*key_cps));
    for (std::size_t i = 0; i < name_cps->size(); ++i) {
        char32_t n = (*name_cps)[i], k = (*key_cps)[i];
        if (n < 0x80) FUZZ_CHECK(k == ((n >= 'a' && n <= 'z') ? n - 32 : n));
        if (n > 0xFFFF) FUZZ_CHECK(k == n); // outside the BMP nothing changes case
        FUZZ_CHECK((n == '\\') == (k == '\\'));
    }

    // Canonicalising a canonical name is the identity.
    auto again = parse("\\\\.\\pipe\\" + got->key);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(again->key == got->key);

    // full() spells the same name, with the prefix in its usual case.
    auto full = got->full();
    FUZZ_CHECK(full.size() == input.size());
    FUZZ_CHECK(flip_ascii_case(full, false) == flip_ascii_case(input, false));
    auto reparsed = parse(full);
    FUZZ_CHECK(reparsed.has_value());
    FUZZ_CHECK(reparsed->server == got->server && reparsed->name == got->name && reparsed->key == got->key);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
