// bridge.hpp - the terminal joined to a pipe end: stdin to the pipe, the pipe to stdout
// (`npipe connect`, and `npipe serve` without --echo or --exec).
#pragma once

#include "io.hpp"

#include <npipe/named_pipe.hpp>

#include <chrono>
#include <optional>

namespace npipe::cli {

/// How the terminal (stdin/stdout) is joined to a pipe end.
struct bridge_options {
    bool can_read = true;        ///< this end reads the pipe (to stdout)
    bool can_write = true;       ///< this end writes the pipe (from stdin)
    bool message_pipe = false;   ///< each stdin read is a message; an empty message ends the data
    bool whole_messages = false; ///< message read mode
    const event* stop = nullptr; ///< ends the bridge early (signals)
    std::optional<std::chrono::milliseconds> quit_after; ///< after stdin ends, wait at most this
};

/// stdin -> pipe and pipe -> stdout until both directions are finished: the writing side at
/// stdin's end (an empty message on message pipes), the reading side when the peer closes
/// or (message pipes) sends an empty message. A peer that closes ends both. Returns the exit
/// status.
int bridge_stdio(pipe_end_base& p, const bridge_options& o);

} // namespace npipe::cli
