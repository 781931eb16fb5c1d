#include <npipe/error.hpp>

#include <cerrno>
#include <string>

namespace npipe {
namespace {

struct error_text {
    int code;
    const char* name;
    const char* meaning;
};

// Windows' symbolic names, and what each means for the person who sees it.
constexpr error_text error_texts[] = {
    {0, "ERROR_SUCCESS", "the operation completed successfully"},
    {1, "ERROR_INVALID_FUNCTION", "the operation is not valid for this handle"},
    {2, "ERROR_FILE_NOT_FOUND", "no pipe of that name exists"},
    {3, "ERROR_PATH_NOT_FOUND", "the path does not exist"},
    {4, "ERROR_TOO_MANY_OPEN_FILES", "out of file descriptors"},
    {5, "ERROR_ACCESS_DENIED", "access is denied"},
    {6, "ERROR_INVALID_HANDLE", "the handle is invalid or closed"},
    {8, "ERROR_NOT_ENOUGH_MEMORY", "not enough memory"},
    {11, "ERROR_BAD_FORMAT", "malformed data"},
    {12, "ERROR_INVALID_ACCESS", "the access code is invalid"},
    {13, "ERROR_INVALID_DATA", "the data is invalid"},
    {14, "ERROR_OUTOFMEMORY", "not enough memory"},
    {21, "ERROR_NOT_READY", "the device is not ready"},
    {29, "ERROR_WRITE_FAULT", "a write failed"},
    {30, "ERROR_READ_FAULT", "a read failed"},
    {31, "ERROR_GEN_FAILURE", "a device attached to the system is not functioning"},
    {32, "ERROR_SHARING_VIOLATION", "the file is in use"},
    {38, "ERROR_HANDLE_EOF", "end of file"},
    {50, "ERROR_NOT_SUPPORTED", "the request is not supported"},
    {53, "ERROR_BAD_NETPATH", "the network path was not found"},
    {80, "ERROR_FILE_EXISTS", "the file exists"},
    {87, "ERROR_INVALID_PARAMETER", "a parameter is incorrect"},
    {109, "ERROR_BROKEN_PIPE", "the pipe has been ended by the other side"},
    {110, "ERROR_OPEN_FAILED", "the system cannot open the file"},
    {111, "ERROR_BUFFER_OVERFLOW", "the file name is too long"},
    {112, "ERROR_DISK_FULL", "there is not enough space"},
    {120, "ERROR_CALL_NOT_IMPLEMENTED", "this function is not supported"},
    {121, "ERROR_SEM_TIMEOUT", "the wait timed out before an instance became available"},
    {122, "ERROR_INSUFFICIENT_BUFFER", "the data area passed is too small"},
    {123, "ERROR_INVALID_NAME", "the pipe name is not valid"},
    {161, "ERROR_BAD_PATHNAME", "the path name is invalid"},
    {170, "ERROR_BUSY", "the resource is in use"},
    {183, "ERROR_ALREADY_EXISTS", "it already exists"},
    {206, "ERROR_FILENAME_EXCED_RANGE", "the name is too long"},
    {230, "ERROR_BAD_PIPE", "the pipe is in the wrong state for this operation"},
    {231, "ERROR_PIPE_BUSY", "all pipe instances are busy"},
    {232, "ERROR_NO_DATA", "the pipe is being closed (or, non-blocking, there is nothing to read)"},
    {233, "ERROR_PIPE_NOT_CONNECTED", "no process is on the other end of the pipe"},
    {234, "ERROR_MORE_DATA", "more data is available"},
    {258, "ERROR_WAIT_TIMEOUT", "the wait timed out"},
    {535, "ERROR_PIPE_CONNECTED", "there is a process on the other end of the pipe"},
    {536, "ERROR_PIPE_LISTENING", "waiting for a process to open the other end of the pipe"},
    {995, "ERROR_OPERATION_ABORTED", "the operation was aborted"},
    {996, "ERROR_IO_INCOMPLETE", "the overlapped operation is not complete"},
    {997, "ERROR_IO_PENDING", "overlapped I/O is in progress"},
    {998, "ERROR_NOACCESS", "invalid access to a memory location"},
    {1062, "ERROR_SERVICE_NOT_ACTIVE", "the npipe broker (npiped) is not running"},
    {1168, "ERROR_NOT_FOUND", "element not found"},
    {1225, "ERROR_CONNECTION_REFUSED", "the broker refused the connection"},
    {1236, "ERROR_CONNECTION_ABORTED", "the connection was aborted"},
    {1346, "ERROR_BAD_IMPERSONATION_LEVEL", "the impersonation level is not allowed"},
    {1359, "ERROR_INTERNAL_ERROR", "an internal error occurred"},
    {1368, "ERROR_CANNOT_IMPERSONATE", "cannot impersonate the pipe's client"},
    {1460, "ERROR_TIMEOUT", "the operation timed out"},
    {5023, "ERROR_INVALID_STATE", "the object is in the wrong state"},
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

} // namespace npipe
