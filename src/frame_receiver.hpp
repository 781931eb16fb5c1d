// frame_receiver.hpp - one broker frame received in as many pieces as the socket gives.
#pragma once

#include "os/fd.hpp"
#include "protocol/frame_reader.hpp"
#include "protocol/messages.hpp"

#include <cstddef>
#include <system_error>
#include <vector>

namespace npipe::detail {

/// One frame as received (protocol/frame_reader.hpp).
using frame = protocol::frame;

/// Receives one frame without ever waiting and never reads a byte past its end: on a client's
/// connection the server's data follows the reply. A half-received frame is kept between
/// steps, so a server's link can be read from a readiness callback as well as by a blocking call.
class frame_receiver {
public:
    /// Takes what the socket has now. True: `out` holds a whole frame and the receiver starts
    /// afresh. False with `ec` clear: more must come (wait until `sock` is readable). False with
    /// `ec`: the connection is of no more use (ERROR_SERVICE_NOT_ACTIVE at its end,
    /// ERROR_INVALID_DATA for a header that is not the protocol's).
    bool step(int sock, std::size_t max_fds, frame& out, std::error_code& ec) noexcept;
    /// Nothing of a frame received yet.
    bool idle() const noexcept { return reader_.buffered() == 0; }
    /// Drops a half-received frame (a new connection).
    void reset() noexcept { reader_ = protocol::frame_reader(protocol::max_reply_body); }

private:
    protocol::frame_reader reader_{protocol::max_reply_body};
};

} // namespace npipe::detail
