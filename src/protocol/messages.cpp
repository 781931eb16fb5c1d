#include "protocol/messages.hpp"

#include <algorithm>

namespace npipe::protocol {
namespace {

std::vector<std::byte> frame(message_type type, writer& body) {
    writer head;
    head.u16(magic);
    head.u8(version);
    head.u8(static_cast<std::uint8_t>(type));
    head.u32(static_cast<std::uint32_t>(body.bytes().size()));
    auto out = std::move(head.bytes());
    out.insert(out.end(), body.bytes().begin(), body.bytes().end());
    return out;
}

void put(writer& w, const instance_record& r) {
    w.u8(r.state);
    w.u32(static_cast<std::uint32_t>(r.server_pid));
    w.u32(static_cast<std::uint32_t>(r.client_pid));
    w.u32(r.client_uid);
    w.u32(r.server_uid);
}

void get(reader& r, instance_record& out) {
    out.state = r.u8();
    out.server_pid = static_cast<std::int32_t>(r.u32());
    out.client_pid = static_cast<std::int32_t>(r.u32());
    out.client_uid = r.u32();
    out.server_uid = r.u32();
}

void put(writer& w, const pipe_record& p) {
    w.str(p.name);
    w.u8(p.type);
    w.u8(p.direction);
    w.u16(p.max_instances);
    w.u32(p.owner_uid);
    w.u32(p.out_buffer_size);
    w.u32(p.in_buffer_size);
    w.u32(p.default_timeout_ms);
    w.boolean(p.reject_remote);
    w.u16(static_cast<std::uint16_t>(p.instances.size()));
    for (const auto& i : p.instances) put(w, i);
    w.str(p.owner_sid);
    w.str(p.sddl);
    w.boolean(p.remote);
}

void get(reader& r, pipe_record& p) {
    p.name = r.str();
    p.type = r.u8();
    p.direction = r.u8();
    p.max_instances = r.u16();
    p.owner_uid = r.u32();
    p.out_buffer_size = r.u32();
    p.in_buffer_size = r.u32();
    p.default_timeout_ms = r.u32();
    p.reject_remote = r.boolean();
    std::size_t n = r.u16();
    for (std::size_t i = 0; i < n && !r.failed(); ++i) get(r, p.instances.emplace_back());
    p.owner_sid = r.str();
    p.sddl = r.str();
    p.remote = r.boolean();
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

std::vector<std::byte> encode(message_type type, const empty_body&) {
    writer w;
    return frame(type, w);
}

std::vector<std::byte> encode(const create_instance_request& m) {
    writer w;
    w.str(m.name);
    w.u8(m.direction);
    w.u8(m.type);
    w.boolean(m.reject_remote);
    w.boolean(m.first_instance);
    w.u16(m.max_instances);
    w.u32(m.out_buffer_size);
    w.u32(m.in_buffer_size);
    w.u32(m.default_timeout_ms);
    w.str(m.sddl);
    w.boolean(m.windows_default_acl);
    w.boolean(m.reregister);
    w.u8(m.state);
    w.u64(m.generation);
    w.u64(m.pipe_id);
    return frame(message_type::create_instance, w);
}

bool decode(std::span<const std::byte> body, create_instance_request& m) {
    reader r(body);
    m.name = r.str();
    m.direction = r.u8();
    m.type = r.u8();
    m.reject_remote = r.boolean();
    m.first_instance = r.boolean();
    m.max_instances = r.u16();
    m.out_buffer_size = r.u32();
    m.in_buffer_size = r.u32();
    m.default_timeout_ms = r.u32();
    m.sddl = r.str();
    m.windows_default_acl = r.boolean();
    m.reregister = r.boolean();
    m.state = r.u8();
    m.generation = r.u64();
    m.pipe_id = r.u64();
    return r.ok() && m.state <= 3;
}

std::vector<std::byte> encode(const created_reply& m) {
    writer w;
    w.u64(m.instance_id);
    w.u64(m.pipe_id);
    w.u32(static_cast<std::uint32_t>(m.broker_pid));
    w.u64(m.broker_start);
    return frame(message_type::created, w);
}

bool decode(std::span<const std::byte> body, created_reply& m) {
    reader r(body);
    m.instance_id = r.u64();
    m.pipe_id = r.u64();
    m.broker_pid = static_cast<std::int32_t>(r.u32());
    m.broker_start = r.u64();
    return r.ok();
}

std::vector<std::byte> encode(const open_request& m) {
    writer w;
    w.str(m.name);
    w.boolean(m.read);
    w.boolean(m.write);
    w.u32(m.desired_access);
    w.u8(m.impersonation);
    w.boolean(m.effective_only);
    w.boolean(m.context_tracking);
    return frame(message_type::open, w);
}

bool decode(std::span<const std::byte> body, open_request& m) {
    reader r(body);
    m.name = r.str();
    m.read = r.boolean();
    m.write = r.boolean();
    m.desired_access = r.u32();
    m.impersonation = r.u8();
    m.effective_only = r.boolean();
    m.context_tracking = r.boolean();
    return r.ok() && m.impersonation <= static_cast<std::uint8_t>(impersonation_level::delegation);
}

std::vector<std::byte> encode(const opened_reply& m) {
    writer w;
    w.u32(static_cast<std::uint32_t>(m.server_pid));
    w.u8(m.type);
    w.u8(m.direction);
    w.u16(m.max_instances);
    w.u32(m.out_buffer_size);
    w.u32(m.in_buffer_size);
    w.u64(m.generation);
    w.u64(m.pipe_id);
    w.u32(m.granted_access);
    return frame(message_type::opened, w);
}

bool decode(std::span<const std::byte> body, opened_reply& m) {
    reader r(body);
    m.server_pid = static_cast<std::int32_t>(r.u32());
    m.type = r.u8();
    m.direction = r.u8();
    m.max_instances = r.u16();
    m.out_buffer_size = r.u32();
    m.in_buffer_size = r.u32();
    m.generation = r.u64();
    m.pipe_id = r.u64();
    m.granted_access = r.u32();
    return r.ok();
}

std::vector<std::byte> encode(const client_arrived_push& m) {
    writer w;
    w.u64(m.generation);
    w.u32(static_cast<std::uint32_t>(m.pid));
    w.u32(m.uid);
    w.u32(m.gid);
    w.u16(static_cast<std::uint16_t>(std::min<std::size_t>(m.groups.size(), max_groups)));
    for (std::size_t i = 0; i < m.groups.size() && i < max_groups; ++i) w.u32(m.groups[i]);
    w.str(m.label);
    w.boolean(m.anonymous);
    w.u8(m.impersonation);
    w.boolean(m.effective_only);
    return frame(message_type::client_arrived, w);
}

bool decode(std::span<const std::byte> body, client_arrived_push& m) {
    reader r(body);
    m.generation = r.u64();
    m.pid = static_cast<std::int32_t>(r.u32());
    m.uid = r.u32();
    m.gid = r.u32();
    std::size_t n = r.u16();
    if (n > max_groups) return false;
    for (std::size_t i = 0; i < n && !r.failed(); ++i) m.groups.push_back(r.u32());
    m.label = r.str();
    m.anonymous = r.boolean();
    m.impersonation = r.u8();
    m.effective_only = r.boolean();
    return r.ok() && m.impersonation <= static_cast<std::uint8_t>(impersonation_level::delegation);
}

std::vector<std::byte> encode(const wait_request& m) {
    writer w;
    w.str(m.name);
    w.u32(m.timeout_ms);
    return frame(message_type::wait, w);
}

bool decode(std::span<const std::byte> body, wait_request& m) {
    reader r(body);
    m.name = r.str();
    m.timeout_ms = r.u32();
    return r.ok();
}

std::vector<std::byte> encode(const name_request& m) {
    writer w;
    w.str(m.name);
    return frame(message_type::query, w);
}

bool decode(std::span<const std::byte> body, name_request& m) {
    reader r(body);
    m.name = r.str();
    return r.ok();
}

std::vector<std::byte> encode(const error_reply& m) {
    writer w;
    w.u32(m.code);
    return frame(message_type::error, w);
}

bool decode(std::span<const std::byte> body, error_reply& m) {
    reader r(body);
    m.code = r.u32();
    return r.ok();
}

std::vector<std::byte> encode(const get_security_request& m) {
    writer w;
    w.str(m.name);
    w.u64(m.pipe_id);
    return frame(message_type::get_security, w);
}

bool decode(std::span<const std::byte> body, get_security_request& m) {
    reader r(body);
    m.name = r.str();
    m.pipe_id = r.u64();
    return r.ok();
}

std::vector<std::byte> encode(const set_security_request& m) {
    writer w;
    w.str(m.name);
    w.u64(m.pipe_id);
    w.u32(m.parts);
    w.str(m.sddl);
    return frame(message_type::set_security, w);
}

bool decode(std::span<const std::byte> body, set_security_request& m) {
    reader r(body);
    m.name = r.str();
    m.pipe_id = r.u64();
    m.parts = r.u32();
    m.sddl = r.str();
    return r.ok();
}

std::vector<std::byte> encode(const security_reply& m) {
    writer w;
    w.str(m.sddl);
    return frame(message_type::security, w);
}

bool decode(std::span<const std::byte> body, security_reply& m) {
    reader r(body);
    m.sddl = r.str();
    return r.ok();
}

std::vector<std::byte> encode(const pipe_list_reply& m) {
    writer w;
    w.u32(static_cast<std::uint32_t>(m.pipes.size()));
    for (const auto& p : m.pipes) put(w, p);
    return frame(message_type::pipe_list, w);
}

bool decode(std::span<const std::byte> body, pipe_list_reply& m) {
    reader r(body);
    std::size_t n = r.u32();
    // Each record takes at least 30 bytes: a count larger than the body allows is a lie.
    if (n > body.size() / 30) return false;
    for (std::size_t i = 0; i < n && !r.failed(); ++i) get(r, m.pipes.emplace_back());
    return r.ok();
}

std::vector<std::byte> encode(const broker_status_reply& m) {
    writer w;
    w.u32(static_cast<std::uint32_t>(m.pid));
    w.u32(m.uid);
    w.boolean(m.system_scope);
    w.str(m.runtime_dir);
    w.u32(m.protocol_version);
    w.u64(m.uptime_seconds);
    w.u64(m.pipes);
    w.u64(m.instances);
    w.u64(m.connections_served);
    w.u64(m.control_connections);
    w.u32(m.limit_connections_per_uid);
    w.u32(m.limit_instances_per_uid);
    w.u32(m.limit_waiters_per_uid);
    w.u32(m.limit_descriptor_bytes_per_uid);
    w.u32(m.handshake_timeout_ms);
    w.u32(m.idle_timeout_ms);
    w.u64(m.refused_by_limits);
    w.u64(m.waiters);
    w.u64(m.events);
    w.u64(m.events_retained);
    w.u64(m.event_capacity);
    w.u64(m.events_lost);
    w.u64(m.monitors);
    return frame(message_type::broker_status, w);
}

bool decode(std::span<const std::byte> body, broker_status_reply& m) {
    reader r(body);
    m.pid = static_cast<std::int32_t>(r.u32());
    m.uid = r.u32();
    m.system_scope = r.boolean();
    m.runtime_dir = r.str();
    m.protocol_version = r.u32();
    m.uptime_seconds = r.u64();
    m.pipes = r.u64();
    m.instances = r.u64();
    m.connections_served = r.u64();
    m.control_connections = r.u64();
    m.limit_connections_per_uid = r.u32();
    m.limit_instances_per_uid = r.u32();
    m.limit_waiters_per_uid = r.u32();
    m.limit_descriptor_bytes_per_uid = r.u32();
    m.handshake_timeout_ms = r.u32();
    m.idle_timeout_ms = r.u32();
    m.refused_by_limits = r.u64();
    m.waiters = r.u64();
    m.events = r.u64();
    m.events_retained = r.u64();
    m.event_capacity = r.u64();
    m.events_lost = r.u64();
    m.monitors = r.u64();
    return r.ok();
}

std::vector<std::byte> encode(const disconnect_request& m) {
    writer w;
    w.u64(m.bytes_from_client);
    w.u64(m.bytes_to_client);
    w.boolean(m.client_closed);
    w.boolean(m.server_closing);
    return frame(message_type::disconnect, w);
}

bool decode(std::span<const std::byte> body, disconnect_request& m) {
    reader r(body);
    m.bytes_from_client = r.u64();
    m.bytes_to_client = r.u64();
    m.client_closed = r.boolean();
    m.server_closing = r.boolean();
    return r.ok();
}

std::vector<std::byte> encode(const monitor_request& m) {
    writer w;
    w.boolean(m.follow);
    w.i64(m.since_unix_ms);
    return frame(message_type::monitor, w);
}

bool decode(std::span<const std::byte> body, monitor_request& m) {
    reader r(body);
    m.follow = r.boolean();
    m.since_unix_ms = r.i64();
    return r.ok();
}

std::vector<std::byte> encode(const event_push& m) {
    writer w;
    w.u64(m.seq);
    w.long_str(m.json);
    return frame(message_type::event, w);
}

bool decode(std::span<const std::byte> body, event_push& m) {
    reader r(body);
    m.seq = r.u64();
    m.json = r.long_str();
    return r.ok();
}

std::vector<std::byte> encode(const events_lost_push& m) {
    writer w;
    w.u64(m.count);
    return frame(message_type::events_lost, w);
}

bool decode(std::span<const std::byte> body, events_lost_push& m) {
    reader r(body);
    m.count = r.u64();
    return r.ok();
}

} // namespace npipe::protocol
