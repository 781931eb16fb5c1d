// CreateFile, ReadFile, WriteFile, FlushFileBuffers, GetOverlappedResult.
#include "win32/io_call.hpp"
#include "win32/overlapped.hpp"
#include "win32/io_object.hpp"
#include "win32/text.hpp"

#include "os/fd.hpp"
#include "win32_errors.hpp"

#include <cerrno>
#include <fcntl.h>
#include <string>

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept { return static_cast<DWORD>(detail::to_win32(ec).value()); }

/// CreateFile on an ordinary path.
HANDLE open_file(const char* path, DWORD access, DWORD disposition, DWORD flags, LPSECURITY_ATTRIBUTES sa) {
    bool all = (access & (GENERIC_ALL | MAXIMUM_ALLOWED)) != 0;
    bool readable = all || (access & (GENERIC_READ | FILE_READ_DATA));
    bool writable = all || (access & (GENERIC_WRITE | FILE_WRITE_DATA | FILE_APPEND_DATA));
    int mode = readable && writable ? O_RDWR : writable ? O_WRONLY : O_RDONLY;
    if (access & FILE_APPEND_DATA && !(access & (GENERIC_WRITE | FILE_WRITE_DATA))) mode |= O_APPEND;
    unsigned perms = (flags & FILE_ATTRIBUTE_READONLY) ? 0444u : 0666u;

    os::sys_result<os::fd> opened;
    bool existed = false;
    switch (disposition) {
    case CREATE_NEW: opened = os::open_path(path, mode | O_CREAT | O_EXCL, perms); break;
    case CREATE_ALWAYS:
    case OPEN_ALWAYS:
        opened = os::open_path(path, mode | O_CREAT | O_EXCL, perms);
        if (!opened && opened.error.value() == EEXIST) {
            existed = true;
            opened = os::open_path(path, mode | (disposition == CREATE_ALWAYS ? O_TRUNC : 0), perms);
        }
        break;
    case OPEN_EXISTING: opened = os::open_path(path, mode, perms); break;
    case TRUNCATE_EXISTING:
        if (!writable) return fail(ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE);
        opened = os::open_path(path, mode | O_TRUNC, perms);
        break;
    default: return fail(ERROR_INVALID_PARAMETER, INVALID_HANDLE_VALUE);
    }
    if (!opened) {
        int e = opened.error.value();
        if (e == EEXIST) return fail(ERROR_FILE_EXISTS, INVALID_HANDLE_VALUE);
        if (e == EISDIR) return fail(ERROR_ACCESS_DENIED, INVALID_HANDLE_VALUE);
        if (e == ENOENT) {
            // A missing directory on the way is ERROR_PATH_NOT_FOUND, a missing file FILE_NOT_FOUND.
            std::string p(path);
            auto slash = p.find_last_of('/');
            if (slash != std::string::npos && slash > 0 && !os::open_path(p.substr(0, slash).c_str(), O_RDONLY | O_DIRECTORY, 0))
                return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
        }
        return fail(code(opened.error), INVALID_HANDLE_VALUE);
    }
    auto t = os::type_of(opened.value.get());
    if (t.value == os::descriptor_type::directory && !(flags & FILE_FLAG_BACKUP_SEMANTICS))
        return fail(ERROR_ACCESS_DENIED, INVALID_HANDLE_VALUE);
    auto obj = std::make_shared<file_object>(opened.value.release(), readable, writable);
    HANDLE h = insert_handle(std::move(obj), {sa && sa->bInheritHandle, false});
    if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, INVALID_HANDLE_VALUE);
    // OPEN_ALWAYS / CREATE_ALWAYS tell the caller whether the file was there.
    if (disposition == OPEN_ALWAYS || disposition == CREATE_ALWAYS)
        set_last_error(existed ? ERROR_ALREADY_EXISTS : ERROR_SUCCESS);
    return h;
}

HANDLE create_file(const char* name, DWORD access, DWORD disposition, DWORD flags, LPSECURITY_ATTRIBUTES sa) {
    if (!name) return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
    if (!*name) return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
    if (is_pipe_path(name)) return open_named_pipe(name, access, flags, sa);
    return open_file(name, access, disposition, flags, sa);
}

} // namespace
} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

HANDLE WINAPI CreateFileA(LPCSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile) {
    return guard(INVALID_HANDLE_VALUE, [&]() -> HANDLE {
        (void)dwShareMode; // Linux has no share modes (see README)
        (void)hTemplateFile;
        return create_file(lpFileName, dwDesiredAccess, dwCreationDisposition, dwFlagsAndAttributes,
                           lpSecurityAttributes);
    });
}

HANDLE WINAPI CreateFileW(LPCWSTR lpFileName, DWORD dwDesiredAccess, DWORD dwShareMode,
                          LPSECURITY_ATTRIBUTES lpSecurityAttributes, DWORD dwCreationDisposition,
                          DWORD dwFlagsAndAttributes, HANDLE hTemplateFile) {
    return guard(INVALID_HANDLE_VALUE, [&]() -> HANDLE {
        (void)dwShareMode;
        (void)hTemplateFile;
        if (!lpFileName) return fail(ERROR_PATH_NOT_FOUND, INVALID_HANDLE_VALUE);
        auto name = to_utf8(lpFileName);
        if (!name) return fail(ERROR_INVALID_NAME, INVALID_HANDLE_VALUE);
        return create_file(name->c_str(), dwDesiredAccess, dwCreationDisposition, dwFlagsAndAttributes,
                           lpSecurityAttributes);
    });
}

BOOL WINAPI ReadFile(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPDWORD lpNumberOfBytesRead,
                     LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        if (lpNumberOfBytesRead) *lpNumberOfBytesRead = 0;
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpBuffer && nNumberOfBytesToRead) return fail(ERROR_NOACCESS, FALSE);
        if (lpOverlapped && io->async.enabled)
            return read_overlapped(io, lpBuffer, nNumberOfBytesToRead, lpOverlapped, lpNumberOfBytesRead);
        return run_io(*io, lpOverlapped, lpNumberOfBytesRead,
                      [&] { return io->read(lpBuffer, nNumberOfBytesToRead); });
    });
}

BOOL WINAPI WriteFile(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPDWORD lpNumberOfBytesWritten,
                      LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        if (lpNumberOfBytesWritten) *lpNumberOfBytesWritten = 0;
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpBuffer && nNumberOfBytesToWrite) return fail(ERROR_NOACCESS, FALSE);
        if (lpOverlapped && io->async.enabled)
            return write_overlapped(io, lpBuffer, nNumberOfBytesToWrite, lpOverlapped, lpNumberOfBytesWritten);
        return run_io(*io, lpOverlapped, lpNumberOfBytesWritten,
                      [&] { return io->write(lpBuffer, nNumberOfBytesToWrite); });
    });
}

BOOL WINAPI FlushFileBuffers(HANDLE hFile) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        return run_io(*io, nullptr, nullptr, [&] { return io_result{io->flush(), 0}; });
    });
}

DWORD WINAPI GetFileType(HANDLE hFile) {
    auto obj = lookup(hFile);
    auto io = std::dynamic_pointer_cast<io_object>(obj);
    if (!io) return fail(DWORD{ERROR_INVALID_HANDLE}, DWORD{FILE_TYPE_UNKNOWN});
    if (io->kind() != object_kind::file) return FILE_TYPE_PIPE;
    int fd = io->child_descriptor();
    switch (npipe::os::type_of(fd).value) {
    case npipe::os::descriptor_type::fifo:
    case npipe::os::descriptor_type::socket: return FILE_TYPE_PIPE;
    case npipe::os::descriptor_type::character: return FILE_TYPE_CHAR;
    case npipe::os::descriptor_type::regular:
    case npipe::os::descriptor_type::directory: return FILE_TYPE_DISK;
    default: set_last_error(NO_ERROR); return FILE_TYPE_UNKNOWN;
    }
}

BOOL WINAPI GetOverlappedResult(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                BOOL bWait) {
    return GetOverlappedResultEx(hFile, lpOverlapped, lpNumberOfBytesTransferred, bWait ? INFINITE : 0, FALSE);
}

} // extern "C"
