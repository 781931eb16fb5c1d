// bench/win32_connections.hpp - what a connection costs a Windows-style server: the pattern of
// Microsoft's samples through the Win32 C API (a new instance per client), and the single
// operations it is made of, each beside its AF_UNIX counterpart.
#pragma once

#include <string>

#include <npipe/win32.h>

namespace bench {

/// CreateFile of `name`, waiting (WaitNamedPipe) while every instance is busy; throws on failure.
HANDLE open_when_free(const std::string& name);

/// Connections per second, C API: the client loops CreateFile (WaitNamedPipe while busy) + a
/// 64-byte round trip + CloseHandle against a server (peer "cr-win32") that creates the next
/// instance before serving the current one, then DisconnectNamedPipe + CloseHandle - after
/// FlushFileBuffers when `flush`, else after the client's close.
double connections_win32(const std::string& name, double seconds, bool flush);
/// CreateNamedPipe of another instance of an existing pipe + CloseHandle, per second.
double instance_create_close(const std::string& name, double seconds);
/// Its counterpart: AF_UNIX connect + accept + close of both, per second (`dir` holds the socket).
double unix_connect_close(const std::string& dir, double seconds);
/// CreateFile of a listening instance + CloseHandle, per second (a peer listens again at once).
double open_close_win32(const std::string& name, double seconds);

/// Peer roles: "cr-win32 NAME flush|noflush" and "listen-win32 NAME" (reconnects each client).
/// -1 when `role` is not one of them.
int run_win32_connection_peer(const std::string& role, int argc, char** argv);

} // namespace bench
