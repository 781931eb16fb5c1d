// A broker frame received in pieces (src/frame_receiver.hpp): kept between steps, never read
// past its end, its descriptors taken with its first byte.
#include "frame_receiver.hpp"
#include "os/socket.hpp"

#include <npipe/error.hpp>

#include <gtest/gtest.h>

using namespace npipe;
using namespace npipe::detail;

namespace {

struct socket_pair {
    os::fd a, b;
    socket_pair() { EXPECT_FALSE(os::make_socketpair(a, b)); }
};

void send_part(int fd, std::span<const std::byte> bytes, std::span<const int> fds = {}) {
    ASSERT_FALSE(os::send_with_fds(fd, bytes, fds));
}

TEST(FrameReceiver, AFrameInPiecesIsKeptBetweenStepsAndNothingAfterItIsRead) {
    socket_pair p;
    auto wire = protocol::encode(protocol::wait_request{"\\\\.\\pipe\\pieces", 1234});
    auto sp = std::span<const std::byte>(wire);
    frame_receiver rx;
    frame f;
    std::error_code ec;
    EXPECT_FALSE(rx.step(p.b.get(), 0, f, ec));
    EXPECT_FALSE(ec) << "nothing yet: wait";
    EXPECT_TRUE(rx.idle());
    send_part(p.a.get(), sp.subspan(0, 3)); // part of the header
    EXPECT_FALSE(rx.step(p.b.get(), 0, f, ec));
    EXPECT_FALSE(ec);
    EXPECT_FALSE(rx.idle());
    send_part(p.a.get(), sp.subspan(3, protocol::header_size)); // the rest of it and some body
    EXPECT_FALSE(rx.step(p.b.get(), 0, f, ec));
    EXPECT_FALSE(ec);
    // The rest of the body and the next bytes (the server's data on a client's connection).
    std::vector<std::byte> rest(sp.begin() + 3 + static_cast<std::ptrdiff_t>(protocol::header_size), sp.end());
    rest.push_back(std::byte{0x42});
    send_part(p.a.get(), rest);
    ASSERT_TRUE(rx.step(p.b.get(), 0, f, ec)) << ec.message();
    EXPECT_TRUE(rx.idle());
    EXPECT_EQ(f.type, protocol::message_type::wait);
    protocol::wait_request w;
    ASSERT_TRUE(protocol::decode(f.body, w));
    EXPECT_EQ(w.name, "\\\\.\\pipe\\pieces");
    EXPECT_EQ(w.timeout_ms, 1234u);
    std::byte after{};
    auto r = os::recv_some(p.b.get(), &after, 1, os::io_flags::none);
    EXPECT_EQ(r.value, 1u);
    EXPECT_EQ(after, std::byte{0x42}) << "the byte after the frame is still there";
}

TEST(FrameReceiver, DescriptorsComeWithTheFrame) {
    socket_pair p, carried;
    auto wire = protocol::encode(protocol::message_type::listening, {});
    int fd = carried.a.get();
    send_part(p.a.get(), wire, std::span<const int>(&fd, 1));
    frame_receiver rx;
    frame f;
    std::error_code ec;
    ASSERT_TRUE(rx.step(p.b.get(), 1, f, ec)) << ec.message();
    ASSERT_EQ(f.fds.size(), 1u);
    EXPECT_TRUE(f.fds.front().valid());
}

TEST(FrameReceiver, TheEndOfTheConnectionAndABadHeaderAreErrors) {
    {
        socket_pair p;
        auto wire = protocol::encode(protocol::name_request{"x"});
        send_part(p.a.get(), std::span<const std::byte>(wire).subspan(0, 5));
        p.a.reset();
        frame_receiver rx;
        frame f;
        std::error_code ec;
        EXPECT_FALSE(rx.step(p.b.get(), 0, f, ec));
        EXPECT_EQ(ec, win32_error::service_not_active);
    }
    {
        socket_pair p;
        std::vector<std::byte> junk(protocol::header_size, std::byte{0x7f});
        send_part(p.a.get(), junk);
        frame_receiver rx;
        frame f;
        std::error_code ec;
        EXPECT_FALSE(rx.step(p.b.get(), 0, f, ec));
        EXPECT_EQ(ec, win32_error::invalid_data);
    }
}

} // namespace
