// smb/pipe_bridge.hpp - one remote pipe as the application sees it: the far end of a local
// socket pair, moved to and from the SMB server by the connection's I/O thread.
//
// Why a local socket (ARCHITECTURE: "remote pipes"): the library's client end (client_impl,
// pipe_channel, message_stream) already does every Win32 and C++ operation - blocking,
// non-blocking, overlapped, completion ports, the async API, PeekNamedPipe, message read mode
// with ERROR_MORE_DATA - over a connected socket with npipe's framing. Giving a remote pipe the
// same kind of socket makes all of that work on remote handles without a second implementation;
// the cost is one copy through the socket pair per direction.
//
// The bridge keeps one READ outstanding at the server while there is room on the local side
// (so data flows as soon as the server has it, and a transaction costs one WRITE and the READ
// already waiting), and sends what the application writes as WRITEs, one at a time, in order.
// Messages: a READ answered STATUS_BUFFER_OVERFLOW is the first part of a message; the parts
// are joined and the whole message framed for the local side (4-byte length, as message_stream
// reads it), so message boundaries and ERROR_MORE_DATA behave as for a local pipe.
// Ends: the application closing its handle closes the remote file (SMB2 CLOSE); the server's
// end of the pipe going (PIPE_BROKEN, a failed WRITE, the connection lost) shuts the local
// socket once what was read has been handed over, so reads see ERROR_BROKEN_PIPE and writes
// ERROR_NO_DATA, as for a local pipe whose server went away. STATUS_PIPE_DISCONNECTED (the
// server's DisconnectNamedPipe, as Windows says it) is first written on the end's instance
// page, which the bridge owns and the application maps read-only as a local client maps its
// server's, when the application has read everything: its reads then see
// ERROR_PIPE_NOT_CONNECTED, as Windows' redirector gives (see flush_local for why not before).
#pragma once

#include "os/fd.hpp"
#include "os/socket.hpp"
#include "protocol/smb2_messages.hpp"
#include "smb/smb_crypto.hpp"

#include <cstdint>

namespace npipe::smb {

namespace smb2 = protocol::smb2;
class connection;
struct response;

class pipe_bridge {
public:
    /// `local`: the bridge's end of the socket pair (made non-blocking here). `messages`:
    /// frame each message for the local side. `page`: the end's instance page (generation 1).
    pipe_bridge(connection& c, smb2::file_id id, os::fd local, bool messages, os::shared_page page);

    int descriptor() const noexcept { return local_.get(); }
    /// What to poll the local end for now.
    short events() const noexcept;
    /// The local end is ready (revents from poll).
    void on_ready(short revents);
    /// Starts the READ, WRITE or CLOSE that can start now.
    void pump();
    /// The connection failed: the local end is shut, nothing more will be sent.
    void abort() noexcept;
    /// Nothing more to do: the remote file is closed (or the connection failed).
    bool finished() const noexcept { return finished_; }

private:
    void read_done(const response* r);
    void write_done(const response* r);
    void flush_local();
    void take_local();
    bool next_write(byte_vector& out);
    /// The server's end is gone; `status`: the NTSTATUS that said so, if one did.
    void end_remote(std::uint32_t status = 0);

    connection& c_;
    smb2::file_id id_;
    os::fd local_;
    bool messages_;
    os::shared_page page_;

    bool reading_ = false, writing_ = false;
    bool local_closed_ = false;  ///< the application closed its end
    bool remote_ended_ = false;  ///< the server's end is gone
    bool disconnected_ = false;  ///< ... and said STATUS_PIPE_DISCONNECTED
    bool close_sent_ = false, close_done_ = false, finished_ = false;
    byte_vector partial_;        ///< the parts of a message read so far (STATUS_BUFFER_OVERFLOW)
    byte_vector to_local_;       ///< read from the server, not yet on the local socket
    std::size_t to_local_sent_ = 0;
    byte_vector from_local_;     ///< written by the application, not yet sent
};

} // namespace npipe::smb
