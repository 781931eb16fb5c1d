// bench/server_floors.hpp - what the servers section's two designs reach at best on this machine:
// the same 64 client threads and messages, against echo servers made of bare AF_UNIX sockets
// doing nothing else. `floor-echo-threads` has a thread per client (blocking read, then write);
// `floor-echo-epoll` serves every client from one thread over epoll (read what is there, write
// it back); `floor-echo-epoll2` from two threads, each with its own epoll set and half the
// clients, the floor of the two-worker completion-port server. The ratio of the second to the first is the floor of "one thread against a thread per
// client" here - on 2 cores shared with 64 client threads the scheduler gives one server thread
// its share, not the machine - and npipe's overlapped rows are read against it.
#pragma once

#include "workspace.hpp"

#include <string>

namespace bench {

/// The socket path for one run of a server floor.
std::string server_floor_path(const workspace& w);

/// The floors' peers (floor-echo-threads PATH, floor-echo-epoll PATH, floor-echo-epoll2 PATH); -1:
/// not one of them.
int run_server_floor_peer(const std::string& role, int argc, char** argv);

} // namespace bench
