// protocol/messages.cpp - frames and bodies. Every body is written and read by walking the one
// declaration of its fields in protocol/fields.hpp.
#include "protocol/messages.hpp"

#include "protocol/fields.hpp"

#include <npipe/security.hpp>

namespace npipe::protocol {
namespace {

writer start_frame(message_type type) {
    writer w;
    w.u16(magic);
    w.u8(version);
    w.u8(static_cast<std::uint8_t>(type));
    w.u32(0); // the body's length, once it is known
    return w;
}

std::vector<std::byte> finish_frame(writer& w) {
    auto out = std::move(w.bytes());
    auto length = static_cast<std::uint32_t>(out.size() - header_size);
    for (std::size_t i = 0; i < 4; ++i) out[4 + i] = static_cast<std::byte>(length >> (8 * i));
    return out;
}

template <class M> std::vector<std::byte> encode_message(const M& m) {
    writer w = start_frame(type_of(m));
    field_writer f(w);
    fields(f, m);
    return finish_frame(w);
}

template <class M> bool decode_message(std::span<const std::byte> body, M& m) {
    field_reader f(body);
    fields(f, m);
    return f.ok();
}

} // namespace

header_problem decode_header(std::span<const std::byte, header_size> raw, std::size_t max_body,
                             frame_header& out) noexcept {
    reader r(raw);
    if (r.u16() != magic) return header_problem::bad_magic;
    if (r.u8() != version) return header_problem::bad_version;
    out.type = static_cast<message_type>(r.u8());
    out.length = r.u32();
    if (out.length > max_body) return header_problem::too_long;
    return header_problem::none;
}

bool canonical_sid(const std::string& text) {
    std::error_code ec;
    auto s = sid::parse(text, ec);
    return s && text.starts_with("S-1-") && s->to_string() == text;
}

std::vector<std::byte> encode(message_type type, const empty_body&) {
    writer w = start_frame(type);
    return finish_frame(w);
}

std::vector<std::byte> encode(const create_instance_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const created_reply& m) { return encode_message(m); }
std::vector<std::byte> encode(const open_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const opened_reply& m) { return encode_message(m); }
std::vector<std::byte> encode(const client_arrived_push& m) { return encode_message(m); }
std::vector<std::byte> encode(const wait_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const name_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const error_reply& m) { return encode_message(m); }
std::vector<std::byte> encode(const get_security_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const set_security_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const security_reply& m) { return encode_message(m); }
std::vector<std::byte> encode(const disconnect_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const monitor_request& m) { return encode_message(m); }
std::vector<std::byte> encode(const event_push& m) { return encode_message(m); }
std::vector<std::byte> encode(const events_lost_push& m) { return encode_message(m); }
std::vector<std::byte> encode(const pipe_list_reply& m) { return encode_message(m); }
std::vector<std::byte> encode(const broker_status_reply& m) { return encode_message(m); }

bool decode(std::span<const std::byte> body, create_instance_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, created_reply& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, open_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, opened_reply& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, client_arrived_push& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, wait_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, name_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, error_reply& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, get_security_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, set_security_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, security_reply& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, disconnect_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, monitor_request& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, event_push& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, events_lost_push& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, pipe_list_reply& m) { return decode_message(body, m); }
bool decode(std::span<const std::byte> body, broker_status_reply& m) { return decode_message(body, m); }

} // namespace npipe::protocol
