// win32/overlapped.hpp - overlapped I/O on handles opened with FILE_FLAG_OVERLAPPED: ReadFile,
// WriteFile, TransactNamedPipe and ConnectNamedPipe with an OVERLAPPED, ReadFileEx and
// WriteFileEx, cancelling, and completion ports. The operations are the core's (async_ops.hpp),
// run by the process's reactor (io_reactor.hpp); this is what Windows' I/O manager adds: the
// OVERLAPPED's Internal and InternalHigh, its event and the file's, the completion routine
// queued to the thread that started the I/O, the packet posted to the file's completion port.
#pragma once

#include "win32/io_object.hpp"

#include "async_ops.hpp"

#include <memory>

namespace npipe::win32 {

/// How an overlapped operation reports.
struct overlapped_call {
    std::shared_ptr<io_object> file;
    LPOVERLAPPED overlapped = nullptr;
    LPOVERLAPPED_COMPLETION_ROUTINE routine = nullptr; ///< ReadFileEx / WriteFileEx
    LPDWORD transferred = nullptr;                     ///< the call's byte count (at once only)
};

enum class overlapped_kind { read, write, transact, connect };

/// Starts `op` as `kind` on `call.file` and answers as Windows does: TRUE when it completed at
/// once (FALSE with ERROR_MORE_DATA for part of a message), FALSE with ERROR_IO_PENDING when it
/// completes later, FALSE with the error when it failed at once (the OVERLAPPED left pending,
/// no event, no completion).
BOOL start_overlapped(const overlapped_call& call, overlapped_kind kind, std::shared_ptr<detail::pipe_async_op> op);

/// Ends `file`'s pending operations with `why` and waits until they have completed: its reads
/// and writes, and with `all` its ConnectNamedPipe too.
void cancel_overlapped(io_object& file, bool all, std::error_code why);

} // namespace npipe::win32

namespace npipe::win32 {

// The calls, for a handle opened with FILE_FLAG_OVERLAPPED (`io->async.enabled`) and an
// OVERLAPPED; `routine` for ReadFileEx and WriteFileEx.
BOOL read_overlapped(const std::shared_ptr<io_object>& io, void* buffer, DWORD size, LPOVERLAPPED ov,
                     LPDWORD transferred, LPOVERLAPPED_COMPLETION_ROUTINE routine = nullptr);
BOOL write_overlapped(const std::shared_ptr<io_object>& io, const void* data, DWORD size, LPOVERLAPPED ov,
                      LPDWORD transferred, LPOVERLAPPED_COMPLETION_ROUTINE routine = nullptr);
BOOL transact_overlapped(const std::shared_ptr<io_object>& io, const void* in, DWORD in_size, void* out,
                         DWORD out_size, LPDWORD transferred, LPOVERLAPPED ov);
BOOL connect_overlapped(const std::shared_ptr<io_object>& io, LPOVERLAPPED ov);

} // namespace npipe::win32
