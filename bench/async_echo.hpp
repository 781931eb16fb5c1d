// bench/async_echo.hpp - the async C++ API's echo server (npipe/asio.hpp, one io_context
// thread) against the same server written with asio over a plain AF_UNIX stream socket.
//
// Both servers run on one thread in this process, with coroutines written alike; `clients`
// threads each do 64-byte round trips with blocking read/write on their descriptor - the same
// client code for both (a byte pipe carries raw bytes, so its client end is read and written as
// the socket it is): only the servers differ. The result is round trips per second, all clients
// together.
#pragma once

#include <npipe/types.hpp>

#include <string>

namespace bench {

double async_echo_npipe(const npipe::endpoint& ep, double seconds, int clients);
double async_echo_asio(const std::string& socket_path, double seconds, int clients);

} // namespace bench
