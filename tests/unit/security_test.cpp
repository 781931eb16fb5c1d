#include <npipe/security.hpp>

#include <gtest/gtest.h>

#include <set>
#include <unordered_set>

using namespace npipe;
using namespace npipe::rights;

namespace {

// The input as shown in a failure message: long generated inputs are cut.
std::string shown(std::string_view text) {
    return text.size() <= 100 ? std::string(text) : std::string(text.substr(0, 100)) + "...";
}

sid parse_sid(std::string_view text, sid_policy policy = sid_policy::any) {
    std::error_code ec;
    sddl_error err;
    auto s = sid::parse(text, ec, &err, policy);
    EXPECT_TRUE(s) << text << ": " << err.message;
    EXPECT_FALSE(ec);
    return s.value_or(sid{});
}

sddl_error sid_error(std::string_view text, sid_policy policy = sid_policy::any) {
    std::error_code ec;
    sddl_error err;
    EXPECT_FALSE(sid::parse(text, ec, &err, policy)) << text;
    EXPECT_EQ(ec, win32_error::invalid_parameter) << text;
    return err;
}

security_descriptor parse(std::string_view text, sid_policy policy = sid_policy::known) {
    std::error_code ec;
    sddl_error err;
    auto sd = parse_sddl(text, ec, &err, policy);
    EXPECT_TRUE(sd) << shown(text) << ": " << err.message;
    EXPECT_FALSE(ec);
    return sd.value_or(security_descriptor{});
}

sddl_error sddl_failure(std::string_view text) {
    std::error_code ec;
    sddl_error err;
    EXPECT_FALSE(parse_sddl(text, ec, &err)) << shown(text);
    EXPECT_EQ(ec, win32_error::invalid_parameter) << shown(text);
    EXPECT_NE(err.message.find("at offset " + std::to_string(err.offset)), std::string::npos)
        << err.message;
    return err;
}

access_identity user(std::uint32_t uid, std::uint32_t gid = 100) { return {uid, gid, {}, false, false}; }

access_result check(std::string_view sddl, const access_identity& who, std::uint32_t desired,
                    const generic_mapping& mapping = pipe_generic_mapping) {
    return access_check(parse(sddl), who, desired, mapping);
}

} // namespace

// ---- SIDs ---------------------------------------------------------------------------------------

TEST(Sid, ParsesAndPrintsTheStandardForm) {
    sid ba = parse_sid("S-1-5-32-544");
    EXPECT_EQ(ba, sid::administrators());
    EXPECT_EQ(ba.to_string(), "S-1-5-32-544");
    EXPECT_EQ(ba.alias(), "BA");
    EXPECT_EQ(ba.to_sddl(), "BA");
    EXPECT_EQ(ba.identifier_authority(), 5u);
    ASSERT_EQ(ba.sub_authorities().size(), 2u);
    EXPECT_EQ(ba.sub_authorities()[1], 544u);
    EXPECT_EQ(parse_sid("S-1-5").to_string(), "S-1-5");
    EXPECT_EQ(parse_sid("S-1-5-21-1004336348-1177238915-682003330-512").to_string(),
              "S-1-5-21-1004336348-1177238915-682003330-512");
}

TEST(Sid, AliasesAreTheWellKnownSids) {
    const std::pair<const char*, const char*> table[] = {
        {"WD", "S-1-1-0"},  {"CO", "S-1-3-0"},  {"CG", "S-1-3-1"},   {"OW", "S-1-3-4"},
        {"NU", "S-1-5-2"},  {"IU", "S-1-5-4"},  {"AN", "S-1-5-7"},   {"AU", "S-1-5-11"},
        {"SY", "S-1-5-18"}, {"BA", "S-1-5-32-544"},
    };
    for (auto [alias, text] : table) {
        EXPECT_EQ(parse_sid(alias).to_string(), text) << alias;
        EXPECT_EQ(parse_sid(text).alias(), alias) << text;
        EXPECT_TRUE(parse_sid(text).is_known()) << text;
    }
    EXPECT_EQ(sid::everyone().to_string(), "S-1-1-0");
    EXPECT_EQ(sid::local_system().to_sddl(), "SY");
}

TEST(Sid, HexadecimalAuthorityAndSubAuthorities) {
    EXPECT_EQ(parse_sid("S-1-0x5-18"), sid::local_system());
    EXPECT_EQ(parse_sid("S-1-5-0x12"), sid::local_system());
    EXPECT_EQ(parse_sid("S-1-0X00000000000F-0x20").to_string(), "S-1-15-32");
    EXPECT_EQ(parse_sid("S-1-4294967295-1").to_string(), "S-1-4294967295-1");
    EXPECT_EQ(parse_sid("S-1-4294967296-1").to_string(), "S-1-0x000100000000-1");
    EXPECT_EQ(parse_sid("S-1-0x123456789abc-7").to_string(), "S-1-0x123456789ABC-7");
    EXPECT_EQ(parse_sid("S-1-0xFFFFFFFFFFFF-4294967295").to_string(), "S-1-0xFFFFFFFFFFFF-4294967295");
}

TEST(Sid, UnixUsersAndGroups) {
    EXPECT_EQ(sid::user(1000).to_string(), "S-1-22-1-1000");
    EXPECT_EQ(sid::group(27).to_string(), "S-1-22-2-27");
    EXPECT_EQ(parse_sid("S-1-22-1-1000").uid(), 1000u);
    EXPECT_FALSE(parse_sid("S-1-22-1-1000").gid());
    EXPECT_EQ(parse_sid("S-1-22-2-27").gid(), 27u);
    EXPECT_FALSE(parse_sid("S-1-22-2-27").uid());
    EXPECT_FALSE(sid::administrators().uid());
    EXPECT_FALSE(parse_sid("S-1-22-1-5-6").uid()) << "three sub-authorities is not a uid SID";
    EXPECT_TRUE(sid::user(0).is_known());
    EXPECT_FALSE(parse_sid("S-1-5-80-1-2-3-4-5").is_known()) << "a service SID: nobody here";
    EXPECT_TRUE(parse_sid("S-1-5-21-1-2-3-500").is_known()) << "a domain account: an SMB user's token holds it";
    EXPECT_FALSE(parse_sid("S-1-5-21").is_known()) << "the domain authority alone names nobody";
}

TEST(Sid, MaximumSubAuthorities) {
    std::string fifteen = "S-1-5";
    for (int i = 1; i <= 15; ++i) fifteen += "-" + std::to_string(i);
    EXPECT_EQ(parse_sid(fifteen).sub_authorities().size(), 15u);
    EXPECT_EQ(parse_sid(fifteen).to_string(), fifteen);
    auto err = sid_error(fifteen + "-16");
    EXPECT_EQ(err.offset, fifteen.size());
    EXPECT_NE(err.message.find("at most 15 sub-authorities"), std::string::npos) << err.message;
}

TEST(Sid, Refusals) {
    struct bad {
        const char* text;
        std::size_t offset;
        const char* words;
    };
    const bad cases[] = {
        {"", 0, "expected a SID"},
        {"S-1-5-4294967296", 6, "sub-authority (32 bits) is too large"},
        {"S-1-5-99999999999999999999999999", 6, "too large"},
        {"S-1-281474976710656-1", 4, "identifier authority (48 bits) is too large"},
        {"S-1-0x1000000000000-1", 4, "too large"},
        {"S-2-5-18", 2, "revision 2 is not 1"},
        {"S-1", 3, "expected '-'"},
        {"S-1-", 4, "expected a SID identifier authority"},
        {"S-1-5-", 6, "expected a SID sub-authority"},
        {"S-1-5--18", 6, "expected a SID sub-authority"},
        {"S-1-0x-1", 6, "hexadecimal digits"},
        {"S-1-5-18x", 8, "unexpected text after the SID"},
        {"S-1-5-18 ", 8, "unexpected text"},
        {"s-1-5-18", 0, "upper-case 'S-'"},
        {"ba", 0, "write 'BA'"},
        {"XX", 0, "unknown SID alias 'XX'"},
        {"BU", 0, "npipe knows WD CO CG OW NU IU AN AU SY BA"},
        {"garbage", 0, "unknown SID alias 'ga'"},
        {"-1-5", 0, "expected a SID"},
        {"BAD", 2, "unexpected text"},
    };
    for (const auto& c : cases) {
        auto err = sid_error(c.text);
        EXPECT_EQ(err.offset, c.offset) << c.text << ": " << err.message;
        EXPECT_NE(err.message.find(c.words), std::string::npos) << c.text << ": " << err.message;
    }
    auto err = sid_error("S-1-5-80-1-2-3-4-5", sid_policy::known);
    EXPECT_NE(err.message.find("means nobody on this system"), std::string::npos) << err.message;
}

TEST(Sid, BinaryFormIsWindowsLayout) {
    const std::vector<std::uint8_t> ba = {1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x20, 2, 0, 0};
    EXPECT_EQ(sid::administrators().to_bytes(), ba);
    EXPECT_EQ(sid::administrators().byte_size(), 16u);
    std::error_code ec;
    EXPECT_EQ(sid::from_bytes(ba, ec), sid::administrators());
    EXPECT_FALSE(ec);
    for (const char* text : {"S-1-0x123456789ABC-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", "S-1-5",
                             "S-1-22-1-4294967295", "S-1-1-0"}) {
        sid s = parse_sid(text);
        auto bytes = s.to_bytes();
        EXPECT_EQ(bytes.size(), s.byte_size());
        auto back = sid::from_bytes(bytes, ec);
        ASSERT_TRUE(back) << text;
        EXPECT_EQ(*back, s);
        EXPECT_EQ(back->to_string(), text);
    }
}

TEST(Sid, BinaryRefusals) {
    std::vector<std::uint8_t> ba = sid::administrators().to_bytes();
    std::error_code ec;
    auto refuse = [&](std::vector<std::uint8_t> bytes) {
        EXPECT_FALSE(sid::from_bytes(bytes, ec));
        EXPECT_EQ(ec, win32_error::invalid_parameter);
    };
    refuse({});
    refuse({1, 0, 0, 0, 0, 0, 0});                          // shorter than the header
    refuse(std::vector<std::uint8_t>(ba.begin(), ba.end() - 1)); // one sub-authority short
    auto longer = ba;
    longer.push_back(0);
    refuse(longer);
    auto revision2 = ba;
    revision2[0] = 2;
    refuse(revision2);
    std::vector<std::uint8_t> sixteen(8 + 4 * 16, 0);
    sixteen[0] = 1;
    sixteen[1] = 16;
    refuse(sixteen);
}

TEST(Sid, ComparisonAndHashing) {
    std::set<sid> ordered{sid::everyone(), sid::administrators(), sid::user(1), sid::everyone()};
    EXPECT_EQ(ordered.size(), 3u);
    std::unordered_set<sid> hashed{sid::user(1), sid::group(1), sid::user(1), sid::user(2)};
    EXPECT_EQ(hashed.size(), 3u);
    EXPECT_NE(sid::user(1), sid::group(1));
    EXPECT_NE(std::hash<sid>{}(sid::user(1)), std::hash<sid>{}(sid::group(1)));
    EXPECT_EQ(sid(5, {18}), sid::local_system());
}

// ---- SDDL ---------------------------------------------------------------------------------------

TEST(Sddl, CanonicalDescriptorsRoundTrip) {
    const char* canonical[] = {
        // npipe's two defaults
        "O:S-1-22-1-1000G:S-1-22-2-1000D:(A;;FA;;;S-1-22-1-1000)(A;;FA;;;BA)",
        "O:S-1-22-1-1000G:S-1-22-2-1000D:(A;;FA;;;S-1-22-1-1000)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)",
        // Windows' default pipe descriptor shape
        "O:BAG:SYD:(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;CO)(A;;FR;;;WD)(A;;FR;;;AN)",
        "O:SYG:SYD:P(D;;DC;;;NU)(A;;FR;;;WD)(A;;FA;;;SY)",
        "D:PAI(A;OICI;FA;;;SY)(A;OICIIO;GA;;;CO)(A;ID;0x12019f;;;WD)",
        "D:NO_ACCESS_CONTROL",
        "O:BAD:PNO_ACCESS_CONTROL",
        "D:",
        "O:SYG:SY",
        "",
        "D:(A;;CCDCRC;;;AU)(A;;FX;;;IU)",
        "G:S-1-22-2-100D:AR(A;;GRGW;;;S-1-22-2-100)(D;NP;SD;;;IU)",
        "D:(A;;GA;;;S-1-22-1-0)(D;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;NU)(A;;0x0;;;OW)",
        "D:(A;;FW;;;CG)(A;;0x1200a9;;;S-1-22-1-4294967295)",
    };
    for (const char* text : canonical) {
        security_descriptor sd = parse(text);
        EXPECT_EQ(sd.to_sddl(), text);
        EXPECT_EQ(parse(sd.to_sddl()), sd) << text;
    }
}

TEST(Sddl, InputIsCanonicalised) {
    const std::pair<const char*, const char*> cases[] = {
        {" O:S-1-5-32-544  G:S-1-5-18 D: (A;;0x1f01ff;;;S-1-5-18)\n\t(A;;0X120089;;;S-1-1-0) ",
         "O:BAG:SYD:(A;;FA;;;SY)(A;;FR;;;WD)"},
        {"D:(A;;FRFW;;;WD)", "D:(A;;0x12019f;;;WD)"},
        {"D:(A;CIOI;0x1;;;WD)", "D:(A;OICI;CC;;;WD)"},
        {"D:AIP(A;;RCRC;;;WD)", "D:PAI(A;;RC;;;WD)"},
        {"D:(A;;0x00000000000001f01ff;;;WD)", "D:(A;;FA;;;WD)"},
        {"G:SYD:(A;;FA;;;WD)O:BA", "O:BAG:SYD:(A;;FA;;;WD)"},
        {"O:S-1-5-0x12D:(A;;FA;;;WD)", "O:SYD:(A;;FA;;;WD)"},
        {"O:S-1-22-1-0x3E8", "O:S-1-22-1-1000"},
    };
    for (auto [in, out] : cases) EXPECT_EQ(parse(in).to_sddl(), out) << in;
}

TEST(Sddl, ParsedValues) {
    auto sd = parse("O:S-1-22-1-1000D:P(D;IO;0x2;;;NU)(A;;GR;;;WD)");
    EXPECT_EQ(sd.owner, sid::user(1000));
    EXPECT_FALSE(sd.group);
    EXPECT_EQ(sd.control, sd_control::DACL_PRESENT | sd_control::DACL_PROTECTED);
    ASSERT_TRUE(sd.dacl);
    ASSERT_EQ(sd.dacl->size(), 2u);
    EXPECT_EQ((*sd.dacl)[0], (ace{ace_type::access_denied, ace_flags::INHERIT_ONLY, FILE_WRITE_DATA, sid::network()}));
    EXPECT_EQ((*sd.dacl)[1], (ace{ace_type::access_allowed, 0, GENERIC_READ, sid::everyone()}));
    EXPECT_EQ(acl_byte_size(*sd.dacl), 8u + 20u + 20u);
    EXPECT_EQ((*sd.dacl)[0].byte_size(), 20u);

    auto null_dacl = parse("D:NO_ACCESS_CONTROL");
    EXPECT_FALSE(null_dacl.dacl);
    EXPECT_EQ(null_dacl.control, sd_control::DACL_PRESENT);
    auto no_dacl = parse("O:BA");
    EXPECT_FALSE(no_dacl.dacl);
    EXPECT_EQ(no_dacl.control, 0);
    auto empty = parse("D:");
    ASSERT_TRUE(empty.dacl);
    EXPECT_TRUE(empty.dacl->empty());
}

TEST(Sddl, UnknownSidsNeedTheAnyPolicy) {
    std::error_code ec;
    sddl_error err;
    EXPECT_FALSE(parse_sddl("O:S-1-5-80-1-2-3-4-5", ec, &err));
    EXPECT_EQ(err.offset, 2u);
    EXPECT_NE(err.message.find("S-1-5-80-1-2-3-4-5 means nobody on this system"), std::string::npos);
    auto sd = parse("O:S-1-5-80-1-2-3-4-5D:(A;;FA;;;S-1-0x123456789ABC-7)", sid_policy::any);
    EXPECT_EQ(sd.to_sddl(), "O:S-1-5-80-1-2-3-4-5D:(A;;FA;;;S-1-0x123456789ABC-7)");
    EXPECT_TRUE(parse_sddl("D:(A;;FR;;;S-1-5-21-1-2-3-1000)", ec)) << "domain accounts reach pipes through smbd";
}

TEST(SddlErrors, ExactOffsets) {
    struct bad {
        const char* text;
        std::size_t offset;
        const char* words;
    };
    const bad cases[] = {
        {"O:XX", 2, "unknown SID alias 'XX'"},
        {"O:", 2, "expected a SID"},
        {"O:BAG:SYD:(A;FA;;;WD)", 13, "unknown ACE flag 'FA'"},
        {"D:(A;;FA;;WD)", 10, "expected ';'"},
        {"D:(A;;FA;;;S-1-5-18", 19, "expected ')'"},
        {"D:(A;;FA;;;WD", 13, "expected ')'"},
        {"D:(A;;FA)", 8, "expected ';'"},
        {"D:(X;;FA;;;WD)", 3, "unknown ACE type 'X'"},
        {"D:(;;FA;;;WD)", 3, "expected an ACE type"},
        {"D:(a;;FA;;;WD)", 3, "write 'A'"},
        {"D:(AU;SA;FA;;;WD)", 3, "ACE type 'AU' is not supported for pipes"},
        {"D:(OA;;FA;;;WD)", 3, "not supported for pipes"},
        {"D:(A;;ZZ;;;WD)", 6, "unknown access right 'ZZ'"},
        {"D:(A;;fa;;;WD)", 6, "write 'FA'"},
        {"D:(A;;F;;;WD)", 6, "unknown access right 'F'"},
        {"D:(A;;FAF;;;WD)", 8, "unknown access right 'F'"},
        {"D:(A;;;;;WD)", 6, "expected access rights"},
        {"D:(A;;123;;;WD)", 6, "not decimal"},
        {"D:(A;;0x;;;WD)", 8, "hexadecimal digits"},
        {"D:(A;;0x100000000;;;WD)", 6, "does not fit in 32 bits"},
        {"D:(A;;0x1G;;;WD)", 9, "expected ';'"},
        {"D:(A;XY;FA;;;WD)", 5, "unknown ACE flag 'XY'"},
        {"D:(A;oi;FA;;;WD)", 5, "write 'OI'"},
        {"D:(A;;FA;1234;;WD)", 9, "object GUID is only valid in object ACEs"},
        {"D:(A;;FA;;1234;WD)", 10, "inherited object GUID"},
        {"D:(A;;FA;;;ba)", 11, "write 'BA'"},
        {"D:(A;;FA;;;BU)", 11, "unknown SID alias 'BU'"},
        {"D:(A;;FA;;;S-1-5-80-1-2-3-4-5)", 11, "means nobody on this system"},
        {"D:(A;;FA;;;S-1-5-4294967296)", 17, "too large"},
        {"D:(A;;FA;;;WD;(x))", 13, "resource attributes"},
        {"D:( A;;FA;;;WD)", 3, "unknown ACE type ' A'"},
        {"D:(A;;FA;;;WD )", 13, "expected ')'"},
        {"D:(A;;FA;;;WD)junk", 14, "expected '(' to start an ACE"},
        {"D:(A;;FA;;;WD)P", 14, "expected '(' to start an ACE"},
        {"D:Q(A;;FA;;;WD)", 2, "expected a DACL flag"},
        {"D:NO_ACCESS_CONTROL(A;;FA;;;WD)", 19, "NO_ACCESS_CONTROL DACL cannot hold ACEs"},
        {"O:BAO:SY", 4, "a second 'O:'"},
        {"D:D:", 2, "a second 'D:'"},
        {"S:(AU;SA;FA;;;WD)", 0, "SACL (S:) is not supported"},
        {"O:BAD:(A;;FA;;;WD)S:", 18, "SACL"},
        {"o:BA", 0, "unknown component 'o:'"},
        {"X", 0, "expected O:, G: or D:"},
        {"O:BAX", 4, "expected O:, G: or D:"},
        {"O:BA G", 5, "expected O:, G: or D:"},
        {"O :BA", 0, "expected O:, G: or D:"},
    };
    for (const auto& c : cases) {
        auto err = sddl_failure(c.text);
        EXPECT_EQ(err.offset, c.offset) << c.text << ": " << err.message;
        EXPECT_NE(err.message.find(c.words), std::string::npos) << c.text << ": " << err.message;
    }
    EXPECT_EQ(sddl_failure("O:XX").message,
              "unknown SID alias 'XX' (npipe knows WD CO CG OW NU IU AN AU SY BA) at offset 2");
    EXPECT_EQ(sddl_failure("D:(A;;FA)").message, "expected ';' at offset 8");
}

TEST(SddlErrors, EmbeddedNulIsAnError) {
    auto err = sddl_failure(std::string_view("O:BA\0G:SY", 9));
    EXPECT_EQ(err.offset, 4u);
}

TEST(SddlLimits, SixtyFiveThousandAcesAreRefused) {
    std::string text = "D:";
    for (int i = 0; i < 65000; ++i) text += "(A;;FA;;;WD)";
    auto err = sddl_failure(text);
    EXPECT_EQ(err.offset, max_sddl_length);
    EXPECT_NE(err.message.find("more than the 262144 npipe accepts"), std::string::npos) << err.message;
}

TEST(SddlLimits, AclSizeIsCountedWhileParsing) {
    // Each (A;;FA;;;WD) is 20 bytes in a binary ACL (header 4, mask 4, SID 12):
    // 8 + 3276 * 20 = 65,528 fits, 3277 ACEs do not.
    std::string text = "D:";
    for (int i = 0; i < 3276; ++i) text += "(A;;FA;;;WD)";
    auto sd = parse(text);
    ASSERT_TRUE(sd.dacl);
    EXPECT_EQ(sd.dacl->size(), 3276u);
    EXPECT_EQ(acl_byte_size(*sd.dacl), 65528u);
    EXPECT_EQ(sd.to_sddl(), text);

    text += "(A;;FA;;;WD)";
    auto err = sddl_failure(text);
    EXPECT_EQ(err.offset, 2u + 3276u * 12u);
    EXPECT_EQ(err.message, "the DACL would be larger than 65,535 bytes (Windows' ACL size limit) with ACE "
                           "#3277, which starts at offset 39314");
}

TEST(SddlLimits, LongestCanonicalAclStillParses) {
    // The longest text per ACL byte: 15 sub-authorities of 10 digits and every flag and right.
    std::string one = "(D;OICINPIOID;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-0x123456789ABC";
    for (int i = 0; i < 15; ++i) one += "-4294967295";
    one += ")";
    const std::size_t per_ace = 8 + 8 + 4 * 15;
    std::string text = "D:";
    for (std::size_t n = 0; acl_header_size + (n + 1) * per_ace <= max_acl_size; ++n) text += one;
    EXPECT_LT(text.size(), max_sddl_length);
    EXPECT_EQ(parse(text, sid_policy::any).to_sddl(), text);
}

// ---- access rights --------------------------------------------------------------------------------

TEST(AccessRights, WindowsValues) {
    static_assert(FILE_GENERIC_READ == 0x120089);
    static_assert(FILE_GENERIC_WRITE == 0x120116);
    static_assert(FILE_GENERIC_EXECUTE == 0x1200A0);
    static_assert(FILE_ALL_ACCESS == 0x1F01FF);
    static_assert(FILE_CREATE_PIPE_INSTANCE == FILE_APPEND_DATA);
    static_assert(MAXIMUM_ALLOWED == 0x02000000);
    static_assert(map_generic(GENERIC_READ | FILE_WRITE_DATA, file_generic_mapping) == (FILE_GENERIC_READ | FILE_WRITE_DATA));
    static_assert(map_generic(GENERIC_ALL, file_generic_mapping) == FILE_ALL_ACCESS);
    static_assert(map_generic(GENERIC_WRITE, file_generic_mapping) == 0x120116);
    static_assert(map_generic(GENERIC_WRITE, pipe_generic_mapping) == 0x120112);
    static_assert(map_generic(GENERIC_EXECUTE | MAXIMUM_ALLOWED, pipe_generic_mapping) == (0x1200A0 | MAXIMUM_ALLOWED));
}

TEST(AccessRights, MasksAsText) {
    EXPECT_EQ(access_mask_to_sddl(FILE_ALL_ACCESS), "FA");
    EXPECT_EQ(access_mask_to_sddl(FILE_GENERIC_READ), "FR");
    EXPECT_EQ(access_mask_to_sddl(GENERIC_READ | GENERIC_EXECUTE), "GRGX");
    EXPECT_EQ(access_mask_to_sddl(FILE_READ_DATA | READ_CONTROL), "CCRC");
    EXPECT_EQ(access_mask_to_sddl(FILE_READ_DATA | SYNCHRONIZE), "0x100001");
    EXPECT_EQ(access_mask_to_sddl(0), "0x0");
    EXPECT_EQ(access_mask_names(FILE_WRITE_DATA), "FILE_WRITE_DATA");
    EXPECT_EQ(access_mask_names(FILE_READ_DATA | SYNCHRONIZE | 0x00400000), "FILE_READ_DATA|SYNCHRONIZE|0x400000");
    EXPECT_EQ(access_mask_names(FILE_ALL_ACCESS), "FILE_ALL_ACCESS");
    EXPECT_EQ(access_mask_names(0), "0");
}

// ---- access checks --------------------------------------------------------------------------------

TEST(AccessCheck, DenyAceBeforeAllowDenies) {
    const char* sddl = "D:(D;;0x2;;;S-1-22-1-1000)(A;;FA;;;WD)";
    auto r = check(sddl, user(1000), FILE_WRITE_DATA);
    EXPECT_FALSE(r.granted);
    EXPECT_EQ(r.granted_access, 0u);
    EXPECT_EQ(r.reason, "ACE #1 (D;;DC;;;S-1-22-1-1000) denies FILE_WRITE_DATA");
    EXPECT_FALSE(check(sddl, user(1000), GENERIC_WRITE).granted);
    EXPECT_TRUE(check(sddl, user(1000), GENERIC_READ).granted);
    EXPECT_TRUE(check(sddl, user(1001), GENERIC_WRITE).granted);
}

TEST(AccessCheck, AllowAceBeforeDenyGrants) {
    auto r = check("D:(A;;FA;;;WD)(D;;FA;;;S-1-22-1-1000)", user(1000), GENERIC_WRITE);
    EXPECT_TRUE(r.granted);
    EXPECT_EQ(r.granted_access, 0x120112u);
    EXPECT_EQ(r.reason, "granted by ACE #1 (A;;FA;;;WD)");
}

TEST(AccessCheck, DenyOnlyCountsBitsStillWanted) {
    // The first ACE grants FILE_READ_DATA; the deny names it too but comes too late for it.
    const char* sddl = "D:(A;;CC;;;WD)(D;;CCDC;;;WD)(A;;FA;;;WD)";
    EXPECT_TRUE(check(sddl, user(5), FILE_READ_DATA).granted);
    auto r = check(sddl, user(5), FILE_READ_DATA | FILE_WRITE_DATA);
    EXPECT_FALSE(r.granted);
    EXPECT_EQ(r.reason, "ACE #2 (D;;CCDC;;;WD) denies FILE_WRITE_DATA");
}

TEST(AccessCheck, DenyingFwAlsoDeniesReadControlAsOnWindows) {
    // FW carries READ_CONTROL and SYNCHRONIZE, which GENERIC_READ also asks for.
    auto r = check("D:(D;;FW;;;WD)(A;;FA;;;WD)", user(5), GENERIC_READ);
    EXPECT_FALSE(r.granted);
    EXPECT_EQ(r.reason, "ACE #1 (D;;FW;;;WD) denies READ_CONTROL|SYNCHRONIZE");
}

TEST(AccessCheck, NullAndEmptyDacl) {
    for (const char* null_dacl : {"O:BA", "D:NO_ACCESS_CONTROL", ""}) {
        auto r = check(null_dacl, user(5), GENERIC_ALL);
        EXPECT_TRUE(r.granted) << null_dacl;
        EXPECT_EQ(r.granted_access, FILE_ALL_ACCESS);
        EXPECT_TRUE(check(null_dacl, {0, 0, {}, true, true}, FILE_WRITE_DATA).granted);
        EXPECT_EQ(check(null_dacl, user(5), MAXIMUM_ALLOWED).granted_access, FILE_ALL_ACCESS);
    }
    auto r = check("D:", user(5), FILE_READ_DATA);
    EXPECT_FALSE(r.granted);
    EXPECT_EQ(r.reason, "the DACL is empty, so it grants nothing");
    EXPECT_FALSE(check("D:", user(0), FILE_READ_DATA).granted) << "root has no bypass";
}

TEST(AccessCheck, GenericMappingInAcesAndInDesiredAccess) {
    EXPECT_TRUE(check("D:(A;;GR;;;WD)", user(5), FILE_READ_DATA).granted);
    EXPECT_FALSE(check("D:(A;;GR;;;WD)", user(5), FILE_WRITE_DATA).granted);
    auto r = check("D:(A;;FR;;;WD)", user(5), GENERIC_READ);
    EXPECT_TRUE(r.granted);
    EXPECT_EQ(r.granted_access, FILE_GENERIC_READ);
    EXPECT_TRUE(check("D:(A;;GA;;;WD)", user(5), GENERIC_READ | GENERIC_WRITE | FILE_CREATE_PIPE_INSTANCE).granted);
    EXPECT_FALSE(check("D:(D;;GW;;;WD)(A;;FA;;;WD)", user(5), FILE_WRITE_DATA).granted);
    auto missing = check("D:(A;;FR;;;WD)", user(5), GENERIC_WRITE);
    EXPECT_FALSE(missing.granted);
    EXPECT_EQ(missing.reason, "no ACE grants FILE_WRITE_DATA|FILE_WRITE_EA|FILE_WRITE_ATTRIBUTES");
}

TEST(AccessCheck, WriteAccessDoesNotCreateInstances) {
    // npipe's pipe mapping keeps FILE_CREATE_PIPE_INSTANCE out of GENERIC_WRITE; Windows' file
    // mapping (FILE_APPEND_DATA) puts it in.
    EXPECT_FALSE(check("D:(A;;GW;;;WD)", user(5), FILE_CREATE_PIPE_INSTANCE).granted);
    EXPECT_TRUE(check("D:(A;;GW;;;WD)", user(5), FILE_CREATE_PIPE_INSTANCE, file_generic_mapping).granted);
    EXPECT_TRUE(check("D:(A;;0x120112;;;WD)", user(5), GENERIC_WRITE).granted);
    EXPECT_FALSE(check("D:(A;;0x120112;;;WD)", user(5), GENERIC_WRITE, file_generic_mapping).granted);
    EXPECT_TRUE(check("D:(A;;LC;;;WD)", user(5), FILE_CREATE_PIPE_INSTANCE).granted);
}

TEST(AccessCheck, MaximumAllowed) {
    auto r = check("D:(D;;0x2;;;WD)(A;;FA;;;WD)", user(5), MAXIMUM_ALLOWED);
    EXPECT_TRUE(r.granted);
    EXPECT_EQ(r.granted_access, FILE_ALL_ACCESS & ~FILE_WRITE_DATA);
    EXPECT_FALSE(check("D:(D;;0x2;;;WD)(A;;FA;;;WD)", user(5), MAXIMUM_ALLOWED | FILE_WRITE_DATA).granted);
    EXPECT_TRUE(check("D:(D;;0x2;;;WD)(A;;FA;;;WD)", user(5), MAXIMUM_ALLOWED | GENERIC_READ).granted);
    // An allow that comes first wins over a later deny for the same bit.
    EXPECT_EQ(check("D:(A;;CC;;;WD)(D;;CCDC;;;WD)(A;;CCDCLC;;;WD)", user(5), MAXIMUM_ALLOWED).granted_access,
              FILE_READ_DATA | FILE_CREATE_PIPE_INSTANCE);
    auto none = check("D:(A;;FA;;;S-1-22-1-6)", user(5), MAXIMUM_ALLOWED);
    EXPECT_FALSE(none.granted);
    EXPECT_EQ(none.reason, "no ACE grants anything to this caller");
    EXPECT_EQ(check("O:S-1-22-1-5D:", user(5), MAXIMUM_ALLOWED).granted_access, READ_CONTROL | WRITE_DAC);
}

TEST(AccessCheck, OwnerImplicitRights) {
    const char* sddl = "O:S-1-22-1-1000D:(D;;FA;;;S-1-22-1-1000)";
    auto r = check(sddl, user(1000), READ_CONTROL | WRITE_DAC);
    EXPECT_TRUE(r.granted);
    EXPECT_EQ(r.reason, "the owner may always read and change the DACL");
    EXPECT_FALSE(check(sddl, user(1000), WRITE_OWNER).granted);
    EXPECT_FALSE(check(sddl, user(1001), READ_CONTROL).granted);
    EXPECT_TRUE(check("O:S-1-22-1-1000D:", user(1000), WRITE_DAC).granted);
    // Owner by group membership.
    EXPECT_TRUE(check("O:S-1-22-2-50D:", {7, 50, {}, false, false}, READ_CONTROL).granted);
    // An OWNER RIGHTS ACE replaces the implicit grant.
    EXPECT_TRUE(check("O:S-1-22-1-1000D:(A;;FR;;;OW)", user(1000), READ_CONTROL | FILE_READ_DATA).granted);
    EXPECT_FALSE(check("O:S-1-22-1-1000D:(A;;FR;;;OW)", user(1000), WRITE_DAC).granted);
    EXPECT_FALSE(check("O:S-1-22-1-1000D:(A;;FR;;;OW)", user(1001), FILE_READ_DATA).granted);
    // An inherit-only OWNER RIGHTS ACE does not count.
    EXPECT_TRUE(check("O:S-1-22-1-1000D:(A;IO;FR;;;OW)", user(1000), WRITE_DAC).granted);
}

TEST(AccessCheck, InheritOnlyAcesAreSkipped) {
    EXPECT_TRUE(check("D:(D;IO;FA;;;WD)(A;;FA;;;WD)", user(5), GENERIC_ALL).granted);
    EXPECT_FALSE(check("D:(A;OICIIO;FA;;;WD)", user(5), FILE_READ_DATA).granted);
    EXPECT_TRUE(check("D:(A;OICI;FA;;;WD)", user(5), FILE_READ_DATA).granted);
}

TEST(AccessCheck, MoreSidsCountButNeverAsAdministratorsSystemOrUnixIds) {
    std::error_code ec;
    const sid domain_user = *sid::parse("S-1-5-21-1-2-3-1000", ec);
    access_identity remote{1000, 100, {}, false, true, {}};
    remote.more_sids = {domain_user, sid::administrators(), sid::local_system(), sid::interactive(),
                        sid::anonymous(), sid::user(0), sid::group(0), sid::network(), domain_user};
    EXPECT_EQ(identity_sids(remote),
              (std::vector<sid>{sid::user(1000), sid::group(100), sid::everyone(), sid::authenticated_users(),
                                sid::network(), domain_user}));
    EXPECT_TRUE(check("D:(A;;FR;;;S-1-5-21-1-2-3-1000)", remote, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;BA)", remote, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;SY)", remote, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;S-1-22-1-0)", remote, GENERIC_READ).granted);
    access_identity anonymous{65534, 65534, {}, true, true, {domain_user}};
    EXPECT_EQ(identity_sids(anonymous), (std::vector<sid>{sid::anonymous(), sid::network()}));
}

TEST(AccessCheck, MembershipOfWellKnownGroups) {
    const access_identity local{1000, 100, {27, 100}, false, false, {}};
    const access_identity remote{1000, 100, {}, false, true, {}};
    const access_identity anonymous{65534, 65534, {}, true, false, {}};
    const access_identity remote_anonymous{65534, 65534, {}, true, true, {}};
    const access_identity root{0, 0, {}, false, false, {}};

    EXPECT_EQ(identity_sids(local),
              (std::vector<sid>{sid::user(1000), sid::group(100), sid::group(27), sid::everyone(),
                                sid::authenticated_users(), sid::interactive()}));
    EXPECT_EQ(identity_sids(anonymous), std::vector<sid>{sid::anonymous()});
    EXPECT_EQ(identity_sids(remote_anonymous), (std::vector<sid>{sid::anonymous(), sid::network()}));

    EXPECT_TRUE(check("D:(A;;FR;;;WD)", local, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;WD)", anonymous, GENERIC_READ).granted) << "Everyone excludes Anonymous";
    EXPECT_TRUE(check("D:(A;;FR;;;AN)", anonymous, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;AN)", local, GENERIC_READ).granted);
    EXPECT_TRUE(check("D:(A;;FR;;;AU)", remote, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FR;;;AU)", remote_anonymous, GENERIC_READ).granted);

    const char* no_network = "D:(D;;FA;;;NU)(A;;FA;;;WD)(A;;FA;;;AN)";
    EXPECT_TRUE(check(no_network, local, GENERIC_WRITE).granted);
    EXPECT_FALSE(check(no_network, remote, GENERIC_WRITE).granted);
    EXPECT_FALSE(check(no_network, remote_anonymous, GENERIC_READ).granted);
    EXPECT_TRUE(check(no_network, anonymous, GENERIC_READ).granted);
    EXPECT_TRUE(check("D:(A;;FA;;;IU)", local, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FA;;;IU)", remote, GENERIC_READ).granted);

    EXPECT_TRUE(check("D:(A;;FA;;;S-1-22-2-27)", local, GENERIC_READ).granted) << "supplementary group";
    EXPECT_FALSE(check("D:(A;;FA;;;S-1-22-2-27)", remote, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FA;;;S-1-22-1-65534)", anonymous, GENERIC_READ).granted)
        << "an anonymous peer's uid is not its identity";

    EXPECT_TRUE(check("D:(A;;FA;;;BA)", root, GENERIC_ALL).granted) << "uid 0 is Administrators";
    EXPECT_FALSE(check("D:(A;;FA;;;BA)", local, GENERIC_READ).granted);
    EXPECT_FALSE(check("D:(A;;FA;;;SY)", root, GENERIC_READ).granted) << "root is not the broker";
    EXPECT_FALSE(check("D:(A;;FA;;;CO)", user(1000), GENERIC_READ).granted)
        << "CREATOR OWNER in an effective ACE matches nobody, as on Windows";
}

TEST(AccessCheck, RequestsWindowsRefuses) {
    auto nothing = check("D:(A;;FA;;;WD)", user(5), 0);
    EXPECT_FALSE(nothing.granted);
    EXPECT_EQ(nothing.reason, "no access was requested");
    EXPECT_FALSE(check("D:(A;;0xffffffff;;;WD)", user(5), ACCESS_SYSTEM_SECURITY).granted);
    EXPECT_FALSE(check("", user(5), ACCESS_SYSTEM_SECURITY).granted);
}

// ---- defaults ---------------------------------------------------------------------------------------

TEST(SecurityDefaults, OwnerAndRoot) {
    auto sd = default_descriptor(1000);
    EXPECT_EQ(sd.to_sddl(), "O:S-1-22-1-1000D:(A;;FA;;;S-1-22-1-1000)(A;;FA;;;BA)");
    EXPECT_EQ(default_descriptor(1000, default_dacl::owner_and_root, 1000).to_sddl(),
              "O:S-1-22-1-1000G:S-1-22-2-1000D:(A;;FA;;;S-1-22-1-1000)(A;;FA;;;BA)");
    EXPECT_TRUE(access_check(sd, user(1000), GENERIC_ALL).granted);
    EXPECT_TRUE(access_check(sd, user(0, 0), GENERIC_ALL).granted);
    EXPECT_FALSE(access_check(sd, user(1001), GENERIC_READ).granted);
    EXPECT_FALSE(access_check(sd, user(1001), FILE_CREATE_PIPE_INSTANCE).granted);
    EXPECT_FALSE(access_check(sd, {0, 0, {}, true, false}, GENERIC_READ).granted);
    EXPECT_TRUE(access_check(sd, {1000, 100, {}, false, true}, GENERIC_READ).granted)
        << "the owner over the network is still the owner; the broker decides on remote access";
}

TEST(SecurityDefaults, WindowsCompatible) {
    auto sd = default_descriptor(1000, default_dacl::windows_compatible);
    EXPECT_EQ(sd.to_sddl(),
              "O:S-1-22-1-1000D:(A;;FA;;;S-1-22-1-1000)(A;;FA;;;BA)(A;;FR;;;WD)(A;;FR;;;AN)");
    EXPECT_TRUE(access_check(sd, user(1001), GENERIC_READ).granted);
    EXPECT_FALSE(access_check(sd, user(1001), GENERIC_WRITE).granted);
    EXPECT_FALSE(access_check(sd, user(1001), FILE_CREATE_PIPE_INSTANCE).granted);
    EXPECT_TRUE(access_check(sd, {0, 0, {}, true, false}, GENERIC_READ).granted);
    EXPECT_FALSE(access_check(sd, {0, 0, {}, true, false}, GENERIC_WRITE).granted);
    std::error_code ec;
    EXPECT_EQ(parse_sddl(sd.to_sddl(), ec), sd);
}

// ---- mutations ----------------------------------------------------------------------------------

TEST(SddlMutations, NeverCrashAndWhatParsesRoundTrips) {
    // A fixed-seed stand-in for the fuzzer: byte flips, insertions and deletions of realistic
    // descriptors. Whatever parses must print canonically and parse back to the same value;
    // whatever does not must say where, inside the input.
    const std::string seeds[] = {
        "O:S-1-22-1-1000G:S-1-22-2-1000D:P(D;;DC;;;NU)(A;OICI;FA;;;S-1-22-1-1000)(A;;FR;;;WD)",
        "O:BAG:SYD:AI(A;;0x12019f;;;AN)(A;ID;GRGX;;;S-1-0x123456789ABC-1-2)D:",
        "D:NO_ACCESS_CONTROL",
    };
    const char alphabet[] = "OGDSA:;()-0123456789xXPIFRWCNU_abcGK \t";
    std::uint32_t state = 12345;
    auto next = [&state] { return state = state * 1103515245u + 12345u, state >> 8; };
    int parsed = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string text = seeds[next() % 3];
        for (std::uint32_t edits = 1 + next() % 3; edits > 0; --edits) {
            std::size_t at = next() % (text.size() + 1);
            char c = alphabet[next() % (sizeof alphabet - 1)];
            switch (next() % 3) {
            case 0: if (at < text.size()) text[at] = c; break;
            case 1: text.insert(at, 1, c); break;
            case 2: if (at < text.size()) text.erase(at, 1); break;
            }
        }
        std::error_code ec;
        sddl_error err;
        auto sd = parse_sddl(text, ec, &err, sid_policy::any);
        if (!sd) {
            ASSERT_LE(err.offset, text.size()) << text;
            ASSERT_FALSE(err.message.empty()) << text;
            continue;
        }
        ++parsed;
        auto again = parse_sddl(sd->to_sddl(), ec, &err, sid_policy::any);
        ASSERT_TRUE(again) << text << " -> " << sd->to_sddl() << ": " << err.message;
        ASSERT_EQ(*again, *sd) << text;
        ASSERT_EQ(again->to_sddl(), sd->to_sddl()) << text;
    }
    EXPECT_GT(parsed, 100) << "the mutations should not all be refusals";
}
