// ReadFileEx, WriteFileEx, CancelIo, CancelIoEx, GetOverlappedResultEx (overlapped.hpp); and
// the completion port functions (completion_port.hpp).
#include "win32/completion_port.hpp"
#include "win32/ntstatus.hpp"
#include "win32/overlapped.hpp"
#include "win32_errors.hpp"

#include <atomic>
#include <chrono>
#include <optional>

namespace npipe::win32 {

namespace {

/// The port this thread waits on in GetQueuedCompletionStatus(Ex), and how many packets it
/// takes when it returns: while it polls, the operations it completes may post there.
struct port_wait {
    completion_port* port = nullptr;
    std::size_t claim = 0;
};
thread_local port_wait t_port_wait;

} // namespace

void completion_port::last_handle_closed() noexcept {
    {
        std::lock_guard lock(dispatch().mutex);
        closed = true;
        arrived.notify_all();
    }
    notify_waiters();
}

void completion_port::queue(const completion_packet& p) {
    packets.push_back(p);
    if (t_port_wait.port == this && t_port_wait.claim > 0) {
        --t_port_wait.claim;
        return;
    }
    // A waiter either sleeps on `arrived` or polls for the reactor (then the leader wakes).
    if (sleepers > 0) arrived.notify_one();
    else npipe::detail::io_reactor::interrupt_leader();
}

void completion_port::post(const completion_packet& p) {
    std::lock_guard lock(dispatch().mutex);
    queue(p);
}

namespace {

DWORD status_of(const OVERLAPPED* ov) noexcept {
    return static_cast<DWORD>(std::atomic_ref<const ULONG_PTR>(ov->Internal).load(std::memory_order_acquire));
}

/// CancelIo / CancelIoEx: marks what `pick` chooses in every lane of `file`.
BOOL cancel_where(io_object& file, const std::function<bool(const detail::async_op&)>& pick) {
    auto& reactor = detail::io_reactor::get();
    auto why = npipe::detail::win32(win32_error::operation_aborted);
    std::size_t found = reactor.cancel(file.async.reads, pick, why) + reactor.cancel(file.async.writes, pick, why) +
                        reactor.cancel(file.async.connects, pick, why);
    if (!found) return fail(ERROR_NOT_FOUND, FALSE);
    return TRUE;
}

/// Takes up to `max` packets from `port`, handing each to `out`, waiting up to `ms`;
/// the GetQueuedCompletionStatus errors otherwise (WAIT_TIMEOUT, ERROR_ABANDONED_WAIT_0,
/// WAIT_IO_COMPLETION).
template <typename Out>
DWORD take_packets(completion_port& port, std::size_t max, DWORD ms, bool alertable, Out out) {
    std::optional<std::chrono::steady_clock::time_point> deadline;
    if (ms != INFINITE) deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    std::unique_lock lock(dispatch().mutex);
    for (;;) {
        if (!port.packets.empty()) {
            for (std::size_t n = 0; n < max && !port.packets.empty(); ++n) {
                out(n, port.packets.front());
                port.packets.pop_front();
            }
            // While this thread works on what it took, another should poll for the operations
            // that complete meanwhile: a sleeper is woken to lead when no application thread
            // does (the reactor thread would take over only after a millisecond).
            if (port.sleepers > 0 && !npipe::detail::io_reactor::application_leads()) port.arrived.notify_one();
            lock.unlock();
            poll_if_due(); // a busy worker never sleeps, so it polls now and then
            return 0;
        }
        if (port.closed) return ERROR_ABANDONED_WAIT_0;
        if (alertable && run_apcs(lock)) return WAIT_IO_COMPLETION;
        if (deadline && std::chrono::steady_clock::now() >= *deadline) return WAIT_TIMEOUT;
        t_port_wait = {&port, max};
        wait_for_change_at(lock, deadline, {port.arrived, port.sleepers});
        t_port_wait = {};
    }
}

} // namespace

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

BOOL WINAPI ReadFileEx(HANDLE hFile, LPVOID lpBuffer, DWORD nNumberOfBytesToRead, LPOVERLAPPED lpOverlapped,
                       LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpOverlapped || !lpCompletionRoutine || !io->async.enabled) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (!lpBuffer && nNumberOfBytesToRead) return fail(ERROR_NOACCESS, FALSE);
        return read_overlapped(io, lpBuffer, nNumberOfBytesToRead, lpOverlapped, nullptr, lpCompletionRoutine) ||
                       last_error() == ERROR_MORE_DATA || last_error() == ERROR_IO_PENDING
                   ? (set_last_error(NO_ERROR), TRUE)
                   : FALSE;
    });
}

BOOL WINAPI WriteFileEx(HANDLE hFile, LPCVOID lpBuffer, DWORD nNumberOfBytesToWrite, LPOVERLAPPED lpOverlapped,
                        LPOVERLAPPED_COMPLETION_ROUTINE lpCompletionRoutine) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpOverlapped || !lpCompletionRoutine || !io->async.enabled) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (!lpBuffer && nNumberOfBytesToWrite) return fail(ERROR_NOACCESS, FALSE);
        return write_overlapped(io, lpBuffer, nNumberOfBytesToWrite, lpOverlapped, nullptr, lpCompletionRoutine) ||
                       last_error() == ERROR_IO_PENDING
                   ? (set_last_error(NO_ERROR), TRUE)
                   : FALSE;
    });
}

BOOL WINAPI CancelIo(HANDLE hFile) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        auto self = std::this_thread::get_id();
        // Nothing of this thread's pending is still a success for CancelIo.
        if (!cancel_where(*io, [self](const npipe::detail::async_op& op) { return op.starter == self; }))
            set_last_error(NO_ERROR);
        return TRUE;
    });
}

BOOL WINAPI CancelIoEx(HANDLE hFile, LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(hFile);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        return cancel_where(*io, [lpOverlapped](const npipe::detail::async_op& op) {
            return !lpOverlapped || op.tag == lpOverlapped;
        });
    });
}

BOOL WINAPI CancelSynchronousIo(HANDLE hThread) {
    return guard(FALSE, [&]() -> BOOL {
        auto thread = lookup_as<thread_object>(hThread);
        if (!thread) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!thread->sync_io.cancel()) return fail(ERROR_NOT_FOUND, FALSE);
        return TRUE;
    });
}

BOOL WINAPI GetOverlappedResultEx(HANDLE hFile, LPOVERLAPPED lpOverlapped, LPDWORD lpNumberOfBytesTransferred,
                                  DWORD dwMilliseconds, BOOL bAlertable) {
    return guard(FALSE, [&]() -> BOOL {
        if (!lpOverlapped) return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (status_of(lpOverlapped) == STATUS_PENDING) {
            if (dwMilliseconds == 0) return fail(ERROR_IO_INCOMPLETE, FALSE);
            HANDLE event = reinterpret_cast<HANDLE>(reinterpret_cast<std::uintptr_t>(lpOverlapped->hEvent) &
                                                    ~std::uintptr_t{1});
            DWORD w = WaitForSingleObjectEx(event ? event : hFile, dwMilliseconds, bAlertable);
            if (w == WAIT_FAILED) return FALSE;
            if (w == WAIT_TIMEOUT || w == WAIT_IO_COMPLETION) return fail(w, FALSE);
            if (status_of(lpOverlapped) == STATUS_PENDING) return fail(ERROR_IO_INCOMPLETE, FALSE);
        }
        if (lpNumberOfBytesTransferred) *lpNumberOfBytesTransferred = static_cast<DWORD>(lpOverlapped->InternalHigh);
        DWORD status = status_of(lpOverlapped);
        if (status != STATUS_SUCCESS) return fail(win32_from_ntstatus(status), FALSE);
        return TRUE;
    });
}

HANDLE WINAPI CreateIoCompletionPort(HANDLE FileHandle, HANDLE ExistingCompletionPort, ULONG_PTR CompletionKey,
                                     DWORD NumberOfConcurrentThreads) {
    return guard(HANDLE{nullptr}, [&]() -> HANDLE {
        std::shared_ptr<completion_port> port;
        if (ExistingCompletionPort) {
            port = lookup_as<completion_port>(ExistingCompletionPort);
            if (!port) return fail(ERROR_INVALID_PARAMETER, HANDLE{nullptr});
        }
        std::shared_ptr<io_object> file;
        if (FileHandle != INVALID_HANDLE_VALUE) {
            file = lookup_as<io_object>(FileHandle);
            if (!file) return fail(ERROR_INVALID_HANDLE, HANDLE{nullptr});
        } else if (ExistingCompletionPort) {
            return fail(ERROR_INVALID_PARAMETER, HANDLE{nullptr});
        }
        HANDLE result = ExistingCompletionPort;
        if (!port) {
            port = std::make_shared<completion_port>();
            port->concurrency = NumberOfConcurrentThreads;
        }
        if (file) {
            std::lock_guard lock(dispatch().mutex);
            if (file->async.port) return fail(ERROR_INVALID_PARAMETER, HANDLE{nullptr}); // one port per file
            file->async.port = port;
            file->async.key = CompletionKey;
        }
        if (!result) {
            result = insert_handle(port);
            if (!result) return fail(ERROR_NOT_ENOUGH_MEMORY, HANDLE{nullptr});
        }
        return result;
    });
}

BOOL WINAPI GetQueuedCompletionStatus(HANDLE CompletionPort, LPDWORD lpNumberOfBytesTransferred,
                                      PULONG_PTR lpCompletionKey, LPOVERLAPPED* lpOverlapped, DWORD dwMilliseconds) {
    return guard(FALSE, [&]() -> BOOL {
        if (lpOverlapped) *lpOverlapped = nullptr;
        auto port = lookup_as<completion_port>(CompletionPort);
        if (!port) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpNumberOfBytesTransferred || !lpCompletionKey || !lpOverlapped) return fail(ERROR_INVALID_PARAMETER, FALSE);
        completion_packet p;
        if (DWORD e = take_packets(*port, 1, dwMilliseconds, false, [&](std::size_t, const completion_packet& got) { p = got; }))
            return fail(e, FALSE);
        *lpNumberOfBytesTransferred = p.bytes;
        *lpCompletionKey = p.key;
        *lpOverlapped = p.overlapped;
        // A failed operation's packet: FALSE with its OVERLAPPED and its error.
        if (p.status != STATUS_SUCCESS) return fail(win32_from_ntstatus(p.status), FALSE);
        return TRUE;
    });
}

BOOL WINAPI GetQueuedCompletionStatusEx(HANDLE CompletionPort, LPOVERLAPPED_ENTRY lpCompletionPortEntries,
                                        ULONG ulCount, PULONG ulNumEntriesRemoved, DWORD dwMilliseconds,
                                        BOOL fAlertable) {
    return guard(FALSE, [&]() -> BOOL {
        if (ulNumEntriesRemoved) *ulNumEntriesRemoved = 0;
        auto port = lookup_as<completion_port>(CompletionPort);
        if (!port) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (!lpCompletionPortEntries || ulCount == 0 || !ulNumEntriesRemoved) return fail(ERROR_INVALID_PARAMETER, FALSE);
        ULONG taken = 0;
        DWORD e = take_packets(*port, ulCount, dwMilliseconds, fAlertable != FALSE,
                               [&](std::size_t i, const completion_packet& p) {
                                   lpCompletionPortEntries[i] = {p.key, p.overlapped, p.status, p.bytes};
                                   taken = static_cast<ULONG>(i + 1);
                               });
        if (e) return fail(e, FALSE);
        *ulNumEntriesRemoved = taken;
        return TRUE;
    });
}

BOOL WINAPI PostQueuedCompletionStatus(HANDLE CompletionPort, DWORD dwNumberOfBytesTransferred,
                                       ULONG_PTR dwCompletionKey, LPOVERLAPPED lpOverlapped) {
    return guard(FALSE, [&]() -> BOOL {
        auto port = lookup_as<completion_port>(CompletionPort);
        if (!port) return fail(ERROR_INVALID_HANDLE, FALSE);
        port->post({dwCompletionKey, dwNumberOfBytesTransferred, lpOverlapped, STATUS_SUCCESS});
        return TRUE;
    });
}

BOOL WINAPI SetFileCompletionNotificationModes(HANDLE FileHandle, UCHAR Flags) {
    return guard(FALSE, [&]() -> BOOL {
        auto io = lookup_as<io_object>(FileHandle);
        if (!io) return fail(ERROR_INVALID_HANDLE, FALSE);
        if (Flags & ~(FILE_SKIP_COMPLETION_PORT_ON_SUCCESS | FILE_SKIP_SET_EVENT_ON_HANDLE))
            return fail(ERROR_INVALID_PARAMETER, FALSE);
        std::lock_guard lock(dispatch().mutex);
        io->async.modes = Flags;
        return TRUE;
    });
}

} // extern "C"
