// protocol_golden_test.cpp - protocol version 7 on the wire, byte for byte.
//
// Two fully populated instances of every message (every field set, the second differing from
// the first in every field, booleans inverted) and their frames as the version-7 encoder wrote
// them. Version 4's strings were captured from the encoder before the fields were declared once
// (src/protocol/fields.hpp); version 5's differ from them in the version byte, the lengths and
// its new fields only (created_reply's type, limit and timeout; instance_record's buffer sizes;
// create_instance_request's message read mode); version 6's from version 5's in the version
// byte and create_instance_request's `exported` and client_arrived_push's `remote` (a byte
// each, so their lengths); version 7's from version 6's in the version byte, client_arrived_push's
// remote client (account, domain, computer, address, port, SIDs) and instance_record's client
// account and address (and the lengths). They must never change without a new protocol version.
#include "protocol/messages.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

using namespace npipe::protocol;

namespace {

template <class M> struct sample {
    M a, b;
    message_type type;
    std::string_view hex_a, hex_b;
};

std::string to_hex(std::span<const std::byte> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string s;
    for (auto b : bytes) {
        s += digits[static_cast<unsigned>(b) >> 4];
        s += digits[static_cast<unsigned>(b) & 0xF];
    }
    return s;
}

std::span<const std::byte> body_of(const std::vector<std::byte>& frame) {
    return std::span<const std::byte>(frame).subspan(header_size);
}

pipe_list_reply list_a() {
    pipe_list_reply m;
    m.pipes.push_back({.name = "\\\\.\\pipe\\one", .type = 1, .direction = 2, .max_instances = 0x0304,
                       .owner_uid = 0x05060708, .out_buffer_size = 0x090A0B0C, .in_buffer_size = 0x0D0E0F10,
                       .default_timeout_ms = 0x11121314, .reject_remote = true,
                       .instances = {{1, 0x21222324, -5, 0x25262728, 0x292A2B2C, 0x41424344, 0x45464748,
                                      "NPIPE\\carol", "192.0.2.7:49731"},
                                     {2, -1, 0x31323334, 0xFFFFFFFF, 7, 8, 9, "", ""}},
                       .owner_sid = "S-1-22-1-1000", .sddl = "D:(A;;FA;;;WD)", .remote = false});
    m.pipes.push_back({.name = "\\\\.\\pipe\\two", .type = 0, .direction = 3, .max_instances = 255,
                       .owner_uid = 0, .out_buffer_size = 1, .in_buffer_size = 2, .default_timeout_ms = 3,
                       .reject_remote = false, .instances = {}, .owner_sid = "", .sddl = "", .remote = true});
    return m;
}

pipe_list_reply list_b() {
    pipe_list_reply m;
    m.pipes.push_back({.name = "\\\\.\\pipe\\b", .type = 0, .direction = 1, .max_instances = 9,
                       .owner_uid = 1000, .out_buffer_size = 4096, .in_buffer_size = 8192, .default_timeout_ms = 50,
                       .reject_remote = false, .instances = {{3, 4242, 0, 0xFFFFFFFF, 1000, 4096, 0, "", "[2001:db8::7]:445"}},
                       .owner_sid = "S-1-22-1-0", .sddl = "O:BAD:P", .remote = true});
    return m;
}

broker_status_reply status_a() {
    using namespace std::chrono;
    return {.pid = 0x01020304, .uid = 0x05060708, .system_scope = true, .runtime_dir = "/run/npipe",
            .protocol_version = 4, .uptime = seconds(0x1011121314151617), .pipes = 0x2021222324252627,
            .instances = 0x3031323334353637, .connections_served = 0x4041424344454647,
            .control_connections = 0x5051525354555657, .limit_connections_per_uid = 0x61626364,
            .limit_instances_per_uid = 0x65666768, .limit_waiters_per_uid = 0x696A6B6C,
            .limit_descriptor_bytes_per_uid = 0x6D6E6F70, .handshake_timeout = milliseconds(0x71727374),
            .idle_timeout = milliseconds(0x75767778), .refused_by_limits = 0x8081828384858687,
            .waiters = 0x9091929394959697, .events = 0xA0A1A2A3A4A5A6A7, .events_retained = 0xB0B1B2B3B4B5B6B7,
            .event_capacity = 0xC0C1C2C3C4C5C6C7, .events_lost = 0xD0D1D2D3D4D5D6D7, .monitors = 0xE0E1E2E3E4E5E6E7};
}

broker_status_reply status_b() {
    using namespace std::chrono;
    return {.pid = -7, .uid = 1000, .system_scope = false, .runtime_dir = "/run/user/1000/npipe",
            .protocol_version = 3, .uptime = seconds(1), .pipes = 2, .instances = 3, .connections_served = 4,
            .control_connections = 5, .limit_connections_per_uid = 6, .limit_instances_per_uid = 7,
            .limit_waiters_per_uid = 8, .limit_descriptor_bytes_per_uid = 9, .handshake_timeout = milliseconds(10),
            .idle_timeout = milliseconds(11), .refused_by_limits = 12, .waiters = 13, .events = 14,
            .events_retained = 15, .event_capacity = 16, .events_lost = 17, .monitors = 18};
}

auto request_samples() {
    return std::make_tuple(
        sample<create_instance_request>{
            {.name = "\\\\.\\pipe\\golden", .direction = 2, .type = 1, .reject_remote = true,
             .first_instance = false, .max_instances = 0x0102, .out_buffer_size = 0x11121314,
             .in_buffer_size = 0x21222324, .default_timeout_ms = 0x31323334, .sddl = "D:(A;;FA;;;WD)",
             .windows_default_acl = true, .reregister = false, .state = 3, .generation = 0x4142434445464748,
             .pipe_id = 0x5152535455565758, .message_read_mode = true, .exported = true},
            {.name = "g", .direction = 1, .type = 0, .reject_remote = false, .first_instance = true,
             .max_instances = 255, .out_buffer_size = 1, .in_buffer_size = 2, .default_timeout_ms = 3, .sddl = "",
             .windows_default_acl = false, .reregister = true, .state = 1, .generation = 4, .pipe_id = 5,
             .message_read_mode = false, .exported = false},
            message_type::create_instance,
            "4e500701480000000f005c5c2e5c706970655c676f6c64656e0201010002011413121124232221343332310e00443a28"
            "413b3b46413b3b3b574429010003484746454443424158575655545352510101",
            "4e5007012c00000001006701000001ff0001000000020000000300000000000001010400000000000000050000000000"
            "00000000"},
        sample<open_request>{{.name = "\\\\.\\pipe\\open", .read = true, .write = false, .desired_access = 0x80120089,
                              .impersonation = 2, .effective_only = true, .context_tracking = false},
                             {.name = "", .read = false, .write = true, .desired_access = 0, .impersonation = 3,
                              .effective_only = false, .context_tracking = true},
                             message_type::open,
            "4e500702180000000d005c5c2e5c706970655c6f70656e010089001280020100",
            "4e5007020b0000000000000100000000030001"},
        sample<wait_request>{{.name = "\\\\.\\pipe\\wait", .timeout_ms = 0xFFFFFFFF}, {.name = "w", .timeout_ms = 1},
                             message_type::wait,
            "4e500703130000000d005c5c2e5c706970655c77616974ffffffff",
            "4e5007030700000001007701000000"},
        sample<name_request>{{.name = "\\\\.\\pipe\\Stra\xC3\x9F" "e"}, {.name = ""}, message_type::query,
            "4e5007061200000010005c5c2e5c706970655c53747261c39f65",
            "4e500706020000000000"},
        sample<get_security_request>{{.name = "\\\\.\\pipe\\sd", .pipe_id = 0x0102030405060708},
                                     {.name = "", .pipe_id = 9}, message_type::get_security,
            "4e50070a150000000b005c5c2e5c706970655c73640807060504030201",
            "4e50070a0a00000000000900000000000000"},
        sample<set_security_request>{{.name = "\\\\.\\pipe\\sd", .pipe_id = 0x0102030405060708, .parts = 0x0F,
                                      .sddl = "D:P(A;;FA;;;S-1-22-1-1000)"},
                                     {.name = "x", .pipe_id = 1, .parts = 4, .sddl = ""},
                                     message_type::set_security,
            "4e50070b350000000b005c5c2e5c706970655c736408070605040302010f0000001a00443a5028413b3b46413b3b3b53"
            "2d312d32322d312d3130303029",
            "4e50070b110000000100780100000000000000040000000000"},
        sample<disconnect_request>{{.bytes_from_client = 0x0102030405060708, .bytes_to_client = 0x1112131415161718,
                                    .client_closed = true, .server_closing = false},
                                   {.bytes_from_client = 1, .bytes_to_client = 2, .client_closed = false,
                                    .server_closing = true},
                                   message_type::disconnect,
            "4e50070512000000080706050403020118171615141312110100",
            "4e50070512000000010000000000000002000000000000000001"},
        sample<monitor_request>{{.follow = true, .since_unix_ms = 1790000000000},
                                {.follow = false, .since_unix_ms = -1}, message_type::monitor,
            "4e50070c0900000001006c50c4a0010000",
            "4e50070c0900000000ffffffffffffffff"});
}

auto reply_samples() {
    return std::make_tuple(
        sample<created_reply>{{.instance_id = 0x0102030405060708, .pipe_id = 0x1112131415161718,
                               .broker_pid = 0x21222324, .broker_start = 0x3132333435363738, .type = 1,
                               .max_instances = 0x4142, .default_timeout_ms = 0x51525354},
                              {.instance_id = 1, .pipe_id = 2, .broker_pid = -3, .broker_start = 4, .type = 0,
                               .max_instances = 255, .default_timeout_ms = 5},
                              message_type::created,
            "4e500742230000000807060504030201181716151413121124232221383736353433323101424154535251",
            "4e5007422300000001000000000000000200000000000000fdffffff040000000000000000ff0005000000"},
        sample<opened_reply>{{.server_pid = 0x01020304, .type = 1, .direction = 2, .max_instances = 0x0506,
                              .out_buffer_size = 0x0708090A, .in_buffer_size = 0x0B0C0D0E,
                              .generation = 0x1112131415161718, .pipe_id = 0x2122232425262728,
                              .granted_access = 0x31323334},
                             {.server_pid = -2, .type = 0, .direction = 3, .max_instances = 1, .out_buffer_size = 2,
                              .in_buffer_size = 3, .generation = 4, .pipe_id = 5, .granted_access = 6},
                             message_type::opened,
            "4e5007432400000004030201010206050a0908070e0d0c0b1817161514131211282726252423222134333231",
            "4e50074324000000feffffff0003010002000000030000000400000000000000050000000000000006000000"},
        sample<client_arrived_push>{{.generation = 0x0102030405060708, .pid = 0x11121314, .uid = 0x21222324,
                                     .gid = 0x31323334, .groups = {0x41424344, 27, 0xFFFFFFFE},
                                     .label = "unconfined", .anonymous = true, .impersonation = 2,
                                     .effective_only = false, .remote = true, .account = "carol", .domain = "NPIPE",
                                     .computer = "WS7", .address = "192.0.2.7", .port = 0xC243,
                                     .sids = {{"S-1-5-21-1-2-3-1000"}, {"S-1-5-2"}}},
                                    {.generation = 1, .pid = -1, .uid = 2, .gid = 3, .groups = {}, .label = "",
                                     .anonymous = false, .impersonation = 0, .effective_only = true, .remote = false,
                                     .account = "", .domain = "", .computer = "", .address = "", .port = 0,
                                     .sids = {}},
                                    message_type::client_arrived,
            "4e5007447200000008070605040302011413121124232221343332310300444342411b000000feffffff0a00756e636f"
            "6e66696e65640102000105006361726f6c05004e50495045030057533709003139322e302e322e3743c202001300532d"
            "312d352d32312d312d322d332d313030300700532d312d352d32",
            "4e500744280000000100000000000000ffffffff02000000030000000000000000000100000000000000000000000000"},
        sample<error_reply>{{.code = 231}, {.code = 0x01020304}, message_type::error,
            "4e50074104000000e7000000",
            "4e5007410400000004030201"},
        sample<security_reply>{{.sddl = "O:S-1-22-1-1000D:P"}, {.sddl = ""}, message_type::security,
            "4e5007491400000012004f3a532d312d32322d312d31303030443a50",
            "4e500749020000000000"},
        sample<event_push>{{.seq = 0x0102030405060708, .json = R"({"EventId":17})"}, {.seq = 1, .json = ""},
                           message_type::event,
            "4e50074a1a00000008070605040302010e0000007b224576656e744964223a31377d",
            "4e50074a0c000000010000000000000000000000"},
        sample<events_lost_push>{{.count = 0x0102030405060708}, {.count = 1}, message_type::events_lost,
            "4e50074b080000000807060504030201",
            "4e50074b080000000100000000000000"},
        sample<pipe_list_reply>{list_a(), list_b(), message_type::pipe_list,
            "4e500745c7000000020000000c005c5c2e5c706970655c6f6e6501020403080706050c0b0a09100f0e0d141312110102"
            "000124232221fbffffff282726252c2b2a2944434241484746450b004e504950455c6361726f6c0f003139322e302e32"
            "2e373a343937333102ffffffff34333231ffffffff070000000800000009000000000000000d00532d312d32322d312d"
            "313030300e00443a28413b3b46413b3b3b574429000c005c5c2e5c706970655c74776f0003ff00000000000100000002"
            "000000030000000000000000000001",
            "4e5007456b000000010000000a005c5c2e5c706970655c6200010900e803000000100000002000003200000000010003"
            "9210000000000000ffffffffe80300000010000000000000000011005b323030313a6462383a3a375d3a3434350a0053"
            "2d312d32322d312d3007004f3a4241443a5001"},
        sample<broker_status_reply>{status_a(), status_b(), message_type::broker_status,
            "4e500746910000000403020108070605010a002f72756e2f6e7069706504000000171615141312111027262524232221"
            "2037363534333231304746454443424140575655545352515064636261686766656c6b6a69706f6e6d74737271787776"
            "7587868584838281809796959493929190a7a6a5a4a3a2a1a0b7b6b5b4b3b2b1b0c7c6c5c4c3c2c1c0d7d6d5d4d3d2d1"
            "d0e7e6e5e4e3e2e1e0",
            "4e5007469b000000f9ffffffe80300000014002f72756e2f757365722f313030302f6e70697065030000000100000000"
            "000000020000000000000003000000000000000400000000000000050000000000000006000000070000000800000009"
            "0000000a0000000b0000000c000000000000000d000000000000000e000000000000000f000000000000001000000000"
            "00000011000000000000001200000000000000"});
}

auto samples() { return std::tuple_cat(request_samples(), reply_samples()); }
static_assert(std::tuple_size_v<decltype(samples())> == 17, "every message with a body");

/// Calls `f` with each sample.
template <class F> void for_each_sample(F&& f) {
    std::apply([&](const auto&... s) { (f(s), ...); }, samples());
}

template <class M> std::string name_of(const sample<M>& s) {
    return "message type " + std::to_string(static_cast<unsigned>(s.type));
}

} // namespace

TEST(ProtocolGolden, EveryMessageEncodesAsVersion7) {
    for_each_sample([](const auto& s) {
        SCOPED_TRACE(name_of(s));
        EXPECT_EQ(to_hex(encode(s.a)), s.hex_a);
        EXPECT_EQ(to_hex(encode(s.b)), s.hex_b);
    });
}

TEST(ProtocolGolden, EveryMessageRoundTrips) {
    for_each_sample([](const auto& s) {
        SCOPED_TRACE(name_of(s));
        for (const auto* m : {&s.a, &s.b}) {
            auto frame = encode(*m);
            frame_header h;
            ASSERT_EQ(decode_header(std::span<const std::byte, header_size>(frame.data(), header_size),
                                    max_reply_body, h),
                      header_problem::none);
            EXPECT_EQ(h.type, s.type);
            EXPECT_EQ(h.length, frame.size() - header_size);
            std::remove_cvref_t<decltype(*m)> out{};
            ASSERT_TRUE(decode(body_of(frame), out));
            EXPECT_TRUE(out == *m) << "a field did not survive the round trip";
            EXPECT_EQ(encode(out), frame);
        }
    });
}

TEST(ProtocolGolden, DecodingReplacesEveryField) {
    // Decoding into a message that differs in every field leaves nothing of it behind (lists
    // included: they are replaced, not appended to).
    for_each_sample([](const auto& s) {
        SCOPED_TRACE(name_of(s));
        auto out = s.b;
        ASSERT_TRUE(decode(body_of(encode(s.a)), out));
        EXPECT_TRUE(out == s.a);
        out = s.a;
        ASSERT_TRUE(decode(body_of(encode(s.b)), out));
        EXPECT_TRUE(out == s.b);
    });
}

TEST(ProtocolGolden, EveryTruncationAndExtensionIsRefused) {
    for_each_sample([](const auto& s) {
        SCOPED_TRACE(name_of(s));
        using M = std::remove_cvref_t<decltype(s.a)>;
        for (const auto* m : {&s.a, &s.b}) {
            auto frame = encode(*m);
            auto body = body_of(frame);
            for (std::size_t n = 0; n < body.size(); ++n) {
                M out{};
                EXPECT_FALSE(decode(body.first(n), out)) << "accepted " << n << " of " << body.size() << " bytes";
            }
            std::vector<std::byte> longer(body.begin(), body.end());
            longer.push_back(std::byte{0});
            M out{};
            EXPECT_FALSE(decode(longer, out)) << "trailing bytes must not be ignored";
        }
    });
}

TEST(ProtocolGolden, BodilessMessagesAreABareHeader) {
    const std::pair<message_type, std::string_view> golden[] = {
        {message_type::listen, "4e50070400000000"},       {message_type::list, "4e50070700000000"},
        {message_type::status, "4e50070800000000"},       {message_type::stop, "4e50070900000000"},
        {message_type::ok, "4e50074000000000"},           {message_type::listening, "4e50074700000000"},
        {message_type::disconnected, "4e50074800000000"}, {message_type::events_end, "4e50074c00000000"},
    };
    for (const auto& [type, hex] : golden) EXPECT_EQ(to_hex(encode(type, empty_body{})), hex);
}

namespace {

/// Converts to the type of any member: T{any_member{}, ...} compiles with at most as many as T
/// has members.
struct any_member {
    template <class T> operator T() const noexcept;
};

template <class T, class... Taken> constexpr std::size_t member_count() {
    if constexpr (requires { T{Taken{}..., any_member{}}; }) return member_count<T, Taken..., any_member>();
    else return sizeof...(Taken);
}

} // namespace

TEST(ProtocolGolden, EveryStatusMemberIsInTheOneList) {
    // The status travels and shows by npipe::for_each_field: a member left out of it would
    // silently do neither. Each name is one JSON key.
    npipe::broker_status status;
    std::size_t listed = 0;
    std::set<std::pair<std::string_view, std::string_view>> keys;
    npipe::for_each_field(status, [&](const npipe::broker_status_field& f, auto&) {
        ++listed;
        EXPECT_TRUE(keys.insert({f.group, f.name}).second) << f.name << " twice";
    });
    EXPECT_EQ(listed, member_count<npipe::broker_status>());
}
