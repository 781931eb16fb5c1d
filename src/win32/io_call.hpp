// win32/io_call.hpp - how every I/O function runs an operation on a handle: the handle's
// signaled state, the byte count, an OVERLAPPED on a synchronous handle, and the last error.
#pragma once

#include "win32/io_object.hpp"
#include "win32/ntstatus.hpp"

namespace npipe::win32 {

/// ResetEvent/SetEvent on an OVERLAPPED's event (ignored when it is not an event).
void set_overlapped_event(HANDLE event, bool signaled) noexcept;

/// Runs `op` (returning io_result) on `obj` as a synchronous I/O call: the handle is unsignaled
/// while it runs; `transferred` (if any) is 0 first and the byte count after; an OVERLAPPED
/// gets STATUS_PENDING, then the final NTSTATUS in Internal and the count in InternalHigh, and
/// its event is reset at the start and set at the end, as Windows does for synchronous handles.
template <class Op>
BOOL run_io(io_object& obj, LPOVERLAPPED overlapped, LPDWORD transferred, Op&& op) {
    if (transferred) *transferred = 0;
    if (overlapped) {
        overlapped->Internal = STATUS_PENDING;
        overlapped->InternalHigh = 0;
        set_overlapped_event(overlapped->hEvent, false);
    }
    obj.set_idle(false);
    io_result r = op();
    obj.set_idle(true);
    if (transferred) *transferred = r.bytes;
    if (overlapped) {
        overlapped->Internal = ntstatus_from_win32(r.error);
        overlapped->InternalHigh = r.bytes;
        set_overlapped_event(overlapped->hEvent, true);
    }
    if (r.error) return fail(r.error, FALSE);
    return TRUE;
}

} // namespace npipe::win32
