// The data plane's operations as steps (src/message_stream.hpp), driven by hand on a socket pair:
// resumed across many would-block answers, cancelled halfway, with the framing intact after.
#include "message_stream.hpp"
#include "os/socket.hpp"

#include <npipe/error.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>

#include <numeric>
#include <string>

using namespace npipe;
using namespace npipe::detail;

namespace {

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed) & 0xff);
    return v;
}

std::vector<std::byte> text(std::string_view s) {
    auto p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

/// Two connected ends of one pipe, each with its stream state.
struct pipe_pair {
    os::fd a_fd, b_fd;
    message_stream a, b;
    explicit pipe_pair(pipe_type type) {
        EXPECT_FALSE(os::make_socketpair(a_fd, b_fd));
        a.reset(a_fd.get(), type);
        b.reset(b_fd.get(), type);
    }
};

/// Runs the writer and the reader by turns on this thread until the reader has completed (and
/// the writer too, unless the reader took only part of what it writes), counting the times each
/// had to wait. Neither ever blocks: that is the point.
template <class W, class R>
std::pair<int, int> run_both(W& writer, R& reader) {
    int writer_waits = 0, reader_waits = 0;
    for (int rounds = 0; rounds < 1000000 && !reader.completed(); ++rounds) {
        if (!writer.completed()) {
            auto r = writer.step();
            if (!r.done()) {
                EXPECT_EQ(r.what, wait_for::writable);
                ++writer_waits;
            }
        }
        if (!reader.completed()) {
            auto r = reader.step();
            if (!r.done()) {
                EXPECT_EQ(r.what, wait_for::readable);
                ++reader_waits;
            }
        }
    }
    EXPECT_TRUE(reader.completed());
    return {writer_waits, reader_waits};
}

constexpr std::size_t big = 4 * 1024 * 1024; // far beyond a Unix socket's buffer

TEST(PipeOps, AMessageLargerThanTheSocketBufferIsWrittenAndReadInManySteps) {
    pipe_pair p(pipe_type::message);
    auto data = pattern(big, 7);
    std::vector<std::byte> in(big);
    write_op w(p.a, data, false);
    read_op r(p.b, in, read_style::message, true);
    auto [writer_waits, reader_waits] = run_both(w, r);
    EXPECT_TRUE(w.completed());
    EXPECT_GT(writer_waits, 4) << "the writer was resumed after the socket filled up";
    EXPECT_GT(reader_waits, 4) << "the reader was resumed with part of the message taken";
    EXPECT_FALSE(w.outcome().ec);
    EXPECT_EQ(w.outcome().bytes, big);
    EXPECT_FALSE(r.outcome().ec);
    EXPECT_EQ(r.outcome().bytes, big);
    EXPECT_FALSE(r.more_data());
    EXPECT_TRUE(in == data);
    EXPECT_TRUE(p.b.cursor.idle());
}

TEST(PipeOps, ASmallBufferGetsMoreDataAndTheNextReadTheRest) {
    pipe_pair p(pipe_type::message);
    auto data = pattern(big, 3);
    write_op w(p.a, data, false);
    std::vector<std::byte> first(big / 3);
    read_op r1(p.b, first, read_style::message, true);
    run_both(w, r1);
    EXPECT_EQ(r1.outcome().ec, win32_error::more_data);
    EXPECT_EQ(r1.outcome().bytes, first.size());
    std::vector<std::byte> rest(big);
    read_op r2(p.b, rest, read_style::message, true);
    run_both(w, r2);
    EXPECT_TRUE(w.completed());
    EXPECT_FALSE(r2.outcome().ec);
    EXPECT_EQ(r2.outcome().bytes, big - first.size());
    EXPECT_TRUE(std::equal(first.begin(), first.end(), data.begin()));
    EXPECT_TRUE(std::equal(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(r2.outcome().bytes),
                           data.begin() + static_cast<std::ptrdiff_t>(first.size())));
}

TEST(PipeOps, ACancelledReadGivesItsBytesBackAndTheMessageStaysWhole) {
    pipe_pair p(pipe_type::message);
    auto m1 = pattern(big, 1);
    auto m2 = text("second");
    write_op w1(p.a, m1, false);
    std::vector<std::byte> in(big);
    read_op pending(p.b, in, read_style::message, true);
    // Let the read take part of the message, then cancel it while it waits for more.
    for (int round = 0; round < 3; ++round) {
        w1.step();
        ASSERT_FALSE(pending.step().done());
    }
    pending.cancel();
    EXPECT_TRUE(pending.completed());
    EXPECT_EQ(pending.outcome().ec, win32_error::operation_aborted);
    EXPECT_EQ(pending.outcome().bytes, 0u);
    EXPECT_FALSE(p.b.cursor.carried.empty()) << "part of the message had been taken";
    pending.cancel(); // a second cancel changes nothing
    EXPECT_EQ(pending.outcome().ec, win32_error::operation_aborted);

    // PeekNamedPipe counts the given-back bytes as the head message's.
    std::byte head[8];
    std::error_code ec;
    bool ended = false;
    auto peeked = peek_stream(p.b, head, ec, ended);
    EXPECT_FALSE(ec);
    EXPECT_EQ(peeked.bytes_read, sizeof head);
    EXPECT_TRUE(std::equal(head, head + sizeof head, m1.begin()));
    EXPECT_EQ(peeked.left_this_message, big - sizeof head);

    // The next read gets the whole message, then the next one.
    std::vector<std::byte> again(big);
    read_op r1(p.b, again, read_style::message, true);
    run_both(w1, r1);
    EXPECT_FALSE(r1.outcome().ec);
    EXPECT_EQ(r1.outcome().bytes, big);
    EXPECT_TRUE(again == m1);
    write_op w2(p.a, m2, false);
    run_blocking(w2);
    std::vector<std::byte> small(64);
    read_op r2(p.b, small, read_style::message, true);
    run_blocking(r2);
    EXPECT_FALSE(r2.outcome().ec);
    ASSERT_EQ(r2.outcome().bytes, m2.size());
    EXPECT_TRUE(std::equal(m2.begin(), m2.end(), small.begin()));
}

TEST(PipeOps, ACancelledReadThatTookNothingLeavesTheConnectionAsItWas) {
    pipe_pair p(pipe_type::message);
    std::byte buf[16];
    read_op pending(p.b, buf, read_style::message, true);
    auto r = pending.step();
    ASSERT_EQ(r.what, wait_for::readable);
    EXPECT_EQ(r.fd, p.b.fd);
    pending.cancel();
    EXPECT_EQ(pending.outcome().ec, win32_error::operation_aborted);
    EXPECT_TRUE(p.b.cursor.idle());
    auto m = text("hello");
    write_op w(p.a, m, false);
    run_blocking(w);
    read_op next(p.b, buf, read_style::message, true);
    run_blocking(next);
    EXPECT_FALSE(next.outcome().ec);
    EXPECT_EQ(next.outcome().bytes, m.size());
}

TEST(PipeOps, ACancelledWriteThatStartedStillDeliversItsMessageWhole) {
    pipe_pair p(pipe_type::message);
    auto m1 = pattern(big, 9);
    auto m2 = text("after");
    write_op w1(p.a, m1, false);
    auto r = w1.step();
    ASSERT_EQ(r.what, wait_for::writable) << "the socket filled up with part of the message";
    w1.cancel();
    EXPECT_EQ(w1.outcome().ec, win32_error::operation_aborted);
    EXPECT_FALSE(p.a.unsent.empty());
    // The next write sends the rest first, then its own message.
    write_op w2(p.a, m2, false);
    std::vector<std::byte> in(big);
    read_op r1(p.b, in, read_style::message, true);
    run_both(w2, r1);
    EXPECT_FALSE(r1.outcome().ec);
    EXPECT_TRUE(in == m1);
    std::byte small[16];
    read_op r2(p.b, small, read_style::message, true);
    run_both(w2, r2);
    EXPECT_TRUE(w2.completed());
    EXPECT_FALSE(w2.outcome().ec);
    ASSERT_EQ(r2.outcome().bytes, m2.size());
    EXPECT_TRUE(std::equal(m2.begin(), m2.end(), small));
}

TEST(PipeOps, ACancelledWriteThatSentNothingWritesNothing) {
    pipe_pair p(pipe_type::message);
    auto m = text("never");
    write_op w(p.a, m, false);
    w.cancel();
    EXPECT_EQ(w.outcome().ec, win32_error::operation_aborted);
    EXPECT_TRUE(p.a.unsent.empty());
    auto avail = os::readable_bytes(p.b.fd);
    EXPECT_EQ(avail.value, 0);
}

TEST(PipeOps, AHeaderArrivingInPiecesIsKeptBetweenSteps) {
    pipe_pair p(pipe_type::message);
    const std::byte header[4] = {std::byte{3}, std::byte{0}, std::byte{0}, std::byte{0}};
    std::byte buf[8];
    read_op r(p.b, buf, read_style::message, true);
    ASSERT_FALSE(os::send_some(p.a.fd, header, 2, os::io_flags::none).error);
    EXPECT_EQ(r.step().what, wait_for::readable);
    EXPECT_EQ(p.b.cursor.header_got, 2u);
    ASSERT_FALSE(os::send_some(p.a.fd, header + 2, 2, os::io_flags::none).error);
    EXPECT_EQ(r.step().what, wait_for::readable) << "header whole, payload not yet there";
    EXPECT_TRUE(p.b.cursor.in_message);
    ASSERT_FALSE(os::send_some(p.a.fd, "abc", 3, os::io_flags::none).error);
    EXPECT_TRUE(r.step().done());
    EXPECT_FALSE(r.outcome().ec);
    EXPECT_EQ(r.outcome().bytes, 3u);
}

TEST(PipeOps, ZeroLengthMessagesAndZeroByteReads) {
    pipe_pair p(pipe_type::message);
    write_op empty(p.a, {}, false);
    run_blocking(empty);
    auto m = text("xyz");
    write_op w(p.a, m, false);
    run_blocking(w);
    std::byte buf[8];
    read_op r0(p.b, buf, read_style::message, true);
    run_blocking(r0);
    EXPECT_FALSE(r0.outcome().ec);
    EXPECT_EQ(r0.outcome().bytes, 0u) << "the empty message is a read of its own";
    read_op probe(p.b, std::span<std::byte>(), read_style::message, true);
    run_blocking(probe);
    EXPECT_EQ(probe.outcome().ec, win32_error::more_data) << "a zero-byte read sees the message waiting";
    read_op r1(p.b, buf, read_style::message, true);
    run_blocking(r1);
    EXPECT_EQ(r1.outcome().bytes, 3u);
}

TEST(PipeOps, ByteReadModeOnAMessagePipeCrossesBoundaries) {
    pipe_pair p(pipe_type::message);
    for (auto s : {"ab", "cd", "ef"}) {
        auto m = text(s);
        write_op w(p.a, m, false);
        run_blocking(w);
    }
    std::byte buf[5];
    read_op r(p.b, buf, read_style::messages_as_bytes, true);
    run_blocking(r);
    EXPECT_FALSE(r.outcome().ec);
    ASSERT_EQ(r.outcome().bytes, 5u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf), 5), "abcde");
    EXPECT_TRUE(p.b.cursor.in_message) << "one byte of the third message is left";
}

TEST(PipeOps, NowaitReadsSayNoDataAndKeepAPartialMessage) {
    pipe_pair p(pipe_type::message);
    std::byte buf[8];
    read_op empty(p.b, buf, read_style::message, false);
    EXPECT_TRUE(empty.step().done());
    EXPECT_EQ(empty.outcome().ec, win32_error::no_data);

    auto m = pattern(big, 5);
    write_op w(p.a, m, false);
    w.step(); // part of the message is in the socket
    std::vector<std::byte> in(big);
    read_op part(p.b, in, read_style::message, false);
    run_blocking(part);
    EXPECT_EQ(part.outcome().ec, win32_error::more_data);
    std::size_t got = part.outcome().bytes;
    ASSERT_GT(got, 0u);
    read_op nothing(p.b, std::span<std::byte>(in).subspan(got), read_style::message, false);
    run_blocking(nothing);
    EXPECT_EQ(nothing.outcome().ec, win32_error::no_data);
    EXPECT_TRUE(p.b.cursor.in_message) << "no data now does not end the message";
    read_op rest(p.b, std::span<std::byte>(in).subspan(got), read_style::message, true);
    run_both(w, rest);
    EXPECT_FALSE(rest.outcome().ec);
    EXPECT_EQ(got + rest.outcome().bytes, big);
    EXPECT_TRUE(in == m);
}

TEST(PipeOps, TheEndOfTheConnectionEndsAWaitingRead) {
    pipe_pair p(pipe_type::byte);
    std::byte buf[8];
    read_op r(p.b, buf, read_style::bytes, true);
    EXPECT_EQ(r.step().what, wait_for::readable);
    p.a_fd.reset();
    EXPECT_TRUE(r.step().done());
    EXPECT_TRUE(r.outcome().peer_ended);
    EXPECT_EQ(r.outcome().ec, win32_error::broken_pipe);
}

TEST(PipeOps, AWriteToAClosedPeerEndsWithItsEnd) {
    pipe_pair p(pipe_type::byte);
    p.b_fd.reset();
    auto m = text("x");
    write_op w(p.a, m, false);
    EXPECT_TRUE(w.step().done());
    EXPECT_TRUE(w.outcome().peer_ended);
    EXPECT_EQ(w.outcome().ec, win32_error::no_data);
}

TEST(PipeOps, FlushCompletesOnceThePeerHasReadEverything) {
    pipe_pair p(pipe_type::byte);
    auto m = text("unread");
    write_op w(p.a, m, false);
    run_blocking(w);
    flush_op f(p.a);
    auto r = f.step();
    // It waits for a descriptor that the peer's read makes ready, not for a time.
    ASSERT_EQ(r.what, wait_for::readable);
    EXPECT_NE(r.fd, p.a.fd);
    EXPECT_LT(r.retry_after.count(), 0) << "no polling";
    EXPECT_EQ(os::poll_one(r.fd, POLLIN, 0).value, 0) << "nothing read yet";
    std::byte buf[16];
    read_op rd(p.b, buf, read_style::bytes, true);
    run_blocking(rd);
    EXPECT_NE(os::poll_one(r.fd, POLLIN, 1000).value & POLLIN, 0) << "the peer's read did not wake the flush";
    EXPECT_TRUE(f.step().done());
    EXPECT_FALSE(f.outcome().ec);
}

TEST(PipeOps, NowaitWritesAllOrNothing) {
    pipe_pair p(pipe_type::message);
    auto m = pattern(big, 2);
    write_op w(p.a, m, true);
    EXPECT_TRUE(w.step().done());
    EXPECT_FALSE(w.outcome().ec);
    EXPECT_EQ(w.outcome().bytes, 0u) << "a message that does not fit is not written at all";
    EXPECT_EQ(os::readable_bytes(p.b.fd).value, 0);
}

TEST(PipeOps, ATransactionWritesThenWaitsForTheWholeReply) {
    pipe_pair p(pipe_type::message);
    auto request = text("question");
    auto answer = pattern(big, 4);
    std::vector<std::byte> reply(big);
    transact_op t(p.a, request, reply);
    EXPECT_TRUE(t.writing());
    auto r = t.step();
    EXPECT_FALSE(t.writing()) << "a small request goes at once";
    EXPECT_FALSE(t.completed());
    r = t.step();
    EXPECT_EQ(r.what, wait_for::readable) << "the reply is waited for";
    std::byte in[32];
    read_op server_read(p.b, in, read_style::message, true);
    run_blocking(server_read);
    ASSERT_EQ(server_read.outcome().bytes, request.size());
    write_op server_write(p.b, answer, false);
    run_both(server_write, t);
    EXPECT_TRUE(t.completed());
    EXPECT_FALSE(t.outcome().ec);
    EXPECT_EQ(t.outcome().bytes, big);
    EXPECT_TRUE(reply == answer);
}

} // namespace

// ---- smbd's framing: a server's connection to an SMB client ----------------------------------

TEST(PipeOps, SambaFramingIsATwoByteLengthBothWays) {
    pipe_pair p(pipe_type::message);
    p.a.reset(p.a_fd.get(), pipe_type::message, framing::samba);
    auto m = text("abc");
    write_op w(p.a, m, false);
    run_blocking(w);
    std::byte wire[8];
    auto got = os::recv_some(p.b_fd.get(), wire, sizeof wire, os::io_flags::dont_wait);
    ASSERT_FALSE(got.error);
    EXPECT_EQ(text(std::string_view("\x03\x00" "abc", 5)), std::vector<std::byte>(wire, wire + got.value));
    // smbd's message "hi", then "xyz" in two parts: read as two messages, peeked as the first.
    ASSERT_FALSE(os::send_some(p.b_fd.get(), "\x02\x00hi\x03\x00xy", 8, os::io_flags::none).error);
    std::byte head[8];
    std::error_code ec;
    bool ended = false;
    auto peeked = peek_stream(p.a, head, ec, ended);
    EXPECT_EQ(peeked.bytes_read, 2u);
    EXPECT_EQ(peeked.total_available, 4u) << "payload only: \"hi\" and the 2 bytes of \"xyz\" there";
    std::byte buf[8];
    read_op r1(p.a, buf, read_style::message, true);
    run_blocking(r1);
    EXPECT_EQ(r1.outcome().bytes, 2u);
    EXPECT_EQ(text("hi"), std::vector<std::byte>(buf, buf + 2));
    ASSERT_FALSE(os::send_some(p.b_fd.get(), "z", 1, os::io_flags::none).error);
    read_op r2(p.a, buf, read_style::message, true);
    run_blocking(r2);
    EXPECT_EQ(r2.outcome().bytes, 3u);
    EXPECT_EQ(text("xyz"), std::vector<std::byte>(buf, buf + 3));
}

TEST(PipeOps, SambaFramingRefusesAMessageOver65535Bytes) {
    pipe_pair p(pipe_type::message);
    p.a.reset(p.a_fd.get(), pipe_type::message, framing::samba);
    auto data = pattern(0x10000, 3);
    write_op w(p.a, data, false);
    run_blocking(w);
    EXPECT_EQ(w.outcome().ec, win32_error::invalid_parameter) << "a 2-byte length cannot say it";
    EXPECT_EQ(w.outcome().bytes, 0u);
    // 65,535 bytes fit: the peer (smbd's side, read raw) gets ff ff and the payload.
    p.b.reset(p.b_fd.get(), pipe_type::byte);
    auto fits = pattern(0xFFFF, 4);
    write_op ok(p.a, fits, false);
    std::vector<std::byte> wire(0xFFFF + 2);
    std::size_t got = 0;
    for (int rounds = 0; rounds < 100000 && got < wire.size(); ++rounds) {
        if (!ok.completed()) ok.step();
        read_op more(p.b, std::span<std::byte>(wire).subspan(got), read_style::bytes, false);
        more.step();
        if (more.completed() && !more.outcome().ec) got += more.outcome().bytes;
    }
    ASSERT_EQ(got, wire.size());
    EXPECT_FALSE(ok.outcome().ec);
    EXPECT_EQ(wire[0], std::byte{0xFF});
    EXPECT_EQ(wire[1], std::byte{0xFF});
    EXPECT_TRUE(std::equal(fits.begin(), fits.end(), wire.begin() + 2));
}
