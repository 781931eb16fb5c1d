#include <npipe/error.hpp>

#include <cerrno>
#include <string>

namespace npipe {
namespace {

struct error_text {
    int code;
    const char* name;
    const char* meaning;
    const char* windows_text; ///< what FormatMessage says on Windows (Microsoft's wording)
};

// Windows' symbolic names, and what each means for the person who sees it.
constexpr error_text error_texts[] = {
    {0, "ERROR_SUCCESS", "the operation completed successfully", "The operation completed successfully."},
    {1, "ERROR_INVALID_FUNCTION", "the operation is not valid for this handle", "Incorrect function."},
    {2, "ERROR_FILE_NOT_FOUND", "no pipe of that name exists", "The system cannot find the file specified."},
    {3, "ERROR_PATH_NOT_FOUND", "the path does not exist", "The system cannot find the path specified."},
    {4, "ERROR_TOO_MANY_OPEN_FILES", "out of file descriptors", "The system cannot open the file."},
    {5, "ERROR_ACCESS_DENIED", "access is denied", "Access is denied."},
    {6, "ERROR_INVALID_HANDLE", "the handle is invalid or closed", "The handle is invalid."},
    {8, "ERROR_NOT_ENOUGH_MEMORY", "not enough memory", "Not enough memory resources are available to process this command."},
    {11, "ERROR_BAD_FORMAT", "malformed data", "An attempt was made to load a program with an incorrect format."},
    {12, "ERROR_INVALID_ACCESS", "the access code is invalid", "The access code is invalid."},
    {13, "ERROR_INVALID_DATA", "the data is invalid", "The data is invalid."},
    {14, "ERROR_OUTOFMEMORY", "not enough memory", "Not enough memory resources are available to complete this operation."},
    {21, "ERROR_NOT_READY", "the device is not ready", "The device is not ready."},
    {29, "ERROR_WRITE_FAULT", "a write failed", "The system cannot write to the specified device."},
    {30, "ERROR_READ_FAULT", "a read failed", "The system cannot read from the specified device."},
    {31, "ERROR_GEN_FAILURE", "a device attached to the system is not functioning", "A device attached to the system is not functioning."},
    {32, "ERROR_SHARING_VIOLATION", "the file is in use", "The process cannot access the file because it is being used by another process."},
    {38, "ERROR_HANDLE_EOF", "end of file", "Reached the end of the file."},
    {50, "ERROR_NOT_SUPPORTED", "the request is not supported", "The request is not supported."},
    {53, "ERROR_BAD_NETPATH", "the network path was not found", "The network path was not found."},
    {59, "ERROR_UNEXP_NET_ERR", "an unexpected network error occurred", "An unexpected network error occurred."},
    {64, "ERROR_NETNAME_DELETED", "the network connection to the server was lost", "The specified network name is no longer available."},
    {67, "ERROR_BAD_NET_NAME", "the server has no such share", "The network name cannot be found."},
    {80, "ERROR_FILE_EXISTS", "the file exists", "The file exists."},
    {87, "ERROR_INVALID_PARAMETER", "a parameter is incorrect", "The parameter is incorrect."},
    {109, "ERROR_BROKEN_PIPE", "the pipe has been ended by the other side", "The pipe has been ended."},
    {110, "ERROR_OPEN_FAILED", "the system cannot open the file", "The system cannot open the device or file specified."},
    {111, "ERROR_BUFFER_OVERFLOW", "the file name is too long", "The file name is too long."},
    {112, "ERROR_DISK_FULL", "there is not enough space", "There is not enough space on the disk."},
    {120, "ERROR_CALL_NOT_IMPLEMENTED", "this function is not supported", "This function is not supported on this system."},
    {121, "ERROR_SEM_TIMEOUT", "the wait timed out before an instance became available", "The semaphore timeout period has expired."},
    {122, "ERROR_INSUFFICIENT_BUFFER", "the data area passed is too small", "The data area passed to a system call is too small."},
    {123, "ERROR_INVALID_NAME", "the pipe name is not valid", "The filename, directory name, or volume label syntax is incorrect."},
    {126, "ERROR_MOD_NOT_FOUND", "no such module is loaded", "The specified module could not be found."},
    {157, "ERROR_DISCARDED", "the memory block is empty (discarded) and cannot be locked", "The segment is already discarded and cannot be locked."},
    {158, "ERROR_NOT_LOCKED", "the memory block is not locked", "The segment is already unlocked."},
    {161, "ERROR_BAD_PATHNAME", "the path name is invalid", "The specified path is invalid."},
    {170, "ERROR_BUSY", "the resource is in use", "The requested resource is in use."},
    {183, "ERROR_ALREADY_EXISTS", "it already exists", "Cannot create a file when that file already exists."},
    {193, "ERROR_BAD_EXE_FORMAT", "the program is not a valid executable", "%1 is not a valid Win32 application."},
    {206, "ERROR_FILENAME_EXCED_RANGE", "the name is too long", "The filename or extension is too long."},
    {229, "ERROR_PIPE_LOCAL", "the pipe is local: its client did not come over the network", "The pipe is local."},
    {230, "ERROR_BAD_PIPE", "the pipe is in the wrong state for this operation", "The pipe state is invalid."},
    {231, "ERROR_PIPE_BUSY", "all pipe instances are busy", "All pipe instances are busy."},
    {232, "ERROR_NO_DATA", "the pipe is being closed (or, non-blocking, there is nothing to read)", "The pipe is being closed."},
    {233, "ERROR_PIPE_NOT_CONNECTED", "no process is on the other end of the pipe", "No process is on the other end of the pipe."},
    {234, "ERROR_MORE_DATA", "more data is available", "More data is available."},
    {258, "ERROR_WAIT_TIMEOUT", "the wait timed out", "The wait operation timed out."},
    {259, "ERROR_NO_MORE_ITEMS", "no more data is available", "No more data is available."},
    {267, "ERROR_DIRECTORY", "the directory name is invalid", "The directory name is invalid."},
    {317, "ERROR_MR_MID_NOT_FOUND", "no message text exists for this number", "The system cannot find message text for message number 0x%1 in the message file for %2."},
    {535, "ERROR_PIPE_CONNECTED", "there is a process on the other end of the pipe", "There is a process on other end of the pipe."},
    {536, "ERROR_PIPE_LISTENING", "waiting for a process to open the other end of the pipe", "Waiting for a process to open the other end of the pipe."},
    {995, "ERROR_OPERATION_ABORTED", "the operation was aborted", "The I/O operation has been aborted because of either a thread exit or an application request."},
    {996, "ERROR_IO_INCOMPLETE", "the overlapped operation is not complete", "Overlapped I/O event is not in a signaled state."},
    {997, "ERROR_IO_PENDING", "overlapped I/O is in progress", "Overlapped I/O operation is in progress."},
    {998, "ERROR_NOACCESS", "invalid access to a memory location", "Invalid access to memory location."},
    {1004, "ERROR_INVALID_FLAGS", "invalid flags", "Invalid flags."},
    {1062, "ERROR_SERVICE_NOT_ACTIVE", "the npipe broker (npiped) is not running", "The service has not been started."},
    {1168, "ERROR_NOT_FOUND", "element not found", "Element not found."},
    {1225, "ERROR_CONNECTION_REFUSED", "the broker refused the connection", "The remote computer refused the network connection."},
    {1236, "ERROR_CONNECTION_ABORTED", "the connection was aborted", "The network connection was aborted by the local system."},
    {1816, "ERROR_NOT_ENOUGH_QUOTA", "a per-user limit of the broker is reached (see npipe broker status)", "Not enough quota is available to process this command."},
    {1305, "ERROR_UNKNOWN_REVISION", "the revision level is unknown", "The revision level is unknown."},
    {1306, "ERROR_REVISION_MISMATCH", "the revision does not match the ACL's", "Indicates two revision levels are incompatible."},
    {1307, "ERROR_INVALID_OWNER", "this user may not be made the owner", "This security ID may not be assigned as the owner of this object."},
    {1314, "ERROR_PRIVILEGE_NOT_HELD", "a required privilege is not held", "A required privilege is not held by the client."},
    {1326, "ERROR_LOGON_FAILURE", "the user name or password is incorrect", "The user name or password is incorrect."},
    {1330, "ERROR_PASSWORD_EXPIRED", "the password has expired", "The password for this account has expired."},
    {1331, "ERROR_ACCOUNT_DISABLED", "the account is disabled", "This user can't sign in because this account is currently disabled."},
    {1332, "ERROR_NONE_MAPPED", "no mapping between account names and security IDs was done", "No mapping between account names and security IDs was done."},
    {1336, "ERROR_INVALID_ACL", "the access control list is malformed", "The access control list (ACL) structure is invalid."},
    {1337, "ERROR_INVALID_SID", "the security ID is malformed", "The security ID structure is invalid."},
    {1338, "ERROR_INVALID_SECURITY_DESCR", "the security descriptor is malformed", "The security descriptor structure is invalid."},
    {1344, "ERROR_ALLOTTED_SPACE_EXCEEDED", "the ACL has no room for another ACE", "No more memory is available for security information updates."},
    {1346, "ERROR_BAD_IMPERSONATION_LEVEL", "the impersonation level is not allowed", "Either a required impersonation level was not provided, or the provided impersonation level is invalid."},
    {1359, "ERROR_INTERNAL_ERROR", "an internal error occurred", "An internal error occurred."},
    {1368, "ERROR_CANNOT_IMPERSONATE", "cannot impersonate the pipe's client", "Unable to impersonate using a named pipe until data has been read from that pipe."},
    {1438, "ERROR_INVALID_MSGBOX_STYLE", "the message box type is not valid", "Invalid message box style."},
    {1450, "ERROR_NO_SYSTEM_RESOURCES", "the server is out of resources", "Insufficient system resources exist to complete the requested service."},
    {1460, "ERROR_TIMEOUT", "the operation timed out", "This operation returned because the timeout period expired."},
    {5023, "ERROR_INVALID_STATE", "the object is in the wrong state", "The group or resource is not in the correct state to perform the requested operation."},
};

const error_text* find_text(int code) noexcept {
    for (const auto& t : error_texts)
        if (t.code == code) return &t;
    return nullptr;
}

class win32_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "win32"; }

    std::string message(int code) const override {
        const error_text* t = find_text(code);
        std::string out = win32_error_name(code) + " (" + std::to_string(code) + ")";
        if (t) out += std::string(": ") + t->meaning;
        return out;
    }

    // `ec == std::errc::broken_pipe` and friends: the portable meaning of a Win32 number.
    std::error_condition default_error_condition(int code) const noexcept override {
        using std::errc;
        switch (static_cast<win32_error>(code)) {
        case win32_error::file_not_found:
        case win32_error::path_not_found: return errc::no_such_file_or_directory;
        case win32_error::access_denied: return errc::permission_denied;
        case win32_error::invalid_handle: return errc::bad_file_descriptor;
        case win32_error::not_enough_memory:
        case win32_error::outofmemory: return errc::not_enough_memory;
        case win32_error::too_many_open_files: return errc::too_many_files_open;
        case win32_error::invalid_parameter: return errc::invalid_argument;
        case win32_error::broken_pipe:
        case win32_error::no_data: return errc::broken_pipe;
        case win32_error::pipe_not_connected: return errc::not_connected;
        case win32_error::pipe_busy:
        case win32_error::busy: return errc::device_or_resource_busy;
        case win32_error::sem_timeout:
        case win32_error::wait_timeout:
        case win32_error::timeout: return errc::timed_out;
        case win32_error::invalid_name:
        case win32_error::bad_pathname: return errc::invalid_argument;
        case win32_error::filename_exced_range: return errc::filename_too_long;
        case win32_error::not_supported:
        case win32_error::call_not_implemented: return errc::not_supported;
        case win32_error::operation_aborted: return errc::operation_canceled;
        case win32_error::connection_refused:
        case win32_error::service_not_active: return errc::connection_refused;
        case win32_error::connection_aborted: return errc::connection_aborted;
        case win32_error::file_exists:
        case win32_error::already_exists: return errc::file_exists;
        case win32_error::io_pending: return errc::operation_in_progress;
        default: return {code, *this};
        }
    }
};

} // namespace

const std::error_category& win32_category() noexcept {
    static const win32_category_impl instance;
    return instance;
}

std::string win32_error_name(int code) {
    if (const error_text* t = find_text(code)) return t->name;
    return "ERROR_" + std::to_string(code);
}

std::string win32_error_system_text(int code) {
    if (const error_text* t = find_text(code)) return t->windows_text;
    return {};
}

std::string win32_error_description(int code) {
    if (const error_text* t = find_text(code)) return t->meaning;
    return {};
}

win32_error win32_error_from_errno(int e) noexcept {
    switch (e) {
    case 0: return win32_error::success;
    case ENOENT: return win32_error::file_not_found;
    case ENOTDIR: return win32_error::path_not_found;
    case EACCES:
    case EPERM: return win32_error::access_denied;
    case EBADF: return win32_error::invalid_handle;
    case ENOMEM: return win32_error::not_enough_memory;
    case ENOBUFS: return win32_error::not_enough_memory;
    case EMFILE:
    case ENFILE: return win32_error::too_many_open_files;
    case EINVAL: return win32_error::invalid_parameter;
    case EPIPE: return win32_error::no_data;        // writing to a pipe whose reader has gone
    case ECONNRESET: return win32_error::broken_pipe;
    case ENOTCONN: return win32_error::pipe_not_connected;
    case ECONNREFUSED: return win32_error::service_not_active;
    case ECONNABORTED: return win32_error::connection_aborted;
    case EAGAIN: return win32_error::no_data;       // a non-blocking operation found nothing
    case ETIMEDOUT: return win32_error::sem_timeout;
    case ENAMETOOLONG: return win32_error::filename_exced_range;
    case EEXIST: return win32_error::already_exists;
    case ENOSPC: return win32_error::disk_full;
    case EFAULT: return win32_error::noaccess;
    case EBUSY: return win32_error::busy;
    case ENOSYS: return win32_error::call_not_implemented;
    case EOPNOTSUPP: return win32_error::not_supported;
    case ECANCELED: return win32_error::operation_aborted;
    case EIO: return win32_error::gen_failure;
    case ENOEXEC: return win32_error::bad_format;
    case ELOOP: return win32_error::access_denied;   // a symlink where none is allowed
    default: return win32_error::gen_failure;
    }
}

// NTSTATUS from an SMB server, as Windows' redirector turns them into Win32 errors
// (RtlNtStatusToDosError for the codes a pipe client meets). STATUS_BUFFER_OVERFLOW is a
// partial success: the data came, and the caller reports ERROR_MORE_DATA with it.
win32_error win32_error_from_ntstatus(std::uint32_t status) noexcept {
    switch (status) {
    case 0x00000000: return win32_error::success;
    case 0x80000005: return win32_error::more_data;            // BUFFER_OVERFLOW
    case 0xC000014B: return win32_error::broken_pipe;          // PIPE_BROKEN
    case 0xC00000B0: return win32_error::pipe_not_connected;   // PIPE_DISCONNECTED
    case 0xC00000AC:                                           // PIPE_NOT_AVAILABLE
    case 0xC00000AE: return win32_error::pipe_busy;            // PIPE_BUSY
    case 0xC00000B1:                                           // PIPE_CLOSING
    case 0xC00000D9: return win32_error::no_data;              // PIPE_EMPTY
    case 0xC00000B3: return win32_error::pipe_listening;       // PIPE_LISTENING
    case 0xC00000AD: return win32_error::bad_pipe;             // INVALID_PIPE_STATE
    case 0xC00000B5: return win32_error::sem_timeout;          // IO_TIMEOUT
    case 0xC0000034: return win32_error::file_not_found;       // OBJECT_NAME_NOT_FOUND
    case 0xC000003A: return win32_error::path_not_found;       // OBJECT_PATH_NOT_FOUND
    case 0xC0000033: return win32_error::invalid_name;         // OBJECT_NAME_INVALID
    case 0xC00000CC: return win32_error::bad_net_name;         // BAD_NETWORK_NAME
    case 0xC000006D:                                           // LOGON_FAILURE
    case 0xC000006A:                                           // WRONG_PASSWORD
    case 0xC0000064:                                           // NO_SUCH_USER
    case 0xC000006E: return win32_error::logon_failure;        // ACCOUNT_RESTRICTION
    case 0xC0000071: return win32_error::password_expired;
    case 0xC0000072: return win32_error::account_disabled;
    case 0xC0000022: return win32_error::access_denied;
    case 0xC000000D: return win32_error::invalid_parameter;
    case 0xC00000BB:                                           // NOT_SUPPORTED
    case 0xC000019C: return win32_error::not_supported;        // FS_DRIVER_REQUIRED
    case 0xC0000010:                                           // INVALID_DEVICE_REQUEST
    case 0xC0000002: return win32_error::invalid_function;     // NOT_IMPLEMENTED
    case 0xC0000003: return win32_error::invalid_parameter;    // INVALID_INFO_CLASS
    case 0xC0000011: return win32_error::handle_eof;           // END_OF_FILE
    case 0xC0000120: return win32_error::operation_aborted;    // CANCELLED
    case 0xC000009A: return win32_error::no_system_resources;  // INSUFFICIENT_RESOURCES
    case 0xC000020C:                                           // CONNECTION_DISCONNECTED
    case 0xC0000203:                                           // USER_SESSION_DELETED
    case 0xC000035C: return win32_error::netname_deleted;      // NETWORK_SESSION_EXPIRED
    default: return win32_error::mr_mid_not_found;             // Windows' answer for a code it has no mapping for
    }
}

} // namespace npipe
