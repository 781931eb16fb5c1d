// bench/connection_floors.hpp - what a connection costs at the least under two designs, measured
// with bare sockets doing nothing else: no identity, no access check, no events, no page.
//
//  - broker hand-off (npipe's design): the client connects to a third process and asks; that
//    process answers it and passes the very connection to the server over the server's link;
//    the server says on its link when it listens again. An open that comes while the instance is
//    busy is held until then (npipe answers ERROR_PIPE_BUSY and the client waits: more trips).
//  - direct: the client connects to the server's own listening socket and waits for one byte,
//    the server's answer once it has read the client's kernel credentials (an access check's
//    input), as CreateFile must return only after the check.
//
// Each is one open + 64-byte round trip + close, the loop of the "one instance reused" case, and
// is reported against the same unix-socket baseline: the ratio is the best that design can
// reach on this machine, and npipe's own row shows how close it gets.
//
// The third floor is CreateNamedPipe + CloseHandle's under the broker design: an instance is
// registered with a third process, which must answer before CreateNamedPipe returns (the name
// may be refused, the limit reached) and learns of the close - a connect, a one-byte request, a
// one-byte answer and a close, against the same process's connect + accept + close.
#pragma once

#include "options.hpp"
#include "workspace.hpp"

#include <string>

namespace bench {

double connections_floor_broker(const workspace& w, const options& o);
double connections_floor_direct(const workspace& w, const options& o);
double instance_floor_registry(const workspace& w, const options& o);

/// The floors' peers (floor-broker PATH, floor-server PATH, floor-direct PATH, floor-registry
/// PATH); -1: not one.
int run_floor_peer(const std::string& role, int argc, char** argv);

} // namespace bench
