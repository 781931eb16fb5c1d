// broker_link.hpp - the library's side of the control plane: reach the broker (starting one
// when allowed), send a request, read a reply.
#pragma once

#include "os/fd.hpp"
#include "protocol/messages.hpp"

#include <npipe/types.hpp>

#include <string>
#include <system_error>
#include <vector>

namespace npipe::detail {

/// A connection to the broker for `where`. A user-scope broker is started when none answers
/// and autostart is allowed. ERROR_SERVICE_NOT_ACTIVE when there is none;
/// ERROR_ACCESS_DENIED when the runtime directory fails its safety checks.
os::fd connect_broker(const endpoint& where, bool allow_start, std::error_code& ec);

struct frame {
    protocol::message_type type{};
    std::vector<std::byte> body;
    std::vector<os::fd> fds;
};

/// Sends one frame (and descriptors).
std::error_code send_frame(int sock, const std::vector<std::byte>& bytes, std::span<const int> fds = {});

/// Reads exactly one frame - never a byte more, because on a client's connection the server's
/// data follows the reply. End of stream: ERROR_SERVICE_NOT_ACTIVE (the broker went away).
bool receive_frame(int sock, frame& out, std::size_t max_fds, std::error_code& ec);

/// Turns an `error` reply into its Win32 code; any other unexpected frame is ERROR_INVALID_DATA.
std::error_code reply_error(const frame& f);

/// The number of instances of `name` (for GetNamedPipeHandleState).
unsigned count_instances(const std::string& name, const endpoint& where, std::error_code& ec);

/// Path of the npiped to start: NPIPE_BROKER, else beside this library (../bin/npiped), else the
/// configured install directory.
std::string broker_program();

} // namespace npipe::detail
