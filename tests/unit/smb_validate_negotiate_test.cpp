// FSCTL_VALIDATE_NEGOTIATE_INFO (MS-SMB2 2.2.31.4, 2.2.32.6, 3.2.5.14.12): the input has the
// layout the specification gives, and the client's judgement of the server's answer: the same
// negotiation is accepted, any difference, STATUS_ACCESS_DENIED or a malformed output refused
// (the connection is dropped: smb/session_setup.cpp), another error status taken as a server
// without the FSCTL.
#include "protocol/smb2_messages.hpp"
#include "protocol/smb2_wire.hpp"
#include "smb/connection.hpp"

#include <gtest/gtest.h>

using namespace npipe::protocol::smb2;
using npipe::smb::judge_validate_negotiate;

namespace {

negotiate_response negotiated() {
    negotiate_response n;
    n.security_mode = security_mode::signing_enabled;
    n.dialect = dialect::smb302;
    for (std::size_t i = 0; i < 16; ++i) n.server_guid[i] = static_cast<std::byte>(0xA0 + i);
    n.capabilities = capability::large_mtu | capability::encryption;
    return n;
}

/// The 24-byte output as a server writes it.
bytes output_of(const negotiate_response& n) {
    wire_writer w;
    w.u32(n.capabilities);
    w.bytes(n.server_guid);
    w.u16(n.security_mode);
    w.u16(n.dialect);
    return std::move(w.buffer());
}

/// A whole IOCTL response (header, the 48-byte fixed part, `output` at offset 112).
bytes ioctl_response_with(std::uint32_t status, const bytes& output, std::uint32_t code = fsctl::validate_negotiate_info) {
    header h;
    h.cmd = command::ioctl;
    h.status = status;
    h.flags = flags::server_to_redir;
    h.message_id = 9;
    bytes out;
    encode_header(h, out);
    wire_writer w;
    w.u16(49);
    w.u16(0);
    w.u32(code);
    w.u64(~0ull);
    w.u64(~0ull);
    w.u32(0); // InputOffset
    w.u32(0); // InputCount
    w.u32(output.empty() ? 0 : header_size + 48);
    w.u32(static_cast<std::uint32_t>(output.size()));
    w.u32(0);
    w.u32(0);
    w.bytes(output);
    out.insert(out.end(), w.buffer().begin(), w.buffer().end());
    return out;
}

bool accepted(std::uint32_t status, const bytes& message) {
    return !judge_validate_negotiate(status, message, negotiated());
}

} // namespace

TEST(ValidateNegotiate, InputHasTheSpecificationsLayout) {
    negotiate_request q;
    q.dialects = {dialect::smb210, dialect::smb300, dialect::smb302, dialect::smb311};
    q.security_mode = security_mode::signing_enabled;
    q.capabilities = capability::large_mtu | capability::encryption;
    for (std::size_t i = 0; i < 16; ++i) q.client_guid[i] = static_cast<std::byte>(i);
    bytes in = encode_validate_negotiate_input(q);
    ASSERT_EQ(in.size(), 24u + 2 * 4);
    wire_reader r(in);
    EXPECT_EQ(r.u32(0), 0x44u);
    EXPECT_EQ(in[4], std::byte{0});
    EXPECT_EQ(in[19], std::byte{15});
    EXPECT_EQ(r.u16(20), 1u);  // SecurityMode
    EXPECT_EQ(r.u16(22), 4u);  // DialectCount
    EXPECT_EQ(r.u16(24), 0x0210u);
    EXPECT_EQ(r.u16(30), 0x0311u);
}

TEST(ValidateNegotiate, TheSameNegotiationIsAccepted) {
    EXPECT_TRUE(accepted(status::success, ioctl_response_with(status::success, output_of(negotiated()))));
}

TEST(ValidateNegotiate, AnyDifferenceIsRefused) {
    auto changed = [](auto change) {
        negotiate_response n = negotiated();
        change(n);
        return ioctl_response_with(status::success, output_of(n));
    };
    EXPECT_FALSE(accepted(status::success, changed([](negotiate_response& n) { n.dialect = dialect::smb300; })));
    EXPECT_FALSE(accepted(status::success, changed([](negotiate_response& n) { n.capabilities = 0; })));
    EXPECT_FALSE(accepted(status::success, changed([](negotiate_response& n) { n.server_guid[15] = std::byte{0}; })));
    EXPECT_FALSE(accepted(status::success,
                          changed([](negotiate_response& n) { n.security_mode = security_mode::signing_required; })));
}

TEST(ValidateNegotiate, AccessDeniedAndMalformedAnswersAreRefused) {
    EXPECT_FALSE(accepted(status::access_denied, ioctl_response_with(status::access_denied, {})));
    bytes out = output_of(negotiated());
    bytes longer = out;
    longer.push_back(std::byte{0});
    EXPECT_FALSE(accepted(status::success, ioctl_response_with(status::success, longer)));
    out.pop_back();
    EXPECT_FALSE(accepted(status::success, ioctl_response_with(status::success, out)));
    EXPECT_FALSE(accepted(status::success, ioctl_response_with(status::success, {})));
    EXPECT_FALSE(accepted(status::success, ioctl_response_with(status::success, output_of(negotiated()),
                                                               fsctl::pipe_transceive)));
    bytes cut = ioctl_response_with(status::success, output_of(negotiated()));
    cut.resize(cut.size() - 1);
    EXPECT_FALSE(accepted(status::success, cut));
}

TEST(ValidateNegotiate, AServerWithoutTheFsctlIsAccepted) {
    // Older servers answer STATUS_NOT_SUPPORTED or STATUS_INVALID_DEVICE_REQUEST, signed.
    EXPECT_TRUE(accepted(0xC00000BB, ioctl_response_with(0xC00000BB, {})));
    EXPECT_TRUE(accepted(0xC0000010, ioctl_response_with(0xC0000010, {})));
}
