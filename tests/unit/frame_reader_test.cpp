// frame_reader_test.cpp - protocol::frame_reader: frames out of bytes and descriptors however
// they arrive, header problems as decode_header reports them, and its limits.
#include "os/socket.hpp"
#include "protocol/frame_reader.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/socket.h>

#include <string>

using namespace npipe;
using namespace npipe::protocol;

namespace {

using bytes = std::vector<std::byte>;

bytes cat(std::initializer_list<bytes> frames) {
    bytes out;
    for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
    return out;
}

bytes create_frame(const std::string& name) {
    create_instance_request m;
    m.name = name;
    m.max_instances = 4;
    return encode(m);
}

/// Three frames of different sizes, as a server's link carries them.
const bytes& stream() {
    static const bytes s = cat({create_frame("\\\\.\\pipe\\fr"),
                                encode(message_type::listen, {}),
                                encode(disconnect_request{.bytes_from_client = 7, .client_closed = true})});
    return s;
}

/// The frames a stream holds, each as its encoding (header and body).
std::vector<bytes> frames_of(const bytes& s) {
    std::vector<bytes> out;
    for (std::size_t at = 0; at < s.size();) {
        frame_header h;
        EXPECT_EQ(decode_header(std::span<const std::byte, header_size>(s.data() + at, header_size), max_reply_body, h),
                  header_problem::none);
        std::size_t size = header_size + h.length;
        auto first = s.begin() + static_cast<std::ptrdiff_t>(at);
        out.emplace_back(first, first + static_cast<std::ptrdiff_t>(size));
        at += size;
    }
    return out;
}

/// `f` re-encoded: its header and its body.
bytes whole(const frame& f) {
    bytes out = encode(f.type, empty_body{});
    auto length = static_cast<std::uint32_t>(f.body.size());
    for (std::size_t i = 0; i < 4; ++i) out[4 + i] = static_cast<std::byte>(length >> (8 * i));
    out.insert(out.end(), f.body.begin(), f.body.end());
    return out;
}

std::vector<bytes> drain(frame_reader& r) {
    std::vector<bytes> out;
    while (auto f = r.next()) out.push_back(whole(*f));
    return out;
}

os::fd some_descriptor() {
    auto r = os::open_path("/dev/null", O_RDONLY, 0);
    EXPECT_TRUE(r) << r.error.message();
    return std::move(r.value);
}

std::vector<os::fd> descriptors(std::size_t n) {
    std::vector<os::fd> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(some_descriptor());
    return out;
}

} // namespace

TEST(FrameReader, ByteAtATime) {
    frame_reader r(max_request_body);
    auto expected = frames_of(stream());
    std::vector<bytes> got;
    std::size_t at = 0;
    for (const auto& f : expected) {
        frame_header h;
        ASSERT_EQ(decode_header(std::span<const std::byte, header_size>(f.data(), header_size), max_request_body, h),
                  header_problem::none);
        for (std::size_t i = 0; i < f.size(); ++i, ++at) {
            // Header first, then body: exactly what is still missing.
            std::size_t missing = i < header_size ? header_size - i : header_size + h.length - i;
            EXPECT_EQ(r.needed(), missing) << "frame byte " << i;
            EXPECT_FALSE(r.has_frame());
            ASSERT_EQ(r.feed(std::span(stream()).subspan(at, 1)), 1u);
        }
        EXPECT_EQ(r.needed(), 0u);
        ASSERT_TRUE(r.has_frame());
        auto taken = drain(r);
        got.insert(got.end(), taken.begin(), taken.end());
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(r.buffered(), 0u);
    EXPECT_EQ(r.needed(), header_size);
    EXPECT_EQ(r.problem(), frame_problem::none);

    create_instance_request create;
    ASSERT_EQ(got.size(), 3u);
    EXPECT_TRUE(decode(std::span(got[0]).subspan(header_size), create));
    EXPECT_EQ(create.name, "\\\\.\\pipe\\fr");
}

TEST(FrameReader, ManyFramesInOneFeed) {
    frame_reader r(max_request_body);
    auto s = cat({stream(), stream()});
    ASSERT_EQ(r.feed(s), s.size());
    EXPECT_EQ(r.buffered(), s.size());
    EXPECT_EQ(r.needed(), 0u); // complete frames wait
    EXPECT_EQ(drain(r), frames_of(s));
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, EverySplitOfAStreamGivesTheSameFrames) {
    auto s = cat({stream(), encode(opened_reply{.server_pid = 9}), stream()});
    for (std::size_t cut = 0; cut <= s.size(); ++cut) {
        frame_reader r(max_reply_body);
        std::vector<bytes> got;
        ASSERT_EQ(r.feed(std::span(s).first(cut)), cut);
        auto first = drain(r);
        ASSERT_EQ(r.feed(std::span(s).subspan(cut)), s.size() - cut);
        auto second = drain(r);
        got.insert(got.end(), first.begin(), first.end());
        got.insert(got.end(), second.begin(), second.end());
        EXPECT_EQ(got, frames_of(s)) << "cut at " << cut;
    }
}

TEST(FrameReader, FrameSplitAtTheHeaderBodyBoundary) {
    frame_reader r(max_request_body);
    auto f = encode(open_request{.name = "\\\\.\\pipe\\split"});
    ASSERT_EQ(r.feed(std::span(f).first(header_size)), header_size);
    EXPECT_FALSE(r.has_frame());
    EXPECT_EQ(r.needed(), f.size() - header_size); // the whole body, and only it
    auto room = r.space(1000);
    ASSERT_GE(room.size(), f.size() - header_size);
    std::copy(f.begin() + header_size, f.end(), room.begin());
    r.received(f.size() - header_size);
    auto got = r.next();
    ASSERT_TRUE(got);
    EXPECT_EQ(got->type, message_type::open);
    open_request o;
    ASSERT_TRUE(decode(got->body, o));
    EXPECT_EQ(o.name, "\\\\.\\pipe\\split");
}

TEST(FrameReader, DescriptorsBelongToTheFrameOfTheirFirstByte) {
    auto listen = encode(message_type::listen, {});
    auto create = create_frame("\\\\.\\pipe\\fd");
    auto s = cat({listen, create, listen});
    frame_reader r(max_request_body, 2);
    // The descriptor comes with the first byte of `create`, which arrives with the rest of it.
    ASSERT_EQ(r.feed(std::span(s).first(listen.size())), listen.size());
    auto fds = descriptors(1);
    ASSERT_EQ(r.feed(std::span(s).subspan(listen.size()), fds), s.size() - listen.size());
    EXPECT_TRUE(fds.empty());
    EXPECT_EQ(r.descriptors(), 1u);
    auto a = r.next(), b = r.next(), c = r.next();
    ASSERT_TRUE(a && b && c);
    EXPECT_TRUE(a->fds.empty());
    ASSERT_EQ(b->fds.size(), 1u);
    EXPECT_TRUE(b->fds[0].valid());
    EXPECT_TRUE(c->fds.empty());
    EXPECT_EQ(r.descriptors(), 0u);

    // Received in the middle of a frame, they are that frame's, even when the receive goes on
    // into the next one.
    frame_reader mid(max_request_body, 2);
    ASSERT_EQ(mid.feed(std::span(create).first(3)), 3u);
    fds = descriptors(2);
    auto rest = cat({bytes(create.begin() + 3, create.end()), listen});
    ASSERT_EQ(mid.feed(rest, fds), rest.size());
    auto first = mid.next(), second = mid.next();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(first->fds.size(), 2u);
    EXPECT_TRUE(second->fds.empty());
}

TEST(FrameReader, HeaderProblemsAsDecodeHeaderReportsThem) {
    auto good = encode(message_type::list, {});
    auto bad = [&](std::size_t at, std::byte value) {
        auto f = good;
        f[at] = value;
        return f;
    };
    auto with_length = [&](std::uint32_t length) {
        auto f = good;
        for (std::size_t i = 0; i < 4; ++i) f[4 + i] = static_cast<std::byte>(length >> (8 * i));
        return f;
    };
    constexpr auto past_request_limit = static_cast<std::uint32_t>(max_request_body + 1);
    struct {
        bytes frame;
        std::size_t max_body;
        frame_problem expected;
    } cases[] = {
        {bad(0, std::byte{'G'}), max_request_body, frame_problem::bad_magic},
        {bad(1, std::byte{'E'}), max_request_body, frame_problem::bad_magic},
        {bad(2, std::byte{3}), max_request_body, frame_problem::bad_version},
        {with_length(0xFFFFFFFF), max_reply_body, frame_problem::too_long}, // a forged 4 GiB body
        {with_length(past_request_limit), max_request_body, frame_problem::too_long}, // 64 KiB + 1 ...
        {with_length(past_request_limit), max_reply_body, frame_problem::none},       // ... is a fine reply
        {with_length(static_cast<std::uint32_t>(max_reply_body)), max_reply_body, frame_problem::none},
    };
    for (const auto& c : cases) {
        frame_header h;
        auto raw = std::span<const std::byte, header_size>(c.frame.data(), header_size);
        auto direct = decode_header(raw, c.max_body, h);
        EXPECT_EQ(to_frame_problem(direct), c.expected);
        // A good frame first, then the bad header one byte at a time: the problem shows once
        // the eighth byte is there, and the good frame is still handed out.
        frame_reader r(c.max_body);
        auto s = cat({good, c.frame});
        for (std::size_t i = 0; i < good.size() + header_size; ++i) {
            EXPECT_EQ(r.problem(), frame_problem::none);
            ASSERT_EQ(r.feed(std::span(s).subspan(i, 1)), 1u);
        }
        EXPECT_EQ(r.problem(), c.expected);
        auto f = r.next();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->type, message_type::list);
        EXPECT_FALSE(r.next());
        if (c.expected == frame_problem::none) continue;
        EXPECT_EQ(r.needed(), 0u);
        EXPECT_TRUE(r.space(100).empty()); // nothing more is taken
        EXPECT_EQ(r.feed(good), 0u);
        EXPECT_FALSE(r.next());
    }
}

TEST(FrameReader, NeverHoldsMoreThanOneFrame) {
    frame_reader r(max_request_body);
    set_security_request big;
    big.sddl = std::string(max_request_body - 16, 'x');
    bytes largest = encode(big);
    ASSERT_EQ(largest.size(), r.limit()); // exactly the limit: accepted
    auto s = cat({encode(message_type::listen, {}), largest});
    // Only what fits: the first frame and all but its size of the second.
    std::size_t taken = r.feed(s);
    EXPECT_EQ(taken, r.limit());
    EXPECT_EQ(r.buffered(), r.limit());
    EXPECT_TRUE(r.space(1).empty());
    EXPECT_EQ(r.feed(std::span(s).subspan(taken)), 0u);
    // Taking the first frame makes room for the rest of the second.
    auto first = r.next();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->type, message_type::listen);
    EXPECT_EQ(r.needed(), header_size);
    EXPECT_EQ(r.space(100000).size(), header_size);
    EXPECT_EQ(r.feed(std::span(s).subspan(taken)), header_size);
    auto second = r.next();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->body.size(), max_request_body);
    set_security_request set;
    EXPECT_TRUE(decode(second->body, set));
    EXPECT_EQ(r.buffered(), 0u);
}

TEST(FrameReader, DescriptorLimits) {
    auto create = create_frame("\\\\.\\pipe\\fd");
    {
        frame_reader r(max_request_body, 2); // three with one frame: too many
        auto fds = descriptors(3);
        int raw = fds[0].get();
        EXPECT_EQ(r.feed(create, fds), create.size());
        EXPECT_EQ(r.problem(), frame_problem::too_many_fds);
        EXPECT_FALSE(r.next()); // its bytes are not taken either
        EXPECT_TRUE(fds.empty());
        EXPECT_FALSE(os::is_open(raw)) << "refused descriptors are closed";
    }
    {
        frame_reader r(max_request_body, 1); // one, then one more for the same frame
        auto fds = descriptors(1);
        ASSERT_EQ(r.feed(std::span(create).first(4), fds), 4u);
        fds = descriptors(1);
        r.feed(std::span(create).subspan(4), fds);
        EXPECT_EQ(r.problem(), frame_problem::too_many_fds);
        EXPECT_EQ(r.descriptors(), 0u);
    }
    {
        frame_reader none(max_request_body); // a connection that must never bring any
        auto fds = descriptors(1);
        none.feed(create, fds);
        EXPECT_EQ(none.problem(), frame_problem::too_many_fds);
    }
    auto two = cat({create, create});
    {
        // One per frame, one held: the second frame's descriptor waits for the first frame
        // to be taken, so it is refused.
        frame_reader r(max_request_body, 1);
        auto fds = descriptors(1);
        ASSERT_EQ(r.feed(create, fds), create.size());
        fds = descriptors(1);
        r.feed(create, fds);
        EXPECT_EQ(r.problem(), frame_problem::too_many_fds);
        auto f = r.next();
        ASSERT_TRUE(f);
        EXPECT_EQ(f->fds.size(), 1u);
        EXPECT_FALSE(r.next());
    }
    {
        frame_reader r(max_request_body);
        r.limit_descriptors(1, 2); // one per frame, two held
        for (int i = 0; i < 2; ++i) {
            auto fds = descriptors(1);
            ASSERT_EQ(r.feed(create, fds), create.size());
        }
        EXPECT_EQ(r.problem(), frame_problem::none);
        EXPECT_EQ(r.descriptors(), 2u);
        EXPECT_EQ(r.next()->fds.size(), 1u);
        EXPECT_EQ(r.next()->fds.size(), 1u);
    }
}

TEST(FrameReader, ABlockingReaderTakesExactlyOneFrameFromASocket) {
    // On a client's connection the broker's reply is followed by the server's data: reading
    // only what needed() asks for leaves that data in the socket.
    os::fd a, b;
    ASSERT_FALSE(os::make_socketpair(a, b));
    auto reply = encode(opened_reply{.server_pid = 4242, .generation = 3});
    auto page = some_descriptor();
    int page_fd = page.get();
    ASSERT_FALSE(os::send_with_fds(a.get(), std::span(reply).first(3), std::span(&page_fd, 1)));
    auto rest = cat({bytes(reply.begin() + 3, reply.end()), bytes(5, std::byte{'d'})});
    ASSERT_FALSE(os::send_with_fds(a.get(), rest, {}));

    frame_reader r(max_reply_body, 1);
    std::vector<os::fd> fds;
    while (!r.has_frame() && r.problem() == frame_problem::none) {
        auto got = os::recv_with_fds(b.get(), r.space(r.needed()), fds, 1, os::io_flags::none);
        ASSERT_TRUE(got) << got.error.message();
        ASSERT_GT(got.value, 0u);
        r.received(got.value, fds);
    }
    auto f = r.next();
    ASSERT_TRUE(f);
    EXPECT_EQ(f->type, message_type::opened);
    EXPECT_EQ(f->fds.size(), 1u);
    opened_reply o;
    ASSERT_TRUE(decode(f->body, o));
    EXPECT_EQ(o.server_pid, 4242);
    char data[8];
    auto left = os::recv_some(b.get(), data, sizeof(data), os::io_flags::dont_wait);
    ASSERT_TRUE(left);
    EXPECT_EQ(std::string(data, left.value), "ddddd");
}
