// fuzz/fuzz_protocol.cpp - the broker protocol: frame headers and every message body.
//
// The input is read twice:
//  1. as a stream of frames, the way the broker reads a connection: each header is checked
//     against an oracle written from the header layout (magic, version, type, length, limit for
//     each direction), and each complete frame's body goes to the decoder of its type;
//  2. as one body, given to every decoder.
// Whatever decodes must re-encode canonically (the same bytes: in 1 the whole frame, header
// included), the re-encoded body must decode to an equal message, and every truncation of it
// and the body with one byte more must be refused.
#include "fuzz_check.hpp"

#include "protocol/messages.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <tuple>
#include <vector>

using namespace npipe::protocol;

namespace {

using bytes = std::span<const std::byte>;

// ---- equality of decoded messages (the structs have no operator==) ---------------------------
// A field added to a message must be added here too (the byte-for-byte re-encoding check below
// covers it meanwhile).
auto fields(const create_instance_request& m) {
    return std::tie(m.name, m.direction, m.type, m.reject_remote, m.first_instance, m.max_instances,
                    m.out_buffer_size, m.in_buffer_size, m.default_timeout_ms, m.sddl, m.windows_default_acl,
                    m.reregister, m.state, m.generation, m.pipe_id);
}
auto fields(const created_reply& m) { return std::tie(m.instance_id, m.pipe_id, m.broker_pid, m.broker_start); }
auto fields(const open_request& m) {
    return std::tie(m.name, m.read, m.write, m.desired_access, m.impersonation, m.effective_only, m.context_tracking);
}
auto fields(const opened_reply& m) {
    return std::tie(m.server_pid, m.type, m.direction, m.max_instances, m.out_buffer_size, m.in_buffer_size,
                    m.generation, m.pipe_id, m.granted_access);
}
auto fields(const client_arrived_push& m) {
    return std::tie(m.generation, m.pid, m.uid, m.gid, m.groups, m.label, m.anonymous, m.impersonation,
                    m.effective_only);
}
auto fields(const wait_request& m) { return std::tie(m.name, m.timeout_ms); }
auto fields(const name_request& m) { return std::tie(m.name); }
auto fields(const error_reply& m) { return std::tie(m.code); }
auto fields(const get_security_request& m) { return std::tie(m.name, m.pipe_id); }
auto fields(const set_security_request& m) { return std::tie(m.name, m.pipe_id, m.parts, m.sddl); }
auto fields(const security_reply& m) { return std::tie(m.sddl); }
auto fields(const disconnect_request& m) { return std::tie(m.bytes_from_client, m.bytes_to_client, m.client_closed, m.server_closing); }
auto fields(const monitor_request& m) { return std::tie(m.follow, m.since_unix_ms); }
auto fields(const event_push& m) { return std::tie(m.seq, m.json); }
auto fields(const events_lost_push& m) { return std::tie(m.count); }
auto fields(const broker_status_reply& m) {
    return std::tie(m.pid, m.uid, m.system_scope, m.runtime_dir, m.protocol_version, m.uptime_seconds, m.pipes,
                    m.instances, m.connections_served, m.control_connections);
}
auto fields(const instance_record& m) { return std::tie(m.state, m.server_pid, m.client_pid, m.client_uid, m.server_uid); }
bool same(const instance_record& a, const instance_record& b) { return fields(a) == fields(b); }
bool same(const pipe_record& a, const pipe_record& b) {
    return std::tie(a.name, a.type, a.direction, a.max_instances, a.owner_uid, a.out_buffer_size, a.in_buffer_size,
                    a.default_timeout_ms, a.reject_remote, a.owner_sid, a.sddl, a.remote) ==
               std::tie(b.name, b.type, b.direction, b.max_instances, b.owner_uid, b.out_buffer_size,
                        b.in_buffer_size, b.default_timeout_ms, b.reject_remote, b.owner_sid, b.sddl, b.remote) &&
           std::equal(a.instances.begin(), a.instances.end(), b.instances.begin(), b.instances.end(),
                      [](const auto& x, const auto& y) { return same(x, y); });
}
bool same(const pipe_list_reply& a, const pipe_list_reply& b) {
    return std::equal(a.pipes.begin(), a.pipes.end(), b.pipes.begin(), b.pipes.end(),
                      [](const auto& x, const auto& y) { return same(x, y); });
}
template <class M> bool same(const M& a, const M& b) { return fields(a) == fields(b); }

// ---- the header oracle -----------------------------------------------------------------------
std::uint32_t le(bytes b) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < b.size(); ++i) v |= static_cast<std::uint32_t>(b[i]) << (8 * i);
    return v;
}

header_problem check_header(std::span<const std::byte, header_size> raw, std::size_t max_body, frame_header& h) {
    auto problem = decode_header(raw, max_body, h);
    header_problem expected = le(raw.subspan(0, 2)) != magic                  ? header_problem::bad_magic
                              : static_cast<std::uint8_t>(raw[2]) != version ? header_problem::bad_version
                              : le(raw.subspan(4, 4)) > max_body              ? header_problem::too_long
                                                                             : header_problem::none;
    FUZZ_CHECK(problem == expected);
    if (problem == header_problem::none || problem == header_problem::too_long) {
        FUZZ_CHECK(static_cast<std::uint8_t>(h.type) == static_cast<std::uint8_t>(raw[3]));
        FUZZ_CHECK(h.length == le(raw.subspan(4, 4)));
    }
    return problem;
}

// ---- round trips -----------------------------------------------------------------------------
template <class M> bool decodes(bytes body) {
    M m;
    return decode(body, m);
}

// Decodes `body` as an M. When it decodes: the frame encode() makes carries `type` and exactly
// `body`, decodes back to the same message, and neither a truncation nor an extension decodes.
// Returns the frame, or nothing when `body` is not an M.
template <class M> std::vector<std::byte> round_trip(bytes body, message_type type) {
    M m;
    if (!decode(body, m)) return {};
    auto frame = encode(m);
    FUZZ_CHECK(frame.size() >= header_size);
    frame_header h;
    FUZZ_CHECK(check_header(std::span<const std::byte, header_size>(frame.data(), header_size), max_reply_body, h) ==
               header_problem::none);
    FUZZ_CHECK(h.type == type);
    FUZZ_CHECK(h.length == frame.size() - header_size);
    bytes re = bytes(frame).subspan(header_size);
    FUZZ_CHECK(std::equal(re.begin(), re.end(), body.begin(), body.end())); // the encoding is canonical
    M again;
    FUZZ_CHECK(decode(re, again));
    FUZZ_CHECK(same(m, again));

    // Every body is self-delimiting: no strict prefix of it decodes, nor it with a byte more.
    // (All prefixes for small bodies, a sample for large ones.)
    std::size_t step = body.size() <= 512 ? 1 : body.size() / 64;
    for (std::size_t n = 0; n < body.size(); n += step) FUZZ_CHECK(!decodes<M>(body.first(n)));
    if (!body.empty()) FUZZ_CHECK(!decodes<M>(body.first(body.size() - 1)));
    std::vector<std::byte> longer(body.begin(), body.end());
    longer.push_back(std::byte{0});
    FUZZ_CHECK(!decodes<M>(longer));
    return frame;
}

// The body of a frame of the given type, as the receiving side decodes it. When it decodes, the
// re-encoded frame is byte for byte the received one.
void check_frame(message_type type, bytes frame) {
    bytes body = frame.subspan(header_size);
    std::vector<std::byte> again;
    switch (type) {
    case message_type::create_instance: again = round_trip<create_instance_request>(body, type); break;
    case message_type::open: again = round_trip<open_request>(body, type); break;
    case message_type::wait: again = round_trip<wait_request>(body, type); break;
    case message_type::query: again = round_trip<name_request>(body, type); break;
    case message_type::created: again = round_trip<created_reply>(body, type); break;
    case message_type::opened: again = round_trip<opened_reply>(body, type); break;
    case message_type::client_arrived: again = round_trip<client_arrived_push>(body, type); break;
    case message_type::error: again = round_trip<error_reply>(body, type); break;
    case message_type::pipe_list: again = round_trip<pipe_list_reply>(body, type); break;
    case message_type::broker_status: again = round_trip<broker_status_reply>(body, type); break;
    case message_type::get_security: again = round_trip<get_security_request>(body, type); break;
    case message_type::set_security: again = round_trip<set_security_request>(body, type); break;
    case message_type::security: again = round_trip<security_reply>(body, type); break;
    case message_type::disconnect: again = round_trip<disconnect_request>(body, type); break;
    case message_type::monitor: again = round_trip<monitor_request>(body, type); break;
    case message_type::event: again = round_trip<event_push>(body, type); break;
    case message_type::events_lost: again = round_trip<events_lost_push>(body, type); break;
    case message_type::listen:
    case message_type::events_end:
    case message_type::list:
    case message_type::status:
    case message_type::stop:
    case message_type::ok:
    case message_type::listening:
    case message_type::disconnected:
        if (body.empty()) again = encode(type, empty_body{}); // these carry nothing: a body is refused
        break;
    default: return; // an unknown type: the receiver drops the connection
    }
    if (!again.empty()) FUZZ_CHECK(std::equal(again.begin(), again.end(), frame.begin(), frame.end()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bytes input(reinterpret_cast<const std::byte*>(data), size);

    // 1. A connection's byte stream: frames one after another.
    for (bytes rest = input; rest.size() >= header_size;) {
        auto raw = rest.first<header_size>();
        frame_header request, reply;
        auto as_request = check_header(raw, max_request_body, request);
        auto as_reply = check_header(raw, max_reply_body, reply);
        if (as_request == header_problem::none) FUZZ_CHECK(as_reply == header_problem::none);
        if (as_reply != header_problem::none) break;
        if (rest.size() - header_size < reply.length) break; // incomplete: the receiver waits
        check_frame(reply.type, rest.first(header_size + reply.length));
        rest = rest.subspan(header_size + reply.length);
    }

    // 2. The input as the body of every message type.
    round_trip<create_instance_request>(input, message_type::create_instance);
    round_trip<created_reply>(input, message_type::created);
    round_trip<open_request>(input, message_type::open);
    round_trip<opened_reply>(input, message_type::opened);
    round_trip<client_arrived_push>(input, message_type::client_arrived);
    round_trip<wait_request>(input, message_type::wait);
    round_trip<name_request>(input, message_type::query);
    round_trip<error_reply>(input, message_type::error);
    round_trip<pipe_list_reply>(input, message_type::pipe_list);
    round_trip<broker_status_reply>(input, message_type::broker_status);
    round_trip<get_security_request>(input, message_type::get_security);
    round_trip<set_security_request>(input, message_type::set_security);
    round_trip<security_reply>(input, message_type::security);
    round_trip<disconnect_request>(input, message_type::disconnect);
    round_trip<monitor_request>(input, message_type::monitor);
    round_trip<event_push>(input, message_type::event);
    round_trip<events_lost_push>(input, message_type::events_lost);
    return 0;
}
