// os/tcp.hpp - TCP client connections (the SMB client's transport).
#pragma once

#include "os/fd.hpp"

#include <cstdint>
#include <string>

namespace npipe::os {

/// A TCP connection to `host` (a name or an address) and `port`, non-blocking and close-on-exec,
/// TCP_NODELAY set, made within `timeout_ms`. Each address the name resolves to is tried in
/// turn. Errors: EHOSTUNREACH when the name does not resolve, ETIMEDOUT, or connect(2)'s own
/// (ECONNREFUSED, ...).
sys_result<fd> tcp_connect(const std::string& host, std::uint16_t port, int timeout_ms) noexcept;

} // namespace npipe::os
