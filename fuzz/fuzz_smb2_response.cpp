// fuzz/fuzz_smb2_response.cpp - the SMB2 client's response parser (protocol/smb2_*.hpp), fed
// what a hostile or broken server could send.
//
// Checked for every input:
//  - no decoder reads outside the input (ASan), whatever the offsets and lengths claim;
//  - every view a decoder returns (READ data, IOCTL output, ERROR data, peek data) lies inside
//    the input; a VALIDATE_NEGOTIATE_INFO output decodes only at its 24 bytes;
//  - a header that decodes encodes back to the same 64 bytes (but the fields npipe ignores);
//  - a transform header accepted announces exactly the bytes that follow it;
//  - the Direct TCP length of the first 4 bytes is never above max_message.
#include "fuzz_check.hpp"

#include "protocol/smb2_messages.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

using namespace npipe::protocol::smb2;

namespace {

bool inside(std::span<const std::byte> part, std::span<const std::byte> whole) {
    if (part.empty()) return true;
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void check_header(std::span<const std::byte> in) {
    auto h = decode_header(in);
    if (!h) return;
    FUZZ_CHECK(in.size() >= header_size);
    bytes again;
    encode_header(*h, again);
    FUZZ_CHECK(again.size() == header_size);
    // Bytes 32..35 of a sync header (Reserved) are not kept; everything else round-trips.
    for (std::size_t i = 0; i < header_size; ++i)
        if (h->is_async() || i < 32 || i >= 36) FUZZ_CHECK(again[i] == in[i]);
}

void check_bodies(std::span<const std::byte> in) {
    if (auto n = decode_negotiate(in)) FUZZ_CHECK(n->security_blob.size() <= in.size());
    if (auto s = decode_session_setup(in)) FUZZ_CHECK(s->token.size() <= in.size());
    decode_tree_connect(in);
    decode_create(in);
    decode_close(in);
    decode_write(in);
    decode_empty(in, 4);
    if (auto r = decode_read(in)) FUZZ_CHECK(inside(*r, in));
    if (auto e = decode_error(in)) FUZZ_CHECK(inside(*e, in));
    if (auto io = decode_ioctl(in)) {
        FUZZ_CHECK(inside(io->output, in));
        if (auto p = decode_pipe_peek_output(io->output)) FUZZ_CHECK(inside(p->data, io->output));
        if (decode_validate_negotiate_output(io->output))
            FUZZ_CHECK(io->output.size() == validate_negotiate_output_size);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    check_header(in);
    check_bodies(in);
    if (auto t = decode_transform_header(in)) FUZZ_CHECK(in.size() == transform_header_size + t->original_size);
    if (in.size() >= 4) {
        auto n = transport_length(std::span<const std::byte, 4>(in.data(), 4));
        if (n) FUZZ_CHECK(*n <= max_message);
    }
    return 0;
}
