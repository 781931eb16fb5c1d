#include "protocol/instance_page.hpp"
#include "protocol/messages.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

using namespace npipe::protocol;

namespace {

std::span<const std::byte> body_of(const std::vector<std::byte>& frame) {
    return std::span<const std::byte>(frame).subspan(header_size);
}

frame_header header_of(const std::vector<std::byte>& frame, std::size_t max_body = max_request_body) {
    frame_header h;
    EXPECT_EQ(decode_header(std::span<const std::byte, header_size>(frame.data(), header_size), max_body, h),
              header_problem::none);
    return h;
}

} // namespace

TEST(Protocol, CreateInstanceRoundTrip) {
    create_instance_request in;
    in.name = "\\\\.\\pipe\\x";
    in.direction = 1;
    in.type = 1;
    in.reject_remote = true;
    in.first_instance = true;
    in.max_instances = 7;
    in.out_buffer_size = 100;
    in.in_buffer_size = 200;
    in.default_timeout_ms = 300;
    auto frame = encode(in);
    auto h = header_of(frame);
    EXPECT_EQ(h.type, message_type::create_instance);
    EXPECT_EQ(h.length, frame.size() - header_size);
    create_instance_request out;
    ASSERT_TRUE(decode(body_of(frame), out));
    EXPECT_EQ(out.name, in.name);
    EXPECT_EQ(out.direction, 1);
    EXPECT_EQ(out.type, 1);
    EXPECT_TRUE(out.reject_remote);
    EXPECT_TRUE(out.first_instance);
    EXPECT_EQ(out.max_instances, 7);
    EXPECT_EQ(out.out_buffer_size, 100u);
    EXPECT_EQ(out.in_buffer_size, 200u);
    EXPECT_EQ(out.default_timeout_ms, 300u);
}

TEST(Protocol, PipeListRoundTrip) {
    pipe_list_reply in;
    pipe_record p;
    p.name = "\\\\.\\pipe\\y";
    p.type = 1;
    p.max_instances = 255;
    p.owner_uid = 1000;
    p.instances.push_back({1, 42, 43, 1001});
    p.instances.push_back({0, 42, 0, 0xFFFFFFFF});
    in.pipes.push_back(p);
    auto frame = encode(in);
    pipe_list_reply out;
    ASSERT_TRUE(decode(body_of(frame), out));
    ASSERT_EQ(out.pipes.size(), 1u);
    EXPECT_EQ(out.pipes[0].name, p.name);
    ASSERT_EQ(out.pipes[0].instances.size(), 2u);
    EXPECT_EQ(out.pipes[0].instances[0].client_pid, 43);
    EXPECT_EQ(out.pipes[0].instances[1].client_uid, 0xFFFFFFFFu);
}

TEST(Protocol, EveryTruncationIsRefused) {
    open_request in{"\\\\.\\pipe\\z", true, false};
    auto frame = encode(in);
    auto body = body_of(frame);
    for (std::size_t n = 0; n < body.size(); ++n) {
        open_request out;
        EXPECT_FALSE(decode(body.first(n), out)) << "accepted " << n << " of " << body.size() << " bytes";
    }
    std::vector<std::byte> longer(body.begin(), body.end());
    longer.push_back(std::byte{0});
    open_request out;
    EXPECT_FALSE(decode(longer, out)) << "trailing bytes must not be ignored";
}

TEST(Protocol, HeaderChecks) {
    auto frame = encode(message_type::list, {});
    frame_header h;
    auto raw = [&] { return std::span<const std::byte, header_size>(frame.data(), header_size); };
    EXPECT_EQ(decode_header(raw(), max_request_body, h), header_problem::none);
    frame[0] = std::byte{'G'};
    EXPECT_EQ(decode_header(raw(), max_request_body, h), header_problem::bad_magic);
    frame = encode(message_type::list, {});
    frame[2] = std::byte{99};
    EXPECT_EQ(decode_header(raw(), max_request_body, h), header_problem::bad_version);
    frame = encode(message_type::list, {});
    frame[4] = frame[5] = frame[6] = frame[7] = std::byte{0xFF}; // a forged 4 GiB body
    EXPECT_EQ(decode_header(raw(), max_request_body, h), header_problem::too_long);
}

TEST(Protocol, ForgedCountsAndBooleans) {
    writer w;
    w.u32(1'000'000); // a million pipes announced in a few bytes
    pipe_list_reply out;
    EXPECT_FALSE(decode(w.bytes(), out));
    writer b;
    b.str("\\\\.\\pipe\\z");
    b.u8(2); // not a boolean
    b.u8(1);
    open_request o;
    EXPECT_FALSE(decode(b.bytes(), o));
}

TEST(Protocol, ReregistrationCarriesStateGenerationAndPipeId) {
    create_instance_request in;
    in.name = "\\\\.\\pipe\\back";
    in.reregister = true;
    in.state = 1; // connected
    in.generation = 41;
    in.pipe_id = 0xA1B2C3D4E5F60718;
    create_instance_request out;
    ASSERT_TRUE(decode(body_of(encode(in)), out));
    EXPECT_TRUE(out.reregister);
    EXPECT_EQ(out.state, 1);
    EXPECT_EQ(out.generation, 41u);
    EXPECT_EQ(out.pipe_id, 0xA1B2C3D4E5F60718u);
    in.state = 4; // no such instance state
    EXPECT_FALSE(decode(body_of(encode(in)), out));
}

TEST(Protocol, SecurityRequestsRoundTrip) {
    set_security_request set{"\\\\.\\pipe\\s", 77, security_parts::dacl | security_parts::owner, "O:S-1-22-1-5D:(A;;FA;;;WD)"};
    auto frame = encode(set);
    EXPECT_EQ(header_of(frame).type, message_type::set_security);
    set_security_request set_out;
    ASSERT_TRUE(decode(body_of(frame), set_out));
    EXPECT_EQ(set_out.name, set.name);
    EXPECT_EQ(set_out.pipe_id, 77u);
    EXPECT_EQ(set_out.parts, 5u);
    EXPECT_EQ(set_out.sddl, set.sddl);
    get_security_request get{"\\\\.\\pipe\\s", 78};
    get_security_request get_out;
    ASSERT_TRUE(decode(body_of(encode(get)), get_out));
    EXPECT_EQ(get_out.pipe_id, 78u);
    security_reply reply{"D:NO_ACCESS_CONTROL"}, reply_out;
    auto reply_frame = encode(reply);
    EXPECT_EQ(header_of(reply_frame, max_reply_body).type, message_type::security);
    ASSERT_TRUE(decode(body_of(reply_frame), reply_out));
    EXPECT_EQ(reply_out.sddl, reply.sddl);
    // Every truncation is refused.
    auto body = body_of(frame);
    for (std::size_t n = 0; n < body.size(); ++n) EXPECT_FALSE(decode(body.first(n), set_out)) << n;
}

TEST(Protocol, ListCountsAreBoundedByTheBody) {
    // The shortest pipe record (empty strings, no instances) takes 30 bytes: a count of pipes
    // larger than the body divided by 30 is refused before any record is read.
    pipe_list_reply one;
    one.pipes.emplace_back();
    EXPECT_EQ(encode(one).size(), header_size + 4 + 30);
    writer w;
    w.u32(3); // three pipes in 64 bytes
    for (int i = 0; i < 60; ++i) w.u8(0);
    pipe_list_reply out;
    EXPECT_FALSE(decode(w.bytes(), out));
}

TEST(Protocol, SixteenBitCountsCutLongListsToTheirFirst65535Items) {
    client_arrived_push push;
    for (std::uint32_t g = 0; g < max_groups + 10; ++g) push.groups.push_back(g);
    client_arrived_push out;
    ASSERT_TRUE(decode(body_of(encode(push)), out));
    ASSERT_EQ(out.groups.size(), max_groups);
    EXPECT_EQ(out.groups.back(), max_groups - 1);

    pipe_list_reply list;
    list.pipes.emplace_back().instances.resize(0x10000 + 3, instance_record{1, 2, 3, 4, 5});
    pipe_list_reply list_out;
    ASSERT_TRUE(decode(body_of(encode(list)), list_out));
    EXPECT_EQ(list_out.pipes.at(0).instances.size(), 0xFFFFu);
}

TEST(Protocol, ARemoteClientCarriesWhoItIsAndOnlyARemoteOneDoes) {
    client_arrived_push push;
    push.remote = true;
    push.account = "carol";
    push.domain = "SERVER";
    push.computer = "WORKSTATION7";
    push.address = "192.0.2.7";
    push.port = 49731;
    push.sids = {{"S-1-5-21-1-2-3-1000"}, {"S-1-5-21-1-2-3-513"}};
    client_arrived_push out;
    ASSERT_TRUE(decode(body_of(encode(push)), out));
    EXPECT_EQ(out, push);

    // A local client is the kernel's ids alone: any of these on one is refused.
    auto local_with = [&](auto set) {
        client_arrived_push local;
        set(local);
        client_arrived_push o;
        return decode(body_of(encode(local)), o);
    };
    EXPECT_TRUE(local_with([](client_arrived_push&) {}));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.account = "carol"; }));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.domain = "D"; }));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.computer = "C"; }));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.address = "192.0.2.7"; }));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.port = 1; }));
    EXPECT_FALSE(local_with([](client_arrived_push& m) { m.sids = {{"S-1-5-21-1-2-3-1000"}}; }));

    // A SID in any spelling but the canonical one is refused.
    for (const char* bad : {"", "WD", "s-1-1-0", "S-1-0x5-2", "S-1-5-21-01", "S-1-5-21-1-2-3-1000 "}) {
        push.sids = {{bad}};
        EXPECT_FALSE(decode(body_of(encode(push)), out)) << bad;
    }
    push.sids = {{"S-1-5-21-1-2-3"}};
    EXPECT_TRUE(decode(body_of(encode(push)), out));
}

TEST(Protocol, InstancePageLayoutAndPublication) {
    // The layout is part of the protocol (unchanged since version 4): the generation is the page's first 8 bytes.
    static_assert(offsetof(instance_page, disconnected_generation) == 0);
    static_assert(sizeof(instance_page) == 8);
    alignas(instance_page) std::byte page[npipe::os::shared_page::size]{};
    EXPECT_EQ(load_disconnected(page), 0u);
    store_disconnected(page, 5);
    EXPECT_EQ(load_disconnected(page), 5u);
    store_disconnected(page, 3); // never back
    EXPECT_EQ(load_disconnected(page), 5u);
    std::uint64_t first; // host order: the page never leaves the machine
    std::memcpy(&first, page, sizeof(first));
    EXPECT_EQ(first, 5u);
}
