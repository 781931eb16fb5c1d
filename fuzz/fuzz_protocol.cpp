// fuzz/fuzz_protocol.cpp - the broker protocol: frame headers, the frame reader and every
// message body.
//
// The input is read three ways:
//  1. as a stream of frames, walked with an oracle written from the header layout (magic,
//     version, type, length, the limit of each direction): the frames it holds and where and
//     why the stream stops;
//  2. through protocol::frame_reader, fed in two pieces cut at a point the input chooses (and,
//     for short inputs, a byte at a time), with one descriptor arriving with the second piece,
//     under the request limit, the reply limit and a small limit the input chooses: it must
//     hand out exactly the oracle's frames (the descriptor with the frame its byte belongs
//     to), stop with the oracle's problem, never hold more than one frame's limit and say
//     exactly what the frame under way lacks; each frame's body goes to the decoder of its type;
//  3. as one body, given to every decoder.
// Whatever decodes must re-encode canonically (the same bytes: in 2 the whole frame, header
// included), the re-encoded body must decode to an equal message, and every truncation of it
// and the body with one byte more must be refused.
#include "fuzz_check.hpp"

#include "os/fd.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/messages.hpp"

#include <fcntl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

using namespace npipe::protocol;

namespace {

using bytes = std::span<const std::byte>;

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
    FUZZ_CHECK(m == again);

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

// ---- the stream oracle -----------------------------------------------------------------------
struct stream_walk {
    std::vector<bytes> frames;                   // the complete frames, in order
    frame_problem problem = frame_problem::none; // why the walk stopped, if not at the end
    std::size_t tail = 0;                        // bytes of an unfinished frame at the end
    std::size_t missing = header_size;           // what that frame lacks
};

stream_walk walk(bytes input, std::size_t max_body) {
    stream_walk w;
    std::size_t at = 0;
    for (; input.size() - at >= header_size; at += w.frames.back().size()) {
        frame_header h;
        auto problem = check_header(input.subspan(at).first<header_size>(), max_body, h);
        if (problem != header_problem::none) {
            w.problem = to_frame_problem(problem);
            return w;
        }
        if (input.size() - at - header_size < h.length) break; // unfinished: the receiver waits
        w.frames.push_back(input.subspan(at, header_size + h.length));
    }
    w.tail = input.size() - at;
    frame_header h;
    if (w.tail < header_size) w.missing = header_size - w.tail;
    else if (check_header(input.subspan(at).first<header_size>(), max_body, h) == header_problem::none)
        w.missing = header_size + h.length - w.tail;
    return w;
}

// ---- the frame reader ------------------------------------------------------------------------
npipe::os::fd a_descriptor() {
    static npipe::os::fd null = std::move(npipe::os::open_path("/dev/null", O_RDONLY, 0).value);
    auto d = npipe::os::dup_cloexec(null.get());
    FUZZ_CHECK(d);
    return std::move(d.value);
}

struct reader_run {
    const stream_walk& expected;
    bytes input;
    frame_reader reader;
    std::size_t fd_at;       // the input offset the descriptor arrives with (input.size(): none)
    bool decode_bodies;
    std::size_t taken = 0;   // frames handed out so far

    void check_state() const {
        FUZZ_CHECK(reader.buffered() <= reader.limit());
        FUZZ_CHECK((reader.needed() == 0) == (reader.has_frame() || reader.problem() != frame_problem::none));
        FUZZ_CHECK(reader.descriptors() <= 1);
    }

    void take_frames() {
        while (auto f = reader.next()) {
            FUZZ_CHECK(taken < expected.frames.size());
            bytes want = expected.frames[taken++];
            FUZZ_CHECK(static_cast<std::uint8_t>(f->type) == static_cast<std::uint8_t>(want[3]));
            bytes body = want.subspan(header_size);
            FUZZ_CHECK(std::equal(f->body.begin(), f->body.end(), body.begin(), body.end()));
            auto offset = static_cast<std::size_t>(want.data() - input.data());
            bool has_fd = offset <= fd_at && fd_at < offset + want.size();
            FUZZ_CHECK(f->fds.size() == (has_fd ? 1u : 0u));
            if (decode_bodies) check_frame(f->type, want);
        }
        check_state();
    }

    /// Gives `piece` in steps of at most `step` bytes, taking frames only when the reader is
    /// full (so descriptors also arrive while complete frames wait). False once the reader has
    /// stopped at a problem.
    bool give(bytes piece, std::size_t step, std::vector<npipe::os::fd>& fds) {
        while (!piece.empty()) {
            std::size_t n = reader.feed(piece.first(std::min(step, piece.size())), fds);
            piece = piece.subspan(n);
            check_state();
            if (reader.problem() != frame_problem::none) return false;
            if (n > 0) continue;
            FUZZ_CHECK(reader.has_frame()); // only full while a complete frame waits
            take_frames();
        }
        return true;
    }

    void finish() {
        take_frames();
        FUZZ_CHECK(taken == expected.frames.size());
        FUZZ_CHECK(reader.problem() == expected.problem);
        if (expected.problem != frame_problem::none) return;
        FUZZ_CHECK(reader.buffered() == expected.tail);
        FUZZ_CHECK(reader.needed() == expected.missing);
        bool fd_in_tail = fd_at < input.size() && fd_at >= input.size() - expected.tail;
        FUZZ_CHECK(reader.descriptors() == (fd_in_tail ? 1u : 0u));
    }
};

/// The input through a frame_reader: [0, cut), then the rest with a descriptor, each in steps
/// of at most `step` bytes.
void read_frames(bytes input, std::size_t max_body, std::size_t cut, std::size_t step, bool decode_bodies) {
    auto expected = walk(input, max_body);
    bool with_fd = cut < input.size();
    reader_run run{expected, input, frame_reader(max_body, 1), with_fd ? cut : input.size(), decode_bodies, 0};
    std::vector<npipe::os::fd> none, fds;
    if (with_fd) fds.push_back(a_descriptor());
    if (run.give(input.first(cut), step, none)) run.give(input.subspan(cut), step, fds);
    run.finish();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    bytes input(reinterpret_cast<const std::byte*>(data), size);

    // 1. and 2. A connection's byte stream: the oracle's walk in each direction (a frame small
    // enough for a request is one for a reply too), then the frame reader.
    auto as_request = walk(input, max_request_body), as_reply = walk(input, max_reply_body);
    FUZZ_CHECK(as_request.frames.size() <= as_reply.frames.size());
    for (std::size_t i = 0; i < as_request.frames.size(); ++i)
        FUZZ_CHECK(as_request.frames[i].data() == as_reply.frames[i].data());
    // The cut and a small limit come from the input's bytes, so the fuzzer chooses them.
    std::size_t choice = size < 2 ? 0 : std::size_t{data[size - 1]} << 8 | std::size_t{data[size - 2]};
    std::size_t cut = choice % (size + 1);
    std::size_t small_limit = size == 0 ? 0 : data[size / 2];
    read_frames(input, max_reply_body, cut, size, true);
    read_frames(input, max_request_body, cut, size, false);
    read_frames(input, small_limit, cut, size, false);
    if (size <= 256) read_frames(input, max_reply_body, size, 1, false); // a byte at a time

    // 3. The input as the body of every message type.
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
