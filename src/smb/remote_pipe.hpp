// smb/remote_pipe.hpp - CreateFile and WaitNamedPipe on \\HOST\pipe\NAME: the pipe NAME on the
// IPC$ share of HOST, over the process's shared connection to HOST (connection.hpp), and the
// credentials WNetAddConnection2 sets for a host.
#pragma once

#include "os/fd.hpp"
#include "smb/gss_auth.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

namespace npipe::smb {

struct remote_open_request {
    std::string host;
    std::string name;                      ///< the pipe's name, without "\pipe\"
    std::uint32_t desired_access = 0;      ///< CreateFile's dwDesiredAccess
    std::uint32_t impersonation_level = 1; ///< SQOS: 0 Anonymous ... 3 Delegation
};

/// The application's end of an opened remote pipe: a connected local socket carrying the pipe's
/// data framed as npipe frames a message pipe (the server's kind of pipe cannot be asked over
/// SMB, so every remote pipe is a message pipe here: see README, "Remote pipes from Linux").
struct remote_end {
    os::fd local;
    os::fd page; ///< the end's instance page, to map read-only (the bridge writes it)
};

/// Opens the pipe. Errors (Win32): ERROR_BAD_NETPATH (no such host, nothing listening),
/// ERROR_LOGON_FAILURE, ERROR_BAD_NET_NAME, ERROR_FILE_NOT_FOUND (no such pipe),
/// ERROR_PIPE_BUSY, ERROR_ACCESS_DENIED, and the rest of the NTSTATUS table.
std::optional<remote_end> open_remote_pipe(const remote_open_request& request, std::error_code& ec);

/// WaitNamedPipe. `timeout` as WaitNamedPipe's (negative: the pipe's default). A server that
/// cannot wait (smbd answers STATUS_FS_DRIVER_REQUIRED) makes this succeed at once: the open
/// that follows gives the real answer.
std::error_code wait_remote_pipe(const std::string& host, const std::string& name,
                                 std::optional<std::chrono::milliseconds> timeout);

/// WNetAddConnection2 / WNetCancelConnection2 for \\HOST\IPC$: the credentials later opens of
/// HOST's pipes use (until cancelled; an established connection keeps its session).
/// WNetAddConnection2 connects at once, as Windows does, so a wrong password is reported here;
/// the credentials are kept only when the connection is made.
std::error_code add_connection(const std::string& host, explicit_credentials credentials);
bool forget_credentials(const std::string& host);

/// The SMB port: NPIPE_SMB_PORT when set to a number, else 445.
std::uint16_t smb_port() noexcept;

} // namespace npipe::smb
