#include "win32/overlapped.hpp"

#include "win32/completion_port.hpp"
#include "win32/io_call.hpp"
#include "win32/ntstatus.hpp"
#include "win32_errors.hpp"

#include <atomic>

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept {
    return ec ? static_cast<DWORD>(detail::to_win32(ec).value()) : 0;
}

bool is_error_status(DWORD status) noexcept { return (status & 0xC0000000u) == 0xC0000000u; }

/// The low bit of hEvent: the application does not want a completion packet.
bool wants_packet(LPOVERLAPPED ov) noexcept { return (reinterpret_cast<std::uintptr_t>(ov->hEvent) & 1) == 0; }

void set_file_event(io_object& file, bool signaled) {
    {
        std::lock_guard lock(dispatch().mutex);
        file.async.file_event = signaled;
    }
    if (signaled) notify_waiters();
}

struct started_call : overlapped_call {
    std::shared_ptr<thread_object> thread; ///< ReadFileEx / WriteFileEx: whose APC queue
};

/// What Windows' I/O manager does when an overlapped operation completes. `at_once`: it
/// completed in the call that started it.
void report(const started_call& c, const detail::op_outcome& out, bool at_once) {
    DWORD error = code(out.ec);
    DWORD status = ntstatus_from_win32(error);
    LPOVERLAPPED ov = c.overlapped;
    // Once the completion is told (event, packet, routine) the caller may reuse or free the
    // OVERLAPPED: everything read from it is read first.
    HANDLE event = ov->hEvent;
    bool packet = wants_packet(ov);
    ov->InternalHigh = out.bytes;
    std::atomic_ref<ULONG_PTR>(ov->Internal).store(status, std::memory_order_release);
    // ReadFileEx leaves hEvent to the caller.
    set_overlapped_event_with(c.routine ? nullptr : event, [&] {
        overlapped_state& a = c.file->async;
        if (!(a.modes & FILE_SKIP_SET_EVENT_ON_HANDLE)) a.file_event = true;
        if (c.routine) {
            apc call;
            call.io_routine = c.routine;
            call.error = error;
            call.bytes = static_cast<DWORD>(out.bytes);
            call.overlapped = ov;
            c.thread->apcs.push_back(call);
            wake_for_apc(*c.thread);
        } else if (a.port && packet && !(at_once && (a.modes & FILE_SKIP_COMPLETION_PORT_ON_SUCCESS))) {
            a.port->queue({a.key, static_cast<DWORD>(out.bytes), ov, status});
        }
    });
}

std::shared_ptr<detail::op_lane>& lane_of(io_object& file, overlapped_kind kind) {
    switch (kind) {
    case overlapped_kind::write: return file.async.writes;
    case overlapped_kind::connect: return file.async.connects;
    case overlapped_kind::read:
    case overlapped_kind::transact: break;
    }
    return file.async.reads;
}

} // namespace

BOOL start_overlapped(const overlapped_call& call, overlapped_kind kind, std::shared_ptr<detail::pipe_async_op> op) {
    started_call c{call, {}};
    if (c.routine) c.thread = current_thread();
    LPOVERLAPPED ov = c.overlapped;
    op->tag = ov;
    std::atomic_ref<ULONG_PTR>(ov->Internal).store(STATUS_PENDING, std::memory_order_release);
    if (!c.routine) set_overlapped_event(ov->hEvent, false);
    set_file_event(*c.file, false);
    bool at_once = detail::io_reactor::get().start(lane_of(*c.file, kind), op,
                                                   [c](detail::async_op& done) { report(c, done.result(), false); });
    if (!at_once) return fail(ERROR_IO_PENDING, FALSE);
    auto out = op->result();
    DWORD error = code(out.ec);
    if (op->failed_at_start() || is_error_status(ntstatus_from_win32(error))) {
        // Refused, as a request the driver fails at once: no completion of any kind.
        set_file_event(*c.file, true);
        return fail(error, FALSE);
    }
    // NPFS pends every listen it does not answer with STATUS_PIPE_CONNECTED: a client that
    // arrives while the listen is being made completes it at once here, but the call still
    // says pending (Windows' overlapped ConnectNamedPipe never returns TRUE), and the
    // completion is told as a later one (a packet even with FILE_SKIP_COMPLETION_PORT_ON_SUCCESS).
    bool pended = kind == overlapped_kind::connect && !error;
    report(c, out, !pended);
    if (pended) return fail(ERROR_IO_PENDING, FALSE);
    if (error) return fail(error, FALSE); // ERROR_MORE_DATA: the rest of the message waits
    if (c.transferred) *c.transferred = static_cast<DWORD>(out.bytes);
    return TRUE;
}

void cancel_overlapped(io_object& file, bool all, std::error_code why) {
    auto& reactor = detail::io_reactor::get();
    auto any = [](const detail::async_op&) { return true; };
    std::shared_ptr<detail::op_lane> lanes[] = {file.async.reads, file.async.writes, file.async.connects};
    std::size_t count = all ? 3 : 2;
    std::size_t found = 0;
    for (std::size_t i = 0; i < count; ++i) found += reactor.cancel(lanes[i], any, why);
    if (!found) return;
    for (std::size_t i = 0; i < count; ++i) reactor.settle(lanes[i]);
}

} // namespace npipe::win32

namespace npipe::win32 {
namespace {

std::span<std::byte> bytes(void* p, DWORD n) noexcept { return {static_cast<std::byte*>(p), p ? n : 0}; }
std::span<const std::byte> bytes(const void* p, DWORD n) noexcept {
    return {static_cast<const std::byte*>(p), p ? n : 0};
}

} // namespace

BOOL read_overlapped(const std::shared_ptr<io_object>& io, void* buffer, DWORD size, LPOVERLAPPED ov,
                     LPDWORD transferred, LPOVERLAPPED_COMPLETION_ROUTINE routine) {
    auto* ch = io->channel();
    if (!ch) return fail(ERROR_INVALID_FUNCTION, FALSE);
    return start_overlapped({io, ov, routine, transferred}, overlapped_kind::read,
                            std::make_shared<detail::async_read>(*ch, io, bytes(buffer, size)));
}

BOOL write_overlapped(const std::shared_ptr<io_object>& io, const void* data, DWORD size, LPOVERLAPPED ov,
                      LPDWORD transferred, LPOVERLAPPED_COMPLETION_ROUTINE routine) {
    auto* ch = io->channel();
    if (!ch) return fail(ERROR_INVALID_FUNCTION, FALSE);
    return start_overlapped({io, ov, routine, transferred}, overlapped_kind::write,
                            std::make_shared<detail::async_write>(*ch, io, bytes(data, size)));
}

BOOL transact_overlapped(const std::shared_ptr<io_object>& io, const void* in, DWORD in_size, void* out,
                         DWORD out_size, LPDWORD transferred, LPOVERLAPPED ov) {
    auto* ch = io->channel();
    if (!ch) return fail(ERROR_INVALID_FUNCTION, FALSE);
    return start_overlapped({io, ov, nullptr, transferred}, overlapped_kind::transact,
                            std::make_shared<detail::async_transact>(*ch, io, bytes(in, in_size), bytes(out, out_size)));
}

BOOL connect_overlapped(const std::shared_ptr<io_object>& io, LPOVERLAPPED ov) {
    auto* s = io->server();
    if (!s) return fail(ERROR_INVALID_FUNCTION, FALSE);
    return start_overlapped({io, ov, nullptr, nullptr}, overlapped_kind::connect,
                            std::make_shared<detail::async_connect>(*s, io));
}

} // namespace npipe::win32
