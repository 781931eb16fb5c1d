// bench/cases.hpp - the driver's side of npipe-bench's cases, by section; each returns one run's
// value (the unit its table row says) and throws when the run fails. The cases' other ends are
// peers (peers.cpp) or live in their own files (win32_connections, connection_scaling,
// async_echo, echo_servers/echo_clients).
#pragma once

#include "options.hpp"
#include "report.hpp"
#include "workspace.hpp"

#include <cstddef>
#include <string>

namespace bench {

// ---- cases_data.cpp: 64-byte round trips (microseconds) and one-way throughput (MiB/s) ---------

double round_trip_npipe(const workspace& w, const options& o, bool message);
/// The same round trip through the Win32 C API (CreateFile, WriteFile, ReadFile): what the C
/// layer (handle lookup, last error, the handle's signaled state) costs over the C++ API.
double round_trip_win32(const options& o);
/// `framed`: the framing floor (rt-sp-framed), each message a 4-byte length and its payload in
/// one write, read as the length and then exactly the payload.
double round_trip_socketpair(const options& o, bool framed);

/// `chunk`-byte writes from a peer; adds every byte read to `total` (the broker CPU figure).
double throughput_npipe(const workspace& w, const options& o, bool message, std::size_t chunk, double& total);
double throughput_socketpair(const options& o, std::size_t chunk);

// ---- cases_connections.cpp: connections per second --------------------------------------------

/// Open + 64-byte round trip + close against one instance the peer reuses; counts into `counts`.
double connections_npipe(const workspace& w, const options& o, connection_counts& counts);
double connections_socket(const workspace& w, const options& o);
/// connections_scaling_npipe with `clients` threads; adds the broker's CPU per connection (us)
/// of the run to `broker_us`.
double scaling_npipe(const workspace& w, const options& o, unsigned clients, series& broker_us);

// ---- cases_servers.cpp: 64 clients against Win32 echo servers ---------------------------------

/// One run against server peer `kind` (srv-threads, srv-overlapped, srv-iocp): the mean round
/// trip (us) when `latency`, else MiB/s; raises `threads` to the server's thread count.
double echo_run(const options& o, const std::string& kind, std::size_t message, bool latency, long& threads);
/// One run against a bare-socket floor server (server_floors.hpp): `epoll_threads` 0 is a thread
/// per client, else epoll on that many threads (1 or 2); the result as echo_run's.
double echo_floor_run(const workspace& w, const options& o, int epoll_threads, std::size_t message, bool latency);

// ---- cases_smb.cpp: through a private smbd on loopback, beside TCP loopback --------------------

class smb_fixture;

/// Credentials for \\127.0.0.1\IPC$ (WNetAddConnection2A) as the fixture's user, and
/// NPIPE_SMB_PORT set to its smbd's port; smb_log_out forgets them. Throws when refused.
void smb_log_in(const smb_fixture& f);
void smb_log_out();
/// 64-byte TransactNamedPipe calls on the fixture's message pipe: the median call (us).
double smb_round_trip_npipe(smb_fixture& f, const options& o);
/// `chunk` bytes written to the byte pipe and read back, repeatedly: MiB/s of payload.
double smb_echo_npipe(smb_fixture& f, const options& o, std::size_t chunk);
/// The same two by impacket, timed in the fixture's driver process.
double smb_round_trip_impacket(smb_fixture& f, const options& o);
double smb_echo_impacket(smb_fixture& f, const options& o, std::size_t chunk);
/// The baseline: the same exchanges over a TCP connection on 127.0.0.1 to an echo peer.
double tcp_round_trip(const options& o);
double tcp_echo_rate(const options& o, std::size_t chunk);

} // namespace bench
