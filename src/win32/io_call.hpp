// win32/io_call.hpp - how every I/O function runs an operation on a handle: the handle's
// signaled state, the byte count, an OVERLAPPED on a synchronous handle, and the last error.
#pragma once

#include "win32/io_object.hpp"
#include "win32/ntstatus.hpp"

#include <functional>
#include <type_traits>

namespace npipe::win32 {

/// ResetEvent/SetEvent on an OVERLAPPED's event (ignored when it is not an event).
void set_overlapped_event(HANDLE event, bool signaled) noexcept;
/// Sets an OVERLAPPED's event (if any) and does `more` under the same dispatcher lock: waiters
/// see both changes at once (the event and the file's own, a packet, an APC).
void set_overlapped_event_with(HANDLE event, const std::function<void()>& more);

/// The handle is busy (unsignaled) from begin() to the end of the mark's life.
class busy_mark {
public:
    explicit busy_mark(io_object& obj) noexcept : obj_(obj) {}
    busy_mark(const busy_mark&) = delete;
    busy_mark& operator=(const busy_mark&) = delete;
    ~busy_mark() {
        if (on_) obj_.end_io();
    }
    void begin() noexcept {
        if (on_) return;
        on_ = true;
        obj_.begin_io();
    }

private:
    io_object& obj_;
    bool on_ = false;
};

/// Runs `call` so that CancelSynchronousIo can end it: on a named pipe, whose operations are
/// steps (pipe_ops.hpp); other handles block in the kernel and are not cancellable here.
template <class Call>
auto cancellable_call(const object& obj, Call&& call) {
    if (obj.kind() != object_kind::named_pipe) return call();
    auto self = current_thread();
    detail::sync_cancel_scope scope(self->sync_io);
    return call();
}

/// Runs `op` (returning io_result) on `obj` as a synchronous I/O call, with Windows' rules for
/// what the caller sees:
/// - the handle is unsignaled while any I/O call on it runs (an `op` taking a busy_mark&
///   says itself from when: ConnectNamedPipe from its acknowledged listen on);
/// - `transferred` is 0 first, then the byte count; but with an OVERLAPPED, any status other
///   than success (ERROR_MORE_DATA too) leaves it 0 and the count is in InternalHigh;
/// - an OVERLAPPED gets Internal = STATUS_PENDING first (InternalHigh untouched) and its event
///   reset; a success or warning (STATUS_BUFFER_OVERFLOW) then stores the NTSTATUS and the count
///   and sets the event; a failure leaves both as they were, as a request the driver refused
///   does on Windows.
template <class Op>
BOOL run_io(io_object& obj, LPOVERLAPPED overlapped, LPDWORD transferred, Op&& op) {
    if (transferred) *transferred = 0;
    if (overlapped) {
        overlapped->Internal = STATUS_PENDING;
        set_overlapped_event(overlapped->hEvent, false);
    }
    // Cancellable from before the handle turns busy: whoever saw it busy can cancel the call.
    io_result r = cancellable_call(obj, [&] {
        busy_mark running(obj);
        if constexpr (std::is_invocable_v<Op&, busy_mark&>) {
            return op(running);
        } else {
            running.begin();
            return op();
        }
    });
    if (overlapped) {
        DWORD status = ntstatus_from_win32(r.error);
        if ((status & 0xC0000000u) != 0xC0000000u) { // success or warning: the request completed
            overlapped->Internal = status;
            overlapped->InternalHigh = r.bytes;
            set_overlapped_event(overlapped->hEvent, true);
        }
        if (transferred && r.error == 0) *transferred = r.bytes;
    } else if (transferred) {
        *transferred = r.bytes;
    }
    if (r.error) return fail(r.error, FALSE);
    return TRUE;
}

} // namespace npipe::win32
