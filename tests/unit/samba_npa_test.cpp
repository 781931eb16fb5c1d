// samba_npa_test.cpp - protocol::samba: the named_pipe_auth request smbd 4.17 really sent
// (captured from Debian 12's smbd when impacket opened \\127.0.0.1\pipe\capture as a user of
// a private passdb), decoded field by field; the reply smbd accepted; round trips; and refusals
// of every kind of damage.
#include "protocol/samba_npa.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace npipe;
using namespace npipe::protocol::samba;

namespace {

using bytes = std::vector<std::byte>;

// 783 bytes: Samba 4.17.12-Debian, level 7, user npipetest1 (uid 1001), client 127.0.0.1:55176.
const char* const captured_hex =
    "0000030b4e50414d070000000700000001000000000002000400020088d70000080002000c000200b3d4000010000200"
    "030000000000000003000000766d00000a000000000000000a0000003132372e302e302e310000000300000000000000"
    "03000000766d00000a000000000000000a0000003132372e302e302e310000001400020000000000180002001c000200"
    "20000200240002000000000010000000fe52a0711261ee51b99f4a3cce60e026000000008f41c27104f9374e86279d89"
    "90640449000000000900000009000000010500000000000515000000b07dbee2052ad109eec5f376e803000001050000"
    "0000000515000000b07dbee2052ad109eec5f37601020000010200000000001602000000e90300000101000000000001"
    "0000000001010000000000050200000001010000000000050b000000010200000000001601000000e903000001040000"
    "0000001633414d5300030000020000000100000001020000000000162485a97900000000000000000000000000000000"
    "0000000001000000e903000000000000e9030000000000000100000000000000e9030000000000002800020000000000"
    "000000002c000200000000003000020034000200380002003c00020040000200440002000000000000000000ffffffff"
    "ffffff7fffffffffffffff7f005b67032586dd01005b67032586dd01ffffffffffffff7f000000001000000001000000"
    "0b000000000000000b0000006e70697065746573743100000a000000000000000a0000004e5049504554455354000000"
    "01000000000000000100000000000000010000000000000001000000000000001f000000000000001f0000005c5c4e50"
    "495045544553545c6e7069706574657374315c70726f66696c6500001700000000000000170000005c5c4e5049504554"
    "4553545c6e7069706574657374310000010000000000000001000000000000000a000000000000000a0000004e504950"
    "4554455354000000480002004c0002000b000000000000000b0000006e70697065746573743100000b00000000000000"
    "0b0000006e70697065746573743100";

bytes from_hex(std::string_view hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out.push_back(static_cast<std::byte>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
}

bytes captured() { return from_hex(captured_hex); }

sid parse(const char* text) {
    std::error_code ec;
    return *sid::parse(text, ec);
}

TEST(SambaNpa, DecodesTheRequestSmbd417Sent) {
    bytes b = captured();
    ASSERT_EQ(b.size(), 783u);
    ASSERT_EQ(request_size(std::span<const std::byte, 4>(b.data(), 4)), 783u);
    std::string why;
    auto r = decode_request(b, &why);
    ASSERT_TRUE(r) << why;
    EXPECT_EQ(r->level, 7u);
    EXPECT_EQ(r->transport, 1u);
    EXPECT_EQ(r->remote_client.address, "127.0.0.1");
    EXPECT_EQ(r->remote_client.port, 55176);
    EXPECT_EQ(r->remote_client.name, "vm");
    EXPECT_EQ(r->local_server.address, "127.0.0.1");
    EXPECT_EQ(r->local_server.port, 54451);
    ASSERT_TRUE(r->session_info);
    const session& s = *r->session_info;
    EXPECT_EQ(s.account_name, "npipetest1");
    EXPECT_EQ(s.domain_name, "NPIPETEST");
    EXPECT_EQ(s.unix_name, "npipetest1");
    EXPECT_TRUE(s.authenticated);
    EXPECT_EQ(s.session_key.size(), 16u);
    ASSERT_TRUE(s.unix_ids);
    EXPECT_EQ(s.unix_ids->uid, 1001u);
    EXPECT_EQ(s.unix_ids->gid, 1001u);
    EXPECT_EQ(s.unix_ids->groups, std::vector<std::uint32_t>{1001});
    ASSERT_TRUE(s.token_sids);
    ASSERT_EQ(s.token_sids->size(), 9u);
    EXPECT_EQ((*s.token_sids)[0], parse("S-1-5-21-3804134832-164702725-1995687406-1000"));
    EXPECT_EQ((*s.token_sids)[2], parse("S-1-22-2-1001"));
    EXPECT_EQ((*s.token_sids)[3], sid::everyone());
    EXPECT_EQ((*s.token_sids)[4], sid::network());
    EXPECT_EQ((*s.token_sids)[5], sid::authenticated_users());
    EXPECT_EQ((*s.token_sids)[6], sid::user(1001));
}

TEST(SambaNpa, TheReplySmbdAcceptsIs36Bytes) {
    // smbd pulls the reply with ndr_pull_struct_blob_all: no trailing padding may follow.
    reply rep;
    rep.type = file_type::message_mode;
    rep.device_state = 0xff;
    rep.allocation_size = 4096;
    bytes b = encode_reply(rep);
    ASSERT_EQ(b.size(), reply_size);
    EXPECT_EQ(b, from_hex("000000204e50414d07000000070000000200ff00000000000010000000000000"
                          "00000000"));
    auto back = decode_reply(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, rep);
}

TEST(SambaNpa, EncodedRequestsDecodeToThemselves) {
    request r;
    r.remote_client = {"client", "192.0.2.7", 49152};
    r.local_server = {"server", "192.0.2.1", 445};
    session s;
    s.token_sids = std::vector<sid>{sid::user(1000), sid::group(100), sid::everyone(), sid::network()};
    s.unix_ids = unix_token{1000, 100, {100, 27, 4}};
    s.account_name = "alice";
    s.domain_name = "HOST";
    s.unix_name = "alice";
    s.authenticated = true;
    s.session_key = bytes(16, std::byte{7});
    r.session_info = s;
    std::string why;
    auto back = decode_request(encode_request(r), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, r);

    r.session_info->token_sids.reset();
    r.session_info->unix_ids.reset();
    back = decode_request(encode_request(r), &why);
    ASSERT_TRUE(back) << why;
    EXPECT_EQ(*back, r);
}

TEST(SambaNpa, EveryTruncationIsRefused) {
    bytes b = captured();
    for (std::size_t n = 0; n < b.size(); ++n) {
        bytes cut(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
        if (n >= 4) { // keep the length honest, so it is the body that is short
            auto len = static_cast<std::uint32_t>(n - 4);
            cut[0] = static_cast<std::byte>(len >> 24);
            cut[1] = static_cast<std::byte>(len >> 16);
            cut[2] = static_cast<std::byte>(len >> 8);
            cut[3] = static_cast<std::byte>(len);
        }
        EXPECT_FALSE(decode_request(cut)) << n;
    }
}

TEST(SambaNpa, DamageIsRefusedWithAReason) {
    std::string why;
    bytes b = captured();
    b.push_back(std::byte{0});
    EXPECT_FALSE(decode_request(b, &why));
    EXPECT_EQ(why, "its length is not its size");

    b = captured();
    b[4] = std::byte{'X'};
    EXPECT_FALSE(decode_request(b, &why));
    EXPECT_EQ(why, "no NPAM magic");

    b = captured();
    b[8] = b[12] = std::byte{8};
    EXPECT_FALSE(decode_request(b, &why));
    EXPECT_NE(why.find("level 8"), std::string::npos);

    b = captured();
    b[17] = std::byte{1}; // padding after the transport
    EXPECT_FALSE(decode_request(b, &why));
    EXPECT_NE(why.find("malformed"), std::string::npos);
}

TEST(SambaNpa, AForgedCountIsRefusedWithoutAllocating) {
    request r;
    session s;
    s.token_sids = std::vector<sid>{sid::everyone()};
    r.session_info = s;
    bytes b = encode_request(r);
    // the token's conformant size and count: find "01000000 01000000" and make both huge
    const bytes pattern = from_hex("0100000001000000");
    auto at = std::search(b.begin(), b.end(), pattern.begin(), pattern.end());
    ASSERT_NE(at, b.end());
    for (int i = 0; i < 8; i += 4) {
        at[i] = std::byte{0xff};
        at[i + 1] = std::byte{0xff};
        at[i + 2] = std::byte{0xff};
        at[i + 3] = std::byte{0x0f};
    }
    EXPECT_FALSE(decode_request(b));
}

TEST(SambaNpa, RequestSizeBounds) {
    const bytes small = from_hex("00000004"), huge = from_hex("00ffffff"), fine = from_hex("0000030b");
    EXPECT_FALSE(request_size(std::span<const std::byte, 4>(small.data(), 4)));
    EXPECT_FALSE(request_size(std::span<const std::byte, 4>(huge.data(), 4)));
    EXPECT_EQ(request_size(std::span<const std::byte, 4>(fine.data(), 4)), 783u);
}

TEST(SambaNpa, NamesMustBePrintableUtf8) {
    request r;
    r.remote_client = {"bad\x1b[2J", "192.0.2.7", 1};
    EXPECT_FALSE(decode_request(encode_request(r)));
    r.remote_client = {"h\xc3\xa9te", "192.0.2.7", 1};
    EXPECT_TRUE(decode_request(encode_request(r)));
    r.remote_client = {"\xc0\xaf", "192.0.2.7", 1}; // overlong
    EXPECT_FALSE(decode_request(encode_request(r)));
}

} // namespace
