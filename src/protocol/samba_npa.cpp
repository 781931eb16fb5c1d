// The named_pipe_auth request and reply, levels 7 and 8. The order below is NDR's: a structure's
// scalars (pointers as referent ids) first, then what its pointers point to, in order.
#include "protocol/samba_npa.hpp"

#include "protocol/ndr.hpp"

#include <array>
#include <cstring>

namespace npipe::protocol::samba {
namespace {

constexpr std::array<std::byte, 4> magic{std::byte{'N'}, std::byte{'P'}, std::byte{'A'}, std::byte{'M'}};
constexpr std::size_t header_size = 16; // length, magic, level, the union's copy of the level
constexpr std::size_t min_sid_size = 8;
constexpr std::size_t min_group_size = 8;
constexpr std::size_t user_info_strings = 10; // auth_user_info's string pointers
constexpr std::size_t guid_size = 16;
constexpr std::uint32_t netlogon_guest = 0x0001;        // netlogon.idl's netr_UserFlags
constexpr std::uint16_t max_claims_evaluation = 2;      // claims_evaluation_control: invalid, never, always

std::uint32_t big_endian(std::span<const std::byte, 4> b) noexcept {
    return (std::to_integer<std::uint32_t>(b[0]) << 24) | (std::to_integer<std::uint32_t>(b[1]) << 16) |
           (std::to_integer<std::uint32_t>(b[2]) << 8) | std::to_integer<std::uint32_t>(b[3]);
}

void put_big_endian(std::vector<std::byte>& out, std::size_t at, std::uint32_t v) {
    for (std::size_t i = 0; i < 4; ++i) out[at + i] = static_cast<std::byte>(v >> (24 - 8 * i));
}

/// A name, address or account: printable UTF-8 of bounded length.
std::string text(ndr::reader& r) {
    std::string s = r.string(max_name_length);
    if (!ndr::printable_utf8(s)) r.fail();
    return s;
}

std::optional<sid> read_sid(ndr::reader& r) {
    r.align(4);
    const std::uint8_t revision = r.u8();
    const std::uint8_t count = r.u8();
    auto authority_bytes = r.bytes(6);
    if (r.failed() || revision != 1 || count > sid::max_sub_authorities) {
        r.fail();
        return std::nullopt;
    }
    std::uint64_t authority = 0;
    for (auto b : authority_bytes) authority = (authority << 8) | std::to_integer<std::uint64_t>(b);
    std::array<std::uint32_t, sid::max_sub_authorities> subs{};
    for (std::size_t i = 0; i < count; ++i) subs[i] = r.u32();
    if (r.failed()) return std::nullopt;
    return sid(authority, std::span<const std::uint32_t>(subs.data(), count));
}

std::vector<sid> read_sids(ndr::reader& r, std::uint32_t n) {
    std::vector<sid> sids;
    sids.reserve(r.failed() ? 0 : n);
    for (std::uint32_t i = 0; i < n && !r.failed(); ++i)
        if (auto one = read_sid(r)) sids.push_back(*one);
    return sids;
}

/// A conformant array inside a structure: its size (which must be `n`, the count the structure
/// gave before) where the array is, each element at least `min_element_size` bytes.
void array_size(ndr::reader& r, std::uint32_t n, std::size_t min_element_size) {
    if (r.count(min_element_size) != n) r.fail();
}

/// security_token (aligned to 8 for its hyper): the SID count, the array's size that must equal
/// it, the SIDs, the privilege and rights masks. Level 8 (Samba 4.20: security.idl's claims and
/// device SIDs) goes on: the counts of local, user and device claims and of device SIDs, each
/// array's size and elements in that order, then evaluate_claims (an enum: 16 bits in NDR).
/// Claims (CLAIM_SECURITY_ATTRIBUTE_RELATIVE_V1, relative pointers) are not decoded: a token
/// with any is refused. Device SIDs are checked and dropped: they are the device's, not the
/// user's.
void read_token(ndr::reader& r, std::uint32_t level, session& s) {
    r.align(8);
    const std::uint32_t n = r.u32();
    array_size(r, n, min_sid_size);
    auto sids = read_sids(r, n);
    s.privilege_mask = r.hyper();
    s.rights_mask = r.u32();
    if (level == level_samba_4_20) {
        std::array<std::uint32_t, 3> claims{r.u32(), r.u32(), r.u32()}; // local, user, device
        const std::uint32_t device_sids = r.u32();
        for (auto c : claims)
            if (c != 0) r.fail("malformed, or a token with claims (npipe does not decode claims)");
        for (int i = 0; i < 3; ++i) array_size(r, 0, 1);
        array_size(r, device_sids, min_sid_size);
        read_sids(r, device_sids);
        if (r.u16() > max_claims_evaluation) r.fail();
    }
    s.token_sids = std::move(sids);
}

std::uint32_t id_of(ndr::reader& r) {
    const std::uint64_t v = r.hyper();
    if (v > 0xFFFFFFFFu) r.fail();
    return static_cast<std::uint32_t>(v);
}

void read_unix_token(ndr::reader& r, session& s) {
    const std::uint32_t size = r.count(min_group_size);
    unix_token t;
    t.uid = id_of(r);
    t.gid = id_of(r);
    if (r.u32() != size) r.fail();
    t.groups.reserve(r.failed() ? 0 : size);
    for (std::uint32_t i = 0; i < size && !r.failed(); ++i) t.groups.push_back(id_of(r));
    s.unix_ids = std::move(t);
}

/// auth_user_info: ten string pointers around a flag, six NTTIMEs, counters, the flags; last
/// whether the user was authenticated: a byte (level 7), or the PAC's user flags (level 8: not
/// a guest, NETLOGON_GUEST clear).
void read_user_info(ndr::reader& r, std::uint32_t level, session& s) {
    std::array<bool, user_info_strings> present{};
    present[0] = r.pointer(); // account_name
    present[1] = r.pointer(); // user_principal_name
    r.u8();                   // user_principal_constructed
    for (std::size_t i = 2; i < user_info_strings; ++i) present[i] = r.pointer();
    for (int i = 0; i < 6; ++i) r.udlong(); // last logon ... force password change
    r.u16();                                // logon_count
    r.u16();                                // bad_password_count
    r.u32();                                // acct_flags
    s.authenticated = level == level_samba_4_20 ? (r.u32() & netlogon_guest) == 0 : r.u8() != 0;
    for (std::size_t i = 0; i < user_info_strings; ++i) {
        if (!present[i]) continue;
        std::string v = text(r);
        if (i == 0) s.account_name = std::move(v);
        if (i == 2) s.domain_name = std::move(v);
    }
}

void read_user_info_unix(ndr::reader& r, session& s) {
    const bool unix_name = r.pointer();
    const bool sanitized = r.pointer();
    if (unix_name) s.unix_name = text(r);
    if (sanitized) text(r);
}

/// auth_session_info: its scalars, then the four structures its pointers name.
session read_session(ndr::reader& r, std::uint32_t level) {
    session s;
    const bool token = r.pointer(), ids = r.pointer(), info = r.pointer(), unix_info = r.pointer();
    if (r.pointer()) r.fail(); // torture: always NULL on the wire
    s.session_key = r.blob(max_session_key);
    if (r.pointer()) r.fail(); // credentials: always NULL on the wire
    r.u32();                   // unique_session_token (a GUID: 4 + 2 + 2 + 8 bytes)
    r.u16();
    r.u16();
    r.bytes(guid_size - 8);
    r.u16(); // ticket_type
    if (token) read_token(r, level, s);
    if (ids) read_unix_token(r, s);
    if (info) read_user_info(r, level, s);
    if (unix_info) read_user_info_unix(r, s);
    return s;
}

bool fail(std::string* why, std::string reason) {
    if (why) *why = std::move(reason);
    return false;
}

bool read_header(ndr::reader& r, std::span<const std::byte> whole, request& out, std::string* why) {
    if (whole.size() < header_size || whole.size() > max_request_size)
        return fail(why, "a request of " + std::to_string(whole.size()) + " bytes");
    if (big_endian(whole.first<4>()) != whole.size() - 4) return fail(why, "its length is not its size");
    r.bytes(4);
    auto m = r.bytes(4);
    if (std::memcmp(m.data(), magic.data(), magic.size()) != 0) return fail(why, "no NPAM magic");
    out.level = r.u32();
    if (r.u32() != out.level) return fail(why, "the union's level differs");
    if (out.level != level_samba_4_17 && out.level != level_samba_4_20) return fail(why, "unknown level " + std::to_string(out.level));
    return true;
}

} // namespace

std::optional<std::size_t> request_size(std::span<const std::byte, 4> header) noexcept {
    const std::size_t n = std::size_t{big_endian(header)} + 4;
    if (n < header_size || n > max_request_size) return std::nullopt;
    return n;
}

std::optional<request> decode_request(std::span<const std::byte> whole, std::string* why) {
    ndr::reader r(whole);
    request out;
    if (!read_header(r, whole, out, why)) return std::nullopt;
    out.transport = r.u8();
    const bool rc_name = r.pointer(), rc_addr = r.pointer();
    out.remote_client.port = r.u16();
    const bool ls_name = r.pointer(), ls_addr = r.pointer();
    out.local_server.port = r.u16();
    const bool session_transport = r.pointer();
    if (rc_name) out.remote_client.name = text(r);
    if (rc_addr) out.remote_client.address = text(r);
    if (ls_name) out.local_server.name = text(r);
    if (ls_addr) out.local_server.address = text(r);
    if (session_transport) {
        const bool info = r.pointer();
        r.blob(max_request_size); // exported_gssapi_credentials: not used
        if (info) out.session_info = read_session(r, out.level);
    }
    if (r.failed()) {
        fail(why, std::string(r.reason() ? r.reason() : "malformed") + " (at byte " + std::to_string(r.failed_at()) + ")");
        return std::nullopt;
    }
    if (!r.at_end()) {
        fail(why, std::to_string(whole.size() - r.position()) + " bytes left over");
        return std::nullopt;
    }
    return out;
}

namespace {

void write_sid(ndr::writer& w, const sid& s) {
    w.align(4);
    auto b = s.to_bytes(); // Windows' binary form is NDR's dom_sid without the padding
    w.bytes(std::as_bytes(std::span(b)));
}

void write_session(ndr::writer& w, std::uint32_t level, const session& s) {
    w.pointer(s.token_sids.has_value());
    w.pointer(s.unix_ids.has_value());
    w.pointer(true);
    w.pointer(true);
    w.pointer(false);
    w.blob(s.session_key);
    w.pointer(false);
    std::array<std::byte, guid_size> guid{};
    w.align(4);
    w.bytes(guid);
    w.u16(0);
    if (s.token_sids) {
        w.align(8);
        w.u32(static_cast<std::uint32_t>(s.token_sids->size()));
        w.u32(static_cast<std::uint32_t>(s.token_sids->size()));
        for (const auto& one : *s.token_sids) write_sid(w, one);
        w.hyper(s.privilege_mask);
        w.u32(s.rights_mask);
        if (level == level_samba_4_20) {
            for (int i = 0; i < 8; ++i) w.u32(0); // no claims, no device SIDs: counts, then sizes
            w.u16(2);                              // CLAIMS_EVALUATION_ALWAYS
        }
    }
    if (s.unix_ids) {
        w.u32(static_cast<std::uint32_t>(s.unix_ids->groups.size()));
        w.hyper(s.unix_ids->uid);
        w.hyper(s.unix_ids->gid);
        w.u32(static_cast<std::uint32_t>(s.unix_ids->groups.size()));
        for (auto g : s.unix_ids->groups) w.hyper(g);
    }
    w.pointer(true); // account_name
    w.pointer(false);
    w.u8(0);
    w.pointer(true); // domain_name
    for (std::size_t i = 3; i < user_info_strings; ++i) w.pointer(false);
    for (int i = 0; i < 6; ++i) w.udlong(0);
    w.u16(0);
    w.u16(0);
    w.u32(0x10); // ACB_NORMAL
    if (level == level_samba_4_20) w.u32(s.authenticated ? 0 : netlogon_guest);
    else w.u8(s.authenticated ? 1 : 0);
    w.string(s.account_name);
    w.string(s.domain_name);
    w.pointer(true);
    w.pointer(true);
    w.string(s.unix_name);
    w.string(s.unix_name);
}

} // namespace

std::vector<std::byte> encode_request(const request& r) {
    ndr::writer w;
    w.bytes(std::array<std::byte, 4>{});
    w.bytes(magic);
    w.u32(r.level);
    w.u32(r.level);
    w.u8(r.transport);
    w.pointer(true);
    w.pointer(true);
    w.u16(r.remote_client.port);
    w.pointer(true);
    w.pointer(true);
    w.u16(r.local_server.port);
    w.pointer(true);
    w.string(r.remote_client.name);
    w.string(r.remote_client.address);
    w.string(r.local_server.name);
    w.string(r.local_server.address);
    w.pointer(r.session_info.has_value());
    w.blob({});
    if (r.session_info) write_session(w, r.level, *r.session_info);
    auto& out = w.buffer();
    put_big_endian(out, 0, static_cast<std::uint32_t>(out.size() - 4));
    return std::move(out);
}

std::vector<std::byte> encode_reply(const reply& r) {
    ndr::writer w;
    w.bytes(std::array<std::byte, 4>{});
    w.bytes(magic);
    w.u32(r.level);
    w.u32(r.level);
    w.u16(static_cast<std::uint16_t>(r.type));
    w.u16(r.device_state);
    w.hyper(r.allocation_size);
    w.u32(r.status);
    auto& out = w.buffer();
    put_big_endian(out, 0, static_cast<std::uint32_t>(out.size() - 4));
    return std::move(out);
}

std::optional<reply> decode_reply(std::span<const std::byte> whole) {
    if (whole.size() != reply_size || big_endian(whole.first<4>()) != reply_size - 4) return std::nullopt;
    ndr::reader r(whole);
    r.bytes(4);
    auto m = r.bytes(4);
    reply out;
    out.level = r.u32();
    if (r.u32() != out.level || std::memcmp(m.data(), magic.data(), magic.size()) != 0) return std::nullopt;
    const std::uint16_t type = r.u16();
    out.device_state = r.u16();
    out.allocation_size = r.hyper();
    out.status = r.u32();
    if (r.failed() || !r.at_end() || (type != 1 && type != 2)) return std::nullopt;
    out.type = static_cast<file_type>(type);
    return out;
}

} // namespace npipe::protocol::samba
