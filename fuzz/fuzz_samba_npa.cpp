// fuzz/fuzz_samba_npa.cpp - Samba's named_pipe_auth handshake (protocol/samba_npa.hpp): the
// request smbd sends and the reply the broker sends back, as a hostile peer on np/ could shape them.
//
// Checked for every input:
//  - decode_request never reads outside the input (ASan) and refuses with a reason;
//  - what decodes is within the limits (names, key, counts bounded by the input's size) and
//    encodes to a request that decodes to the same value (nothing decoded is lost or invented);
//  - request_size agrees with the input's first four bytes;
//  - decode_reply accepts only the 36-byte form, which encodes back to the very same bytes.
#include "fuzz_check.hpp"

#include "protocol/samba_npa.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

using namespace npipe::protocol::samba;

namespace {

void check_request(std::span<const std::byte> in) {
    std::string why;
    auto r = decode_request(in, &why);
    if (in.size() >= 4) {
        auto size = request_size(std::span<const std::byte, 4>(in.data(), 4));
        if (r) FUZZ_CHECK(size && *size == in.size());
    }
    if (!r) {
        FUZZ_CHECK(!why.empty());
        return;
    }
    FUZZ_CHECK(in.size() <= max_request_size);
    FUZZ_CHECK(r->remote_client.name.size() <= max_name_length);
    if (r->session_info) {
        FUZZ_CHECK(r->session_info->session_key.size() <= max_session_key);
        if (r->session_info->token_sids) FUZZ_CHECK(r->session_info->token_sids->size() * 8 <= in.size());
    }
    auto again = decode_request(encode_request(*r), &why);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(*again == *r);
}

void check_reply(std::span<const std::byte> in) {
    auto rep = decode_reply(in);
    if (!rep) return;
    auto back = encode_reply(*rep);
    FUZZ_CHECK(back.size() == in.size());
    FUZZ_CHECK(std::equal(back.begin(), back.end(), in.begin()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    check_request(in);
    check_reply(in);
    return 0;
}
