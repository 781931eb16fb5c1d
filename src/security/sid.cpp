// The sid value type: construction, well-known aliases, text and binary forms.
#include "security/sddl_text.hpp"

#include <cassert>
#include <cstdio>

namespace npipe {
namespace {

using detail::fail;

constexpr std::uint64_t max_authority = (std::uint64_t{1} << 48) - 1;

struct alias_entry {
    std::string_view alias;
    std::uint64_t authority;
    std::uint32_t sub0;
    std::uint32_t sub1; // 0 with count 1
    std::uint8_t count;
};

// The aliases of docs/SECURITY.md plus CG and OW (Microsoft's "SID strings" table).
constexpr alias_entry aliases[] = {
    {"WD", 1, 0, 0, 1},   {"CO", 3, 0, 0, 1},  {"CG", 3, 1, 0, 1},  {"OW", 3, 4, 0, 1},
    {"NU", 5, 2, 0, 1},   {"IU", 5, 4, 0, 1},  {"AN", 5, 7, 0, 1},  {"AU", 5, 11, 0, 1},
    {"SY", 5, 18, 0, 1},  {"BA", 5, 32, 544, 2},
};

bool matches(const alias_entry& e, const sid& s) noexcept {
    auto subs = s.sub_authorities();
    if (s.identifier_authority() != e.authority || subs.size() != e.count) return false;
    return subs[0] == e.sub0 && (e.count == 1 || subs[1] == e.sub1);
}

bool is_upper(char c) noexcept { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool is_letter(char c) noexcept { return is_upper(c) || is_lower(c); }
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

int hex_value(char c) noexcept {
    if (is_digit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// One decimal or 0x-hex number no larger than `limit`, starting at `pos`.
bool parse_number(std::string_view text, std::size_t& pos, std::uint64_t limit, std::string_view what,
                  std::uint64_t& out, sddl_error& error) {
    const std::size_t start = pos;
    std::uint64_t value = 0;
    if (pos + 1 < text.size() && text[pos] == '0' && (text[pos + 1] == 'x' || text[pos + 1] == 'X')) {
        pos += 2;
        const std::size_t digits = pos;
        while (pos < text.size() && hex_value(text[pos]) >= 0) {
            // A letter followed by ':' starts the next component ("O:S-1-5-0x12D:...").
            if (pos + 1 < text.size() && text[pos + 1] == ':' && is_letter(text[pos])) break;
            value = value * 16 + static_cast<std::uint64_t>(hex_value(text[pos]));
            if (value > limit) {
                fail(error, start, std::string(what) + " is too large");
                return false;
            }
            ++pos;
        }
        if (pos == digits) {
            fail(error, digits, "expected hexadecimal digits after '0x'");
            return false;
        }
    } else {
        if (pos >= text.size() || !is_digit(text[pos])) {
            fail(error, pos, "expected " + std::string(what) + " (a decimal or 0x number)");
            return false;
        }
        while (pos < text.size() && is_digit(text[pos])) {
            value = value * 10 + static_cast<std::uint64_t>(text[pos] - '0');
            if (value > limit) {
                fail(error, start, std::string(what) + " is too large");
                return false;
            }
            ++pos;
        }
    }
    out = value;
    return true;
}

std::string known_aliases_list() {
    std::string list;
    for (const auto& e : aliases) {
        if (!list.empty()) list += ' ';
        list += e.alias;
    }
    return list;
}

} // namespace

namespace detail {

std::optional<sid> sid_for_alias(std::string_view alias) noexcept {
    for (const auto& e : aliases)
        if (e.alias == alias)
            return e.count == 1 ? sid(e.authority, {e.sub0}) : sid(e.authority, {e.sub0, e.sub1});
    return std::nullopt;
}

void fail(sddl_error& error, std::size_t offset, std::string_view what) {
    error.offset = offset;
    error.message = std::string(what) + " at offset " + std::to_string(offset);
}

std::string quote_with_case_hint(std::string_view token, bool upper_case_is_valid) {
    std::string quoted = "'" + std::string(token) + "'";
    if (!upper_case_is_valid) return quoted;
    std::string upper(token);
    for (char& c : upper)
        if (is_lower(c)) c = static_cast<char>(c - 'a' + 'A');
    if (upper == token) return quoted;
    return quoted + " (SDDL is upper case: write '" + upper + "')";
}

bool parse_sid_at(std::string_view text, std::size_t& pos, sid& out, sddl_error& error,
                  sid_policy policy) {
    const std::size_t start = pos;
    if (pos + 1 < text.size() && (text[pos] == 'S' || text[pos] == 's') && text[pos + 1] == '-') {
        if (text[pos] == 's') {
            fail(error, pos, "SID strings start with an upper-case 'S-'");
            return false;
        }
        pos += 2;
        std::uint64_t revision = 0;
        if (!parse_number(text, pos, 0xFF, "a SID revision", revision, error)) return false;
        if (revision != 1) {
            fail(error, start + 2, "SID revision " + std::to_string(revision) + " is not 1");
            return false;
        }
        if (pos >= text.size() || text[pos] != '-') {
            fail(error, pos, "expected '-' and the SID's identifier authority");
            return false;
        }
        ++pos;
        std::uint64_t authority = 0;
        if (!parse_number(text, pos, max_authority, "a SID identifier authority (48 bits)", authority,
                          error))
            return false;
        std::uint32_t subs[sid::max_sub_authorities] = {};
        std::size_t count = 0;
        // A '-' after a number always introduces another sub-authority.
        while (pos < text.size() && text[pos] == '-') {
            if (count == sid::max_sub_authorities) {
                fail(error, pos, "a SID holds at most 15 sub-authorities; the 16th is");
                return false;
            }
            ++pos;
            std::uint64_t value = 0;
            if (!parse_number(text, pos, 0xFFFFFFFF, "a SID sub-authority (32 bits)", value, error))
                return false;
            subs[count++] = static_cast<std::uint32_t>(value);
        }
        out = sid(authority, std::span<const std::uint32_t>(subs, count));
        if (policy == sid_policy::known && !out.is_known()) {
            fail(error, start,
                 "SID " + out.to_string() + " means nobody on this system (npipe knows " +
                     known_aliases_list() + ", S-1-22-1-<uid>, S-1-22-2-<gid> and domain accounts S-1-5-21-...)");
            return false;
        }
        return true;
    }
    if (pos + 1 < text.size() && is_letter(text[pos]) && is_letter(text[pos + 1])) {
        std::string_view token = text.substr(pos, 2);
        if (auto found = sid_for_alias(token)) {
            out = *found;
            pos += 2;
            return true;
        }
        std::string upper{token};
        for (char& c : upper)
            if (is_lower(c)) c = static_cast<char>(c - 'a' + 'A');
        fail(error, pos,
             "unknown SID alias " + quote_with_case_hint(token, sid_for_alias(upper).has_value()) +
                 " (npipe knows " + known_aliases_list() + ")");
        return false;
    }
    fail(error, pos, "expected a SID (S-1-... or a two-letter alias such as BA)");
    return false;
}

} // namespace detail

sid::sid(std::uint64_t authority, std::span<const std::uint32_t> sub_authorities)
    : authority_(authority), count_(static_cast<std::uint8_t>(sub_authorities.size())) {
    assert(authority <= max_authority && sub_authorities.size() <= max_sub_authorities);
    std::size_t i = 0;
    for (auto v : sub_authorities) subs_[i++] = v;
}

sid::sid(std::uint64_t authority, std::initializer_list<std::uint32_t> sub_authorities)
    : sid(authority, std::span<const std::uint32_t>(sub_authorities.begin(), sub_authorities.size())) {}

std::optional<sid> sid::parse(std::string_view text, std::error_code& ec, sddl_error* error,
                              sid_policy policy) {
    ec.clear();
    sddl_error local;
    sddl_error& err = error ? *error : local;
    std::size_t pos = 0;
    sid out;
    bool ok = detail::parse_sid_at(text, pos, out, err, policy);
    if (ok && pos != text.size()) {
        detail::fail(err, pos, "unexpected text after the SID");
        ok = false;
    }
    if (!ok) {
        ec = make_error_code(win32_error::invalid_parameter);
        return std::nullopt;
    }
    return out;
}

std::optional<sid> sid::from_bytes(std::span<const std::uint8_t> bytes, std::error_code& ec) {
    ec.clear();
    if (bytes.size() < 8 || bytes[0] != 1 || bytes[1] > max_sub_authorities ||
        bytes.size() != 8 + 4 * std::size_t{bytes[1]}) {
        ec = make_error_code(win32_error::invalid_parameter);
        return std::nullopt;
    }
    sid out;
    for (std::size_t i = 0; i < 6; ++i) out.authority_ = (out.authority_ << 8) | bytes[2 + i];
    out.count_ = bytes[1];
    for (std::size_t i = 0; i < out.count_; ++i) {
        std::uint32_t v = 0;
        for (std::size_t b = 0; b < 4; ++b)
            v |= static_cast<std::uint32_t>(bytes[8 + 4 * i + b]) << (8 * b);
        out.subs_[i] = v;
    }
    return out;
}

std::vector<std::uint8_t> sid::to_bytes() const {
    std::vector<std::uint8_t> bytes(byte_size());
    bytes[0] = 1;
    bytes[1] = count_;
    for (std::size_t i = 0; i < 6; ++i)
        bytes[2 + i] = static_cast<std::uint8_t>(authority_ >> (8 * (5 - i)));
    for (std::size_t i = 0; i < count_; ++i)
        for (std::size_t b = 0; b < 4; ++b)
            bytes[8 + 4 * i + b] = static_cast<std::uint8_t>(subs_[i] >> (8 * b));
    return bytes;
}

std::string sid::to_string() const {
    std::string out = "S-1-";
    if (authority_ <= 0xFFFFFFFF) {
        out += std::to_string(authority_);
    } else {
        char hex[24];
        std::snprintf(hex, sizeof hex, "0x%012llX", static_cast<unsigned long long>(authority_));
        out += hex;
    }
    for (std::size_t i = 0; i < count_; ++i) {
        out += '-';
        out += std::to_string(subs_[i]);
    }
    return out;
}

std::string_view sid::alias() const noexcept {
    for (const auto& e : aliases)
        if (matches(e, *this)) return e.alias;
    return {};
}

std::string sid::to_sddl() const {
    auto a = alias();
    return a.empty() ? to_string() : std::string(a);
}

std::optional<std::uint32_t> sid::uid() const noexcept {
    if (authority_ == 22 && count_ == 2 && subs_[0] == 1) return subs_[1];
    return std::nullopt;
}

std::optional<std::uint32_t> sid::gid() const noexcept {
    if (authority_ == 22 && count_ == 2 && subs_[0] == 2) return subs_[1];
    return std::nullopt;
}

bool sid::is_known() const noexcept {
    // S-1-5-21-...: an account (or group) of a Windows or Samba domain. No local process holds
    // one, but an SMB user coming through smbd does (broker/samba_identity.hpp), so a DACL may
    // name one; the authority alone (no domain, no account) still names nobody.
    bool domain_account = authority_ == 5 && count_ >= 2 && subs_[0] == 21;
    return uid() || gid() || !alias().empty() || domain_account;
}

} // namespace npipe

std::size_t std::hash<npipe::sid>::operator()(const npipe::sid& s) const noexcept {
    std::uint64_t h = 1469598103934665603ull ^ s.identifier_authority();
    for (auto v : s.sub_authorities()) h = (h ^ v) * 1099511628211ull;
    return static_cast<std::size_t>(h ^ (h >> 32));
}
