// bench/connection_scaling.hpp - how the connection rate scales with clients: 1, 2, 4 and 8
// client threads, each looping open + one 64-byte round trip + close, against a server with 8
// instances (a thread each, reusing its instance: ConnectNamedPipe, the round trip, the client's
// close, DisconnectNamedPipe); beside the same shape over AF_UNIX (8 threads accepting on one
// listening socket), measured in the same run.
#pragma once

#include <string>

namespace bench {

constexpr unsigned scaling_instances = 8;

/// Connections per second with `clients` client threads against peer "scale-win32 NAME";
/// `connections` is how many were made (the broker's CPU per connection is the caller's).
double connections_scaling_npipe(const std::string& name, unsigned clients, double seconds, long& connections);
/// The AF_UNIX counterpart, both sides in this process; `dir` holds the socket.
double connections_scaling_unix(const std::string& dir, unsigned clients, double seconds);

/// Peer role "scale-win32 NAME"; -1 when `role` is another.
int run_scaling_peer(const std::string& role, int argc, char** argv);

} // namespace bench
