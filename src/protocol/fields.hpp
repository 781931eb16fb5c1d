// protocol/fields.hpp - every message's fields, in wire order, declared once.
//
// fields(f, m) walks the fields of `m` with a visitor `f`: encode() walks them with a
// field_writer, decode() with a field_reader (protocol/codec.hpp), so what is written and what
// is read cannot drift apart. Each call names the field's wire form:
//   u8 u16 u32 u64   unsigned little-endian integers of that width
//   i32 i64          signed integers in two's complement (an i32 travels as a u32)
//   boolean          one byte, 0 or 1; any other value is refused
//   str long_str     bytes after a 16-bit / 32-bit length (str cuts at 65535 bytes)
//   list16 list32    a 16-bit / 32-bit count, then each item: a u32, or a record with a fields()
//                    of its own; a count the body is too short for is refused at once
//   check(valid)     a rule a received message must meet (the writer ignores it)
// The reader's parameters are references of exactly the field's type, so a description that
// names the wrong width for a field does not compile.
//
// Changing anything here changes the wire: that needs a new protocol::version, and the golden
// frames in tests/unit/protocol_golden_test.cpp show what it changed.
#pragma once

#include "protocol/messages.hpp"

#include <chrono>
#include <concepts>
#include <string>
#include <type_traits>

namespace npipe::protocol {

/// `T` is `M` or `const M`: one description serves the writer (const) and the reader.
template <class T, class M>
concept maybe_const = std::same_as<std::remove_const_t<T>, M>;

inline constexpr std::uint8_t max_instance_state = 3; // npipe::instance_state::disconnected
inline constexpr auto max_impersonation = static_cast<std::uint8_t>(impersonation_level::delegation);
static_assert(max_groups == 0xFFFF, "client_arrived_push carries its groups with a 16-bit count");

// ---- records inside messages ------------------------------------------------------------------

void fields(auto& f, maybe_const<instance_record> auto& r) {
    f.u8(r.state);
    f.i32(r.server_pid);
    f.i32(r.client_pid);
    f.u32(r.client_uid);
    f.u32(r.server_uid);
    f.u32(r.out_buffer_size);
    f.u32(r.in_buffer_size);
    f.str(r.client_account);
    f.str(r.client_address);
}

void fields(auto& f, maybe_const<sid_text> auto& s) {
    f.str(s.text);
    f.check(canonical_sid(s.text));
}

void fields(auto& f, maybe_const<pipe_record> auto& p) {
    f.str(p.name);
    f.u8(p.type);
    f.u8(p.direction);
    f.u16(p.max_instances);
    f.u32(p.owner_uid);
    f.u32(p.out_buffer_size);
    f.u32(p.in_buffer_size);
    f.u32(p.default_timeout_ms);
    f.boolean(p.reject_remote);
    f.list16(p.instances);
    f.str(p.owner_sid);
    f.str(p.sddl);
    f.boolean(p.remote);
}

// ---- requests ---------------------------------------------------------------------------------

constexpr message_type type_of(const create_instance_request&) noexcept { return message_type::create_instance; }
void fields(auto& f, maybe_const<create_instance_request> auto& m) {
    f.str(m.name);
    f.u8(m.direction);
    f.u8(m.type);
    f.boolean(m.reject_remote);
    f.boolean(m.first_instance);
    f.u16(m.max_instances);
    f.u32(m.out_buffer_size);
    f.u32(m.in_buffer_size);
    f.u32(m.default_timeout_ms);
    f.str(m.sddl);
    f.boolean(m.windows_default_acl);
    f.boolean(m.reregister);
    f.u8(m.state);
    f.u64(m.generation);
    f.u64(m.pipe_id);
    f.boolean(m.message_read_mode);
    f.boolean(m.exported);
    f.check(m.state <= max_instance_state);
}

constexpr message_type type_of(const open_request&) noexcept { return message_type::open; }
void fields(auto& f, maybe_const<open_request> auto& m) {
    f.str(m.name);
    f.boolean(m.read);
    f.boolean(m.write);
    f.u32(m.desired_access);
    f.u8(m.impersonation);
    f.boolean(m.effective_only);
    f.boolean(m.context_tracking);
    f.check(m.impersonation <= max_impersonation);
}

constexpr message_type type_of(const wait_request&) noexcept { return message_type::wait; }
void fields(auto& f, maybe_const<wait_request> auto& m) {
    f.str(m.name);
    f.u32(m.timeout_ms);
}

constexpr message_type type_of(const name_request&) noexcept { return message_type::query; }
void fields(auto& f, maybe_const<name_request> auto& m) { f.str(m.name); }

constexpr message_type type_of(const get_security_request&) noexcept { return message_type::get_security; }
void fields(auto& f, maybe_const<get_security_request> auto& m) {
    f.str(m.name);
    f.u64(m.pipe_id);
}

constexpr message_type type_of(const set_security_request&) noexcept { return message_type::set_security; }
void fields(auto& f, maybe_const<set_security_request> auto& m) {
    f.str(m.name);
    f.u64(m.pipe_id);
    f.u32(m.parts);
    f.str(m.sddl);
}

constexpr message_type type_of(const disconnect_request&) noexcept { return message_type::disconnect; }
void fields(auto& f, maybe_const<disconnect_request> auto& m) {
    f.u64(m.bytes_from_client);
    f.u64(m.bytes_to_client);
    f.boolean(m.client_closed);
    f.boolean(m.server_closing);
}

constexpr message_type type_of(const monitor_request&) noexcept { return message_type::monitor; }
void fields(auto& f, maybe_const<monitor_request> auto& m) {
    f.boolean(m.follow);
    f.i64(m.since_unix_ms);
}

// ---- replies and pushes -----------------------------------------------------------------------

constexpr message_type type_of(const created_reply&) noexcept { return message_type::created; }
void fields(auto& f, maybe_const<created_reply> auto& m) {
    f.u64(m.instance_id);
    f.u64(m.pipe_id);
    f.i32(m.broker_pid);
    f.u64(m.broker_start);
    f.u8(m.type);
    f.u16(m.max_instances);
    f.u32(m.default_timeout_ms);
}

constexpr message_type type_of(const opened_reply&) noexcept { return message_type::opened; }
void fields(auto& f, maybe_const<opened_reply> auto& m) {
    f.i32(m.server_pid);
    f.u8(m.type);
    f.u8(m.direction);
    f.u16(m.max_instances);
    f.u32(m.out_buffer_size);
    f.u32(m.in_buffer_size);
    f.u64(m.generation);
    f.u64(m.pipe_id);
    f.u32(m.granted_access);
}

constexpr message_type type_of(const client_arrived_push&) noexcept { return message_type::client_arrived; }
void fields(auto& f, maybe_const<client_arrived_push> auto& m) {
    f.u64(m.generation);
    f.i32(m.pid);
    f.u32(m.uid);
    f.u32(m.gid);
    f.list16(m.groups); // max_groups at most
    f.str(m.label);
    f.boolean(m.anonymous);
    f.u8(m.impersonation);
    f.boolean(m.effective_only);
    f.boolean(m.remote);
    f.str(m.account);
    f.str(m.domain);
    f.str(m.computer);
    f.str(m.address);
    f.u16(m.port);
    f.list16(m.sids);
    f.check(m.impersonation <= max_impersonation);
    // Only a remote client has these; a local one is named by the kernel's ids alone.
    f.check(m.remote || (m.account.empty() && m.domain.empty() && m.computer.empty() && m.address.empty() &&
                         m.port == 0 && m.sids.empty()));
}

constexpr message_type type_of(const error_reply&) noexcept { return message_type::error; }
void fields(auto& f, maybe_const<error_reply> auto& m) { f.u32(m.code); }

constexpr message_type type_of(const security_reply&) noexcept { return message_type::security; }
void fields(auto& f, maybe_const<security_reply> auto& m) { f.str(m.sddl); }

constexpr message_type type_of(const event_push&) noexcept { return message_type::event; }
void fields(auto& f, maybe_const<event_push> auto& m) {
    f.u64(m.seq);
    f.long_str(m.json);
}

constexpr message_type type_of(const events_lost_push&) noexcept { return message_type::events_lost; }
void fields(auto& f, maybe_const<events_lost_push> auto& m) { f.u64(m.count); }

constexpr message_type type_of(const pipe_list_reply&) noexcept { return message_type::pipe_list; }
void fields(auto& f, maybe_const<pipe_list_reply> auto& m) {
    f.list32(m.pipes); // each record takes at least 30 bytes: a count the body cannot hold is refused
}

// The broker's status: the one list is npipe::for_each_field (include/npipe/namespace.hpp); each
// member travels in the form its type names. A member of a type not named here does not compile.
void status_field(auto& f, maybe_const<std::int32_t> auto& v) { f.i32(v); }
void status_field(auto& f, maybe_const<std::uint32_t> auto& v) { f.u32(v); }
void status_field(auto& f, maybe_const<std::uint64_t> auto& v) { f.u64(v); }
void status_field(auto& f, maybe_const<bool> auto& v) { f.boolean(v); }
void status_field(auto& f, maybe_const<std::string> auto& v) { f.str(v); }
/// A duration travels as a count of its unit: seconds in 64 bits, milliseconds in 32 (a timeout).
template <class Wire, class D> void status_duration(auto& f, D& d) {
    auto count = static_cast<Wire>(d.count());
    status_field(f, count);
    if constexpr (!std::is_const_v<D>) d = std::remove_const_t<D>(static_cast<typename D::rep>(count));
}
void status_field(auto& f, maybe_const<std::chrono::seconds> auto& d) { status_duration<std::uint64_t>(f, d); }
void status_field(auto& f, maybe_const<std::chrono::milliseconds> auto& d) { status_duration<std::uint32_t>(f, d); }

constexpr message_type type_of(const broker_status_reply&) noexcept { return message_type::broker_status; }
void fields(auto& f, maybe_const<broker_status_reply> auto& m) {
    for_each_field(m, [&f](const broker_status_field&, auto& member) { status_field(f, member); });
}

} // namespace npipe::protocol
