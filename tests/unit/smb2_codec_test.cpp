// The SMB2 codec (protocol/smb2_*.hpp): Microsoft's recorded NEGOTIATE and SESSION_SETUP
// messages decode to what they say; every request npipe sends has the layout MS-SMB2 gives;
// truncated and lying responses are refused.
#include "protocol/smb2_messages.hpp"
#include "protocol/smb2_wire.hpp"
#include "smb2_vectors.hpp"

#include <gtest/gtest.h>

using namespace npipe::protocol::smb2;
using smb2_vectors::hex;

namespace {

/// A response: a header with SERVER_TO_REDIR and `status`, then `body`.
bytes response(command cmd, std::uint32_t st, const bytes& body) {
    header h;
    h.cmd = cmd;
    h.status = st;
    h.flags = flags::server_to_redir;
    h.message_id = 7;
    bytes out;
    encode_header(h, out);
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

bytes u16le(std::uint16_t v) { return {std::byte(v & 0xFF), std::byte(v >> 8)}; }

} // namespace

TEST(Smb2Codec, HeaderRoundTripsSyncAndAsync) {
    header h;
    h.cmd = command::read;
    h.credit_charge = 2;
    h.credits = 31;
    h.message_id = 0x1122334455667788;
    h.tree_id = 5;
    h.session_id = 0xABCDEF;
    bytes m;
    encode_header(h, m);
    ASSERT_EQ(m.size(), header_size);
    auto d = decode_header(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->cmd, command::read);
    EXPECT_EQ(d->message_id, h.message_id);
    EXPECT_EQ(d->tree_id, 5u);
    EXPECT_EQ(d->credits, 31);
    h.flags = flags::async_command | flags::server_to_redir;
    h.async_id = 0x99;
    h.status = status::pending;
    m.clear();
    encode_header(h, m);
    d = decode_header(m);
    ASSERT_TRUE(d);
    EXPECT_TRUE(d->is_async());
    EXPECT_EQ(d->async_id, 0x99u);
    EXPECT_EQ(d->status, status::pending);
}

TEST(Smb2Codec, HeaderRefusesWrongIdSizeAndCompounds) {
    header h;
    bytes m;
    encode_header(h, m);
    EXPECT_FALSE(decode_header(std::span(m).first(63)));
    bytes bad = m;
    bad[0] = std::byte{0xFF}; // SMB1's id
    EXPECT_FALSE(decode_header(bad));
    bad = m;
    bad[4] = std::byte{65}; // StructureSize
    EXPECT_FALSE(decode_header(bad));
    bad = m;
    bad[20] = std::byte{0x50}; // NextCommand: a compound response
    EXPECT_FALSE(decode_header(bad));
}

TEST(Smb2Codec, MicrosoftsNegotiateResponseDecodes) {
    auto m = hex(smb2_vectors::negotiate_response);
    auto r = decode_negotiate(m);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->dialect, dialect::smb311);
    EXPECT_EQ(r->security_mode, security_mode::signing_enabled);
    EXPECT_EQ(r->hash, hash_algorithm::sha512);
    EXPECT_EQ(r->cipher, cipher::aes128_gcm);
    EXPECT_FALSE(r->signing); // Windows 10 TP3 sent no signing context: AES-CMAC
    EXPECT_EQ(r->max_read, 0x800000u);
    EXPECT_EQ(r->security_blob.size(), 0x140u);
    EXPECT_EQ(r->security_blob[0], std::byte{0x60}); // a GSSAPI InitialContextToken (SPNEGO)
    // Cut anywhere: refused, never read past the end.
    for (std::size_t n = 0; n < m.size(); ++n)
        EXPECT_FALSE(decode_negotiate(std::span(m).first(n))) << n;
}

TEST(Smb2Codec, NegotiateRequestHasMicrosoftsLayout) {
    // The same fields as the request in Microsoft's example give the same bytes after the header.
    auto ms = hex(smb2_vectors::negotiate_request);
    negotiate_request q;
    q.dialects = {dialect::smb202, dialect::smb210, dialect::smb300, dialect::smb302, dialect::smb311};
    q.security_mode = 0; // as Windows sent it
    q.capabilities = 0x3F;
    auto guid = hex("ECD86F326276024F9F7752B89BB33F3A");
    std::copy(guid.begin(), guid.end(), q.client_guid.begin());
    auto salt = hex("FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF");
    std::copy(salt.begin(), salt.end(), q.salt.begin());
    q.ciphers = {cipher::aes128_gcm, cipher::aes128_ccm};
    auto body = encode_negotiate(q);
    EXPECT_EQ(body, bytes(ms.begin() + header_size, ms.end()));
}

TEST(Smb2Codec, NegotiateResponseWithoutPreauthContextIsRefused) {
    auto m = hex(smb2_vectors::negotiate_response);
    // The preauth context's type (1) at its offset becomes an unknown type.
    wire_reader r(m);
    const std::size_t at = r.u32(header_size + 60);
    m[at] = std::byte{0x77};
    EXPECT_FALSE(decode_negotiate(m));
}

TEST(Smb2Codec, SessionSetupResponsesDecode) {
    auto m = hex(smb2_vectors::session_setup_response_1);
    auto h = decode_header(m);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, status::more_processing_required);
    EXPECT_EQ(h->session_id, 0x100000000019u);
    auto r = decode_session_setup(m);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->token.size(), 0xB3u);
    auto f = decode_session_setup(hex(smb2_vectors::session_setup_response_final));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->session_flags, 0);
    EXPECT_EQ(f->token.size(), 0x1Du);
}

TEST(Smb2Codec, SessionSetupRequestMatchesMicrosofts) {
    auto ms = hex(smb2_vectors::session_setup_request_1);
    const bytes token(ms.begin() + 0x58, ms.end());
    session_setup_request q;
    q.security_mode = security_mode::signing_enabled;
    q.capabilities = 1; // DFS, as Windows sent
    q.token = token;
    EXPECT_EQ(encode_session_setup(q), bytes(ms.begin() + header_size, ms.end()));
}

TEST(Smb2Codec, OffsetsOutsideTheMessageAreRefused) {
    // A READ response whose data would run past the end, or start inside the fixed part.
    bytes body(16);
    body[0] = std::byte{17};
    body[2] = std::byte{0x50};
    body[4] = std::byte{10}; // DataLength 10, no data follows
    EXPECT_FALSE(decode_read(response(command::read, 0, body)));
    body.resize(26);
    auto ok = decode_read(response(command::read, 0, body));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->size(), 10u);
    body[2] = std::byte{0x48}; // inside the header
    EXPECT_FALSE(decode_read(response(command::read, 0, body)));
    // An IOCTL whose output length is 2^32-1.
    bytes io(48);
    io[0] = std::byte{49};
    io[32] = std::byte{0x70};
    io[36] = io[37] = io[38] = io[39] = std::byte{0xFF};
    EXPECT_FALSE(decode_ioctl(response(command::ioctl, 0, io)));
}

TEST(Smb2Codec, WrongStructureSizesAreRefused) {
    bytes body(16);
    body[0] = std::byte{16};
    EXPECT_TRUE(decode_tree_connect(response(command::tree_connect, 0, body)));
    body[0] = std::byte{17};
    EXPECT_FALSE(decode_tree_connect(response(command::tree_connect, 0, body)));
    bytes create(88);
    create[0] = std::byte{89};
    EXPECT_TRUE(decode_create(response(command::create, 0, create)));
    EXPECT_FALSE(decode_create(response(command::create, 0, bytes(create.begin(), create.end() - 1))));
    bytes err{std::byte{9}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
    EXPECT_TRUE(decode_error(response(command::read, status::pending, err)));
    err[4] = std::byte{200}; // ByteCount beyond the message
    EXPECT_FALSE(decode_error(response(command::read, status::pending, err)));
}

TEST(Smb2Codec, RequestsHaveTheirStructureSizesAndOffsets) {
    std::vector<std::byte> name;
    ASSERT_TRUE(to_utf16le("srvsvc", name));
    EXPECT_EQ(name.size(), 12u);
    create_request c;
    c.name_utf16 = name;
    c.desired_access = 0x0012019F;
    auto cb = encode_create(c);
    wire_reader cr(cb);
    EXPECT_EQ(cr.u16(0), 57);
    EXPECT_EQ(cr.u32(4), 2u); // Impersonation
    EXPECT_EQ(cr.u16(44), header_size + 56);
    EXPECT_EQ(cr.u16(46), 12);
    EXPECT_EQ(cb.size(), 56u + 12u);
    const file_id id{1, 2};
    auto rb = encode_read(id, 65536);
    wire_reader rr(rb);
    EXPECT_EQ(rr.u16(0), 49);
    EXPECT_EQ(rr.u32(4), 65536u);
    EXPECT_EQ(rr.u64(16), 1u);
    EXPECT_EQ(rb.size(), 49u);
    const bytes data(100, std::byte{0x5A});
    auto wb = encode_write(id, data);
    wire_reader wr(wb);
    EXPECT_EQ(wr.u16(2), header_size + 48);
    EXPECT_EQ(wr.u32(4), 100u);
    EXPECT_EQ(wb.size(), 148u);
    ioctl_request io{fsctl::pipe_transceive, id, data, 4096};
    auto ib = encode_ioctl(io);
    wire_reader ir(ib);
    EXPECT_EQ(ir.u32(4), fsctl::pipe_transceive);
    EXPECT_EQ(ir.u32(24), header_size + 56);
    EXPECT_EQ(ir.u32(28), 100u);
    EXPECT_EQ(ir.u32(44), 4096u);
    EXPECT_EQ(ir.u32(48), ioctl_is_fsctl);
    auto wait = encode_pipe_wait_input(name, 50'000'000);
    wire_reader wt(wait);
    EXPECT_EQ(wt.u64(0), 50'000'000u);
    EXPECT_EQ(wt.u32(8), 12u);
    EXPECT_EQ(wt.u8(12), 1);
    auto si = encode_set_pipe_information(id, 1, 0);
    wire_reader sr(si);
    EXPECT_EQ(sr.u16(0), 33);
    EXPECT_EQ(sr.u8(3), file_pipe_information);
    EXPECT_EQ(sr.u16(8), header_size + 32);
    EXPECT_EQ(sr.u32(32), 1u);
    EXPECT_EQ(u16le(static_cast<std::uint16_t>(encode_logoff().size())), u16le(4));
}

TEST(Smb2Codec, PeekOutputAndTransformHeader) {
    bytes out(16 + 3);
    out[4] = std::byte{3};
    auto p = decode_pipe_peek_output(out);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->available, 3u);
    EXPECT_EQ(p->data.size(), 3u);
    EXPECT_FALSE(decode_pipe_peek_output(std::span(out).first(15)));
    transform_header t;
    t.original_size = 5;
    t.session_id = 42;
    bytes m;
    encode_transform_header(t, m);
    m.resize(m.size() + 5);
    auto d = decode_transform_header(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->session_id, 42u);
    m.push_back(std::byte{0}); // one byte more than OriginalMessageSize says
    EXPECT_FALSE(decode_transform_header(m));
}

TEST(Smb2Codec, TransportLengths) {
    auto p = transport_prefix(0x012345);
    EXPECT_EQ(transport_length(p), 0x012345u);
    p[0] = std::byte{0x85}; // NetBIOS keep-alive and friends are not Direct TCP
    EXPECT_FALSE(transport_length(p));
    EXPECT_FALSE(transport_length(transport_prefix(max_message + 1)));
}

TEST(Smb2Codec, Utf16) {
    std::vector<std::byte> out;
    ASSERT_TRUE(to_utf16le("\\\\h\\IPC$", out));
    EXPECT_EQ(out.size(), 16u);
    ASSERT_TRUE(to_utf16le("\xF0\x9F\x98\x80", out)); // U+1F600: a surrogate pair
    EXPECT_EQ(out.size(), 4u);
    EXPECT_FALSE(to_utf16le("\xC0\xAF", out)); // overlong
    EXPECT_FALSE(to_utf16le("\xED\xA0\x80", out)); // a surrogate
}
