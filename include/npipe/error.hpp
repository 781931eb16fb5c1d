// npipe/error.hpp - errors as Windows reports them.
//
// Every failure npipe reports is a std::error_code in npipe::win32_category(), whose values are
// the Win32 error numbers (ERROR_PIPE_BUSY is 231 here as on Windows). Codes that have a portable
// meaning compare equal to the matching std::errc, so `ec == std::errc::broken_pipe` works.
//
// Thread safety: everything here is safe to use from any thread.
#pragma once

#include <npipe/export.hpp>

#include <string>
#include <cstdint>
#include <system_error>

namespace npipe {

/// Win32 error numbers that npipe reports. The numeric values are Windows' values.
enum class win32_error : int {
    success = 0,
    invalid_function = 1,
    file_not_found = 2,
    path_not_found = 3,
    too_many_open_files = 4,
    access_denied = 5,
    invalid_handle = 6,
    not_enough_memory = 8,
    bad_format = 11,
    invalid_access = 12,
    invalid_data = 13,
    outofmemory = 14,
    not_ready = 21,
    write_fault = 29,
    read_fault = 30,
    gen_failure = 31,
    sharing_violation = 32,
    handle_eof = 38,
    not_supported = 50,
    bad_netpath = 53,
    unexp_net_err = 59,
    netname_deleted = 64,
    bad_net_name = 67,
    file_exists = 80,
    invalid_parameter = 87,
    broken_pipe = 109,
    open_failed = 110,
    buffer_overflow = 111,
    disk_full = 112,
    call_not_implemented = 120,
    sem_timeout = 121,
    insufficient_buffer = 122,
    invalid_name = 123,
    bad_pathname = 161,
    busy = 170,
    already_exists = 183,
    filename_exced_range = 206,
    pipe_local = 229,
    bad_pipe = 230,
    pipe_busy = 231,
    no_data = 232,
    pipe_not_connected = 233,
    more_data = 234,
    wait_timeout = 258,
    operation_aborted = 995,
    io_incomplete = 996,
    io_pending = 997,
    noaccess = 998,
    pipe_connected = 535,
    pipe_listening = 536,
    cannot_impersonate = 1368,
    bad_impersonation_level = 1346,
    invalid_owner = 1307,
    privilege_not_held = 1314,
    not_enough_quota = 1816,
    none_mapped = 1332,
    logon_failure = 1326,
    password_expired = 1330,
    account_disabled = 1331,
    no_system_resources = 1450,
    mr_mid_not_found = 317,
    timeout = 1460,
    service_not_active = 1062,
    connection_refused = 1225,
    connection_aborted = 1236,
    not_found = 1168,
    internal_error = 1359,
    invalid_state = 5023,
};

/// The category of Win32 error numbers. name() is "win32"; message() gives the symbolic name
/// and a sentence, e.g. "ERROR_PIPE_BUSY (231): all pipe instances are busy".
NPIPE_API const std::error_category& win32_category() noexcept;

inline std::error_code make_error_code(win32_error e) noexcept {
    return {static_cast<int>(e), win32_category()};
}

/// The symbolic Windows name of a Win32 error number ("ERROR_PIPE_BUSY"), or "ERROR_<n>".
NPIPE_API std::string win32_error_name(int code);

/// What a Win32 error number means, as a lower-case sentence without a full stop ("all pipe
/// instances are busy"); empty for a number npipe does not know.
NPIPE_API std::string win32_error_description(int code);

/// Windows' own message text for a Win32 error number, as FormatMessage returns it without
/// the trailing CR LF ("All pipe instances are busy."); empty for a number npipe does not know.
NPIPE_API std::string win32_error_system_text(int code);

/// Win32 number for an errno value, as Windows would report the same failure.
/// The one table that turns kernel errors into Win32 errors.
NPIPE_API win32_error win32_error_from_errno(int errno_value) noexcept;

/// Win32 number for an NTSTATUS an SMB server answered (remote pipes), as Windows' redirector
/// reports it: STATUS_PIPE_BROKEN is ERROR_BROKEN_PIPE, STATUS_LOGON_FAILURE ERROR_LOGON_FAILURE,
/// STATUS_BUFFER_OVERFLOW ERROR_MORE_DATA (with the data), and so on; one table with the errno one.
NPIPE_API win32_error win32_error_from_ntstatus(std::uint32_t status) noexcept;

} // namespace npipe

template <>
struct std::is_error_code_enum<npipe::win32_error> : std::true_type {};
