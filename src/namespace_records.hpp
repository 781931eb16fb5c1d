// namespace_records.hpp - the broker's pipe records (src/protocol) as the public types of
// npipe/namespace.hpp. The one place the library converts them (the broker's status needs no
// conversion: the public broker_status is the message).
#pragma once

#include "protocol/messages.hpp"

#include <npipe/namespace.hpp>

namespace npipe::detail {

pipe_status to_pipe_status(const protocol::pipe_record& r);

} // namespace npipe::detail
