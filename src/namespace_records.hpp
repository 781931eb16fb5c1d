// namespace_records.hpp - the broker's records (src/protocol) as the public types of
// npipe/namespace.hpp. The one place the library converts them.
#pragma once

#include "protocol/messages.hpp"

#include <npipe/namespace.hpp>

namespace npipe::detail {

pipe_status to_pipe_status(const protocol::pipe_record& r);
broker_status to_broker_status(const protocol::broker_status_reply& r);

} // namespace npipe::detail
