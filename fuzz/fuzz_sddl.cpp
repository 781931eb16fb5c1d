// fuzz/fuzz_sddl.cpp - the SDDL parser (parse_sddl), the SID parser and binary SIDs, and
// access_check over whatever parses.
//
// Checked for every input:
//  - parse_sddl fails only with ERROR_INVALID_PARAMETER and an offset inside the text; what the
//    `known` policy accepts, `any` accepts as the same descriptor; over-long text is refused;
//  - what parses prints back (to_sddl) as canonical text without whitespace that parses to the
//    same descriptor and prints the same again;
//  - a present DACL has DACL_PRESENT and fits Windows' 65,535-byte ACL;
//  - every SID in it survives to_string/parse and to_bytes/from_bytes, and is is_known() when
//    the known policy accepted it;
//  - access_check answers consistently (granted <=> non-zero granted access, a refusal grants
//    nothing, a plain request is granted exactly as mapped, the same answer twice);
//  - the input as a SID string and as a binary SID round-trips when it parses.
#include "fuzz_check.hpp"

#include <npipe/error.hpp>
#include <npipe/security.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

using namespace npipe;

namespace {

void check_sid(const sid& s, bool must_be_known) {
    if (must_be_known) FUZZ_CHECK(s.is_known());
    std::error_code ec;
    auto text = s.to_string();
    auto back = sid::parse(text, ec);
    FUZZ_CHECK(back.has_value() && *back == s);
    auto alias = sid::parse(s.to_sddl(), ec);
    FUZZ_CHECK(alias.has_value() && *alias == s);
    auto raw = s.to_bytes();
    FUZZ_CHECK(raw.size() == s.byte_size());
    auto from = sid::from_bytes(raw, ec);
    FUZZ_CHECK(from.has_value() && *from == s);
}

std::optional<security_descriptor> parse(std::string_view text, sid_policy policy) {
    std::error_code ec;
    sddl_error err;
    auto sd = parse_sddl(text, ec, &err, policy);
    FUZZ_CHECK(sd.has_value() == !ec);
    if (!sd) {
        FUZZ_CHECK(ec == win32_error::invalid_parameter);
        FUZZ_CHECK(err.offset <= text.size());
        FUZZ_CHECK(!err.message.empty());
    }
    return sd;
}

void check_access(const security_descriptor& sd, const access_identity& who, std::uint32_t desired) {
    auto r = access_check(sd, who, desired);
    FUZZ_CHECK(r.granted == (r.granted_access != 0));
    FUZZ_CHECK(!r.reason.empty());
    if (desired == 0 || (desired & rights::ACCESS_SYSTEM_SECURITY)) FUZZ_CHECK(!r.granted);
    if (r.granted && !(desired & rights::MAXIMUM_ALLOWED))
        FUZZ_CHECK(r.granted_access == map_generic(desired, pipe_generic_mapping));
    if (!sd.dacl && desired != 0 && !(desired & (rights::ACCESS_SYSTEM_SECURITY | rights::MAXIMUM_ALLOWED)))
        FUZZ_CHECK(r.granted); // a NULL DACL grants everything asked
    auto again = access_check(sd, who, desired);
    FUZZ_CHECK(again.granted == r.granted && again.granted_access == r.granted_access);
}

void check_descriptor(const security_descriptor& sd, std::string_view input, sid_policy policy) {
    auto text = sd.to_sddl();
    FUZZ_CHECK(text.find_first_of(" \t\r\n") == std::string::npos);
    auto back = parse(text, policy);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == sd);
    FUZZ_CHECK(back->to_sddl() == text);

    if (sd.dacl) {
        FUZZ_CHECK(sd.control & sd_control::DACL_PRESENT);
        FUZZ_CHECK(acl_byte_size(*sd.dacl) <= max_acl_size);
    }
    bool known = policy == sid_policy::known;
    if (sd.owner) check_sid(*sd.owner, known);
    if (sd.group) check_sid(*sd.group, known);
    if (sd.dacl)
        for (const auto& a : *sd.dacl) check_sid(a.trustee, known);

    // A few askers and requests, picked by the input so that each run tries different ones.
    std::uint32_t h = 2166136261u;
    for (char c : input) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
    access_identity user{.uid = 1000, .gid = 1000, .groups = {27, h % 4}};
    access_identity root{.uid = 0, .gid = 0};
    access_identity anonymous{.anonymous = true, .remote = (h & 1) != 0};
    for (const auto* who : {&user, &root, &anonymous})
        for (std::uint32_t desired : {rights::GENERIC_READ, rights::GENERIC_WRITE | rights::GENERIC_READ,
                                      rights::MAXIMUM_ALLOWED, rights::FILE_CREATE_PIPE_INSTANCE, h, 0u})
            check_access(sd, *who, desired);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);

    auto known = parse(input, sid_policy::known);
    auto any = parse(input, sid_policy::any);
    if (known) {
        FUZZ_CHECK(any.has_value() && *any == *known); // `any` only widens the SIDs accepted
        check_descriptor(*known, input, sid_policy::known);
    }
    if (any) check_descriptor(*any, input, sid_policy::any);
    if (input.size() > max_sddl_length) FUZZ_CHECK(!any);

    // The input as one SID, in text and in binary.
    std::error_code ec;
    if (auto s = sid::parse(input, ec)) check_sid(*s, false);
    else FUZZ_CHECK(ec == win32_error::invalid_parameter);
    auto bytes = std::span<const std::uint8_t>(data, size);
    if (auto s = sid::from_bytes(bytes, ec)) {
        auto raw = s->to_bytes();
        FUZZ_CHECK(std::equal(raw.begin(), raw.end(), bytes.begin(), bytes.end()));
        check_sid(*s, false);
    }
    return 0;
}
