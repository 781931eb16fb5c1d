// The bodies of SESSION_SETUP through SET_INFO (MS-SMB2 2.2.5-2.2.40) and the ERROR response.
#include "protocol/smb2_messages.hpp"
#include "protocol/smb2_wire.hpp"

namespace npipe::protocol::smb2 {
namespace {

constexpr std::size_t b = header_size; // where a body starts

std::uint16_t offset16(std::size_t body_offset) { return static_cast<std::uint16_t>(header_size + body_offset); }

void put_file_id(wire_writer& w, file_id id) {
    w.u64(id.persistent);
    w.u64(id.volatile_part);
}

file_id read_file_id(wire_reader& r, std::size_t at) { return {r.u64(at), r.u64(at + 8)}; }

} // namespace

bytes encode_session_setup(const session_setup_request& r) {
    wire_writer w;
    w.u16(25);
    w.u8(0); // no binding
    w.u8(r.security_mode);
    w.u32(r.capabilities);
    w.u32(0); // Channel
    w.u16(offset16(24));
    w.u16(static_cast<std::uint16_t>(r.token.size()));
    w.u64(0); // PreviousSessionId
    w.bytes(r.token);
    return std::move(w.buffer());
}

std::optional<session_setup_response> decode_session_setup(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 9) return std::nullopt;
    session_setup_response out;
    out.session_flags = r.u16(b + 2);
    auto token = r.region(r.u16(b + 4), r.u16(b + 6), b + 8);
    if (r.failed()) return std::nullopt;
    out.token.assign(token.begin(), token.end());
    return out;
}

namespace {
bytes four_byte_body() {
    wire_writer w;
    w.u16(4);
    w.u16(0);
    return std::move(w.buffer());
}
} // namespace

bytes encode_logoff() { return four_byte_body(); }
bytes encode_tree_disconnect() { return four_byte_body(); }
bytes encode_cancel() { return four_byte_body(); }

bool decode_empty(std::span<const std::byte> message, std::uint16_t structure_size) noexcept {
    wire_reader r(message);
    return r.u16(b) == structure_size && !r.failed();
}

bytes encode_tree_connect(std::span<const std::byte> path_utf16) {
    wire_writer w;
    w.u16(9);
    w.u16(0);
    w.u16(offset16(8));
    w.u16(static_cast<std::uint16_t>(path_utf16.size()));
    w.bytes(path_utf16);
    return std::move(w.buffer());
}

std::optional<tree_connect_response> decode_tree_connect(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 16) return std::nullopt;
    tree_connect_response out;
    out.share_type = r.u8(b + 2);
    out.share_flags = r.u32(b + 4);
    out.capabilities = r.u32(b + 8);
    out.maximal_access = r.u32(b + 12);
    if (r.failed()) return std::nullopt;
    return out;
}

bytes encode_create(const create_request& c) {
    wire_writer w;
    w.u16(57);
    w.u8(0);  // SecurityFlags
    w.u8(0);  // no oplock: pipes have none
    w.u32(c.impersonation_level);
    w.u64(0); // SmbCreateFlags
    w.u64(0);
    w.u32(c.desired_access);
    w.u32(0); // FileAttributes
    w.u32(c.share_access);
    w.u32(c.disposition);
    w.u32(c.options);
    w.u16(offset16(56));
    w.u16(static_cast<std::uint16_t>(c.name_utf16.size()));
    w.u32(0); // no create contexts
    w.u32(0);
    w.bytes(c.name_utf16);
    if (c.name_utf16.empty()) w.u8(0); // the buffer is at least one byte
    return std::move(w.buffer());
}

std::optional<create_response> decode_create(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 89) return std::nullopt;
    create_response out;
    out.create_action = r.u32(b + 4);
    out.allocation_size = r.u64(b + 40);
    out.end_of_file = r.u64(b + 48);
    out.attributes = r.u32(b + 56);
    out.id = read_file_id(r, b + 64);
    r.region(r.u32(b + 80), r.u32(b + 84), b + 88); // contexts: checked, not used
    if (r.failed()) return std::nullopt;
    return out;
}

bytes encode_close(file_id id) {
    wire_writer w;
    w.u16(24);
    w.u16(0);
    w.u32(0);
    put_file_id(w, id);
    return std::move(w.buffer());
}

bool decode_close(std::span<const std::byte> message) noexcept {
    wire_reader r(message);
    return r.u16(b) == 60 && (r.bytes(b, 60), !r.failed());
}

bytes encode_read(file_id id, std::uint32_t length, std::uint32_t minimum) {
    wire_writer w;
    w.u16(49);
    w.u8(0x50); // Padding: where the server should put the data (right after its 16-byte body)
    w.u8(0);
    w.u32(length);
    w.u64(0); // Offset: pipes have none
    put_file_id(w, id);
    w.u32(minimum);
    w.u32(0); // Channel
    w.u32(0); // RemainingBytes
    w.u16(0);
    w.u16(0);
    w.u8(0); // the one-byte buffer
    return std::move(w.buffer());
}

std::optional<std::span<const std::byte>> decode_read(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 17) return std::nullopt;
    auto data = r.region(r.u8(b + 2), r.u32(b + 4), b + 16);
    if (r.failed()) return std::nullopt;
    return data;
}

bytes encode_write(file_id id, std::span<const std::byte> data) {
    wire_writer w;
    w.u16(49);
    w.u16(offset16(48));
    w.u32(static_cast<std::uint32_t>(data.size()));
    w.u64(0);
    put_file_id(w, id);
    w.u32(0); // Channel
    w.u32(0); // RemainingBytes
    w.u16(0);
    w.u16(0);
    w.u32(0); // Flags
    w.bytes(data);
    if (data.empty()) w.u8(0);
    return std::move(w.buffer());
}

std::optional<std::uint32_t> decode_write(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 17) return std::nullopt;
    const std::uint32_t count = r.u32(b + 4);
    if (r.failed()) return std::nullopt;
    return count;
}

bytes encode_ioctl(const ioctl_request& q) {
    wire_writer w;
    w.u16(57);
    w.u16(0);
    w.u32(q.code);
    put_file_id(w, q.id);
    w.u32(q.input.empty() ? 0 : header_size + 56); // InputOffset
    w.u32(static_cast<std::uint32_t>(q.input.size()));
    w.u32(0);  // MaxInputResponse
    w.u32(0);  // OutputOffset
    w.u32(0);  // OutputCount
    w.u32(q.max_output);
    w.u32(ioctl_is_fsctl);
    w.u32(0);
    w.bytes(q.input);
    if (q.input.empty()) w.u8(0);
    return std::move(w.buffer());
}

std::optional<ioctl_response> decode_ioctl(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 49) return std::nullopt;
    ioctl_response out;
    out.code = r.u32(b + 4);
    out.id = read_file_id(r, b + 8);
    r.region(r.u32(b + 24), r.u32(b + 28), b + 48); // the input echoed back: checked, not used
    out.output = r.region(r.u32(b + 32), r.u32(b + 36), b + 48);
    if (r.failed()) return std::nullopt;
    return out;
}

bytes encode_pipe_wait_input(std::span<const std::byte> name_utf16, std::optional<std::int64_t> timeout_100ns) {
    wire_writer w;
    w.u64(static_cast<std::uint64_t>(timeout_100ns.value_or(0)));
    w.u32(static_cast<std::uint32_t>(name_utf16.size()));
    w.u8(timeout_100ns ? 1 : 0);
    w.u8(0);
    w.bytes(name_utf16);
    return std::move(w.buffer());
}

std::optional<pipe_peek_output> decode_pipe_peek_output(std::span<const std::byte> output) {
    wire_reader r(output);
    pipe_peek_output out;
    out.state = r.u32(0);
    out.available = r.u32(4);
    out.messages = r.u32(8);
    out.message_length = r.u32(12);
    if (r.failed()) return std::nullopt;
    out.data = output.subspan(16);
    return out;
}

bytes encode_set_pipe_information(file_id id, std::uint32_t read_mode, std::uint32_t completion_mode) {
    wire_writer w;
    w.u16(33);
    w.u8(info_file);
    w.u8(file_pipe_information);
    w.u32(8); // BufferLength
    w.u16(offset16(32));
    w.u16(0);
    w.u32(0); // AdditionalInformation
    put_file_id(w, id);
    w.u32(read_mode);
    w.u32(completion_mode);
    return std::move(w.buffer());
}

std::optional<std::span<const std::byte>> decode_error(std::span<const std::byte> message) {
    wire_reader r(message);
    if (r.u16(b) != 9) return std::nullopt;
    const std::uint32_t count = r.u32(b + 4);
    // ByteCount 0 still has one byte of ErrorData on the wire (some servers omit it)
    auto data = r.bytes(b + 8, count);
    if (r.failed()) return std::nullopt;
    return data;
}

} // namespace npipe::protocol::smb2
