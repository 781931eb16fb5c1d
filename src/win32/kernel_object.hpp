// win32/kernel_object.hpp - what a HANDLE refers to, the per-process handle table, and the
// dispatcher that every wait in the process goes through.
//
// Objects are reference-counted (std::shared_ptr): a handle holds one reference, and so does
// every call that is using the object, so CloseHandle in one thread never frees an object that a
// ReadFile in another thread is still blocked in - the object goes when the last user lets go,
// as on Windows.
//
// Waiting: one mutex (dispatcher::mutex) guards the signaled state of every waitable object and
// every thread's APC queue; one condition variable is notified whenever any of it changes.
// Waits re-check their objects on each notification. Pipe programs wait on a handful of objects,
// so simplicity beats per-object wait lists here.
#pragma once

#include <npipe/win32.h>

#include "pipe_ops.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <system_error>
#include <optional>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace npipe::win32 {

struct dispatcher {
    std::mutex mutex;
    std::condition_variable changed;
};
dispatcher& dispatch() noexcept;

/// Wakes every waiter after a change of some object's state (call with the mutex held or not).
void notify_waiters() noexcept;
/// A wait answered at once (no lock held): polls for the reactor when that is due
/// (io_reactor::poll_if_due), unless the thread impersonates.
void poll_if_due() noexcept;
/// Sleeps until notify_waiters() or `deadline` (`lock` holds dispatch().mutex, as after checking
/// what the caller waits for). Meanwhile the thread may poll for the overlapped operations of
/// the process (io_reactor::lead), so that what it waits for completes here with no wake-up
/// between; it may return early, as a condition variable may: the caller checks again.
void wait_for_change(std::unique_lock<std::mutex>& lock,
                     std::optional<std::chrono::steady_clock::time_point> deadline);

/// A place to sleep other than the one every notify_waiters() wakes: a completion port's
/// waiters sleep on the port's own condition variable, so that a packet wakes one of them, not
/// every waiting thread of the process. `sleepers` counts who sleeps there (not who polls).
struct sleep_spot {
    std::condition_variable& cv;
    std::size_t& sleepers;
};
/// wait_for_change(), sleeping at `spot` when the thread does not poll. While it sleeps there
/// an APC queued to the thread wakes it too (wake_for_apc).
void wait_for_change_at(std::unique_lock<std::mutex>& lock,
                        std::optional<std::chrono::steady_clock::time_point> deadline, sleep_spot spot);

enum class object_kind { event, thread, process, named_pipe, anonymous_pipe, file, completion_port };

/// Anything a HANDLE can refer to.
class object {
public:
    virtual ~object() = default;
    virtual object_kind kind() const noexcept = 0;
    /// Called with dispatch().mutex held.
    virtual bool signaled() const noexcept = 0;
    /// A wait was satisfied by this object (auto-reset events reset). Mutex held.
    virtual void acquire() noexcept {}
    /// The last handle to the object was closed while a call still uses it (a ReadFile blocked
    /// in another thread, say): as Windows' cleanup does, make that call return.
    virtual void last_handle_closed() noexcept {}

    /// How many handles refer to the object (the handle table keeps it).
    std::atomic<int> handle_count{0};
};

/// A queued user APC: QueueUserAPC's function and argument, or an I/O completion routine
/// (ReadFileEx, WriteFileEx) with what it is told.
struct apc {
    PAPCFUNC function = nullptr;
    ULONG_PTR argument = 0;
    LPOVERLAPPED_COMPLETION_ROUTINE io_routine = nullptr;
    DWORD error = 0, bytes = 0;
    LPOVERLAPPED overlapped = nullptr;
};

/// A thread as Windows sees it: signaled once it has exited; has an APC queue.
class thread_object final : public object {
public:
    object_kind kind() const noexcept override { return object_kind::thread; }
    bool signaled() const noexcept override { return exited; }

    // Guarded by dispatch().mutex.
    bool exited = false;
    DWORD exit_code = STILL_ACTIVE;
    std::deque<apc> apcs;
    /// Where the thread sleeps when that is not dispatch().changed (wait_for_change_at).
    std::condition_variable* sleeping_at = nullptr;
    pid_t tid = 0;
    /// CancelSynchronousIo's way into the synchronous pipe call this thread runs.
    detail::sync_cancel sync_io;
};

/// A process: signaled once it has exited.
class process_object final : public object {
public:
    object_kind kind() const noexcept override { return object_kind::process; }
    bool signaled() const noexcept override { return exited; }

    pid_t pid = 0;
    bool self = false;
    // Guarded by dispatch().mutex.
    bool exited = false;
    DWORD exit_code = STILL_ACTIVE;
    std::optional<DWORD> terminated_with; // TerminateProcess's code, reported instead of SIGKILL's
};

/// This process (what GetCurrentProcess() refers to).
std::shared_ptr<process_object> current_process();

/// The calling thread's object (made on first use for threads that CreateThread did not start;
/// marked exited when such a thread ends).
std::shared_ptr<thread_object> current_thread();

/// Runs every APC queued to the calling thread; true if there was one. Takes the dispatcher
/// lock `lock` (held on entry and on return), releasing it while an APC runs.
bool run_apcs(std::unique_lock<std::mutex>& lock);
/// After an APC was queued to `t` (mutex held): wakes it where it sleeps, if not where
/// notify_waiters() reaches.
void wake_for_apc(thread_object& t) noexcept;

// ---- handle table --------------------------------------------------------------------------

/// Pseudo handles, as Windows defines them.
inline HANDLE current_process_pseudo() noexcept { return reinterpret_cast<HANDLE>(static_cast<intptr_t>(-1)); }
inline HANDLE current_thread_pseudo() noexcept { return reinterpret_cast<HANDLE>(static_cast<intptr_t>(-2)); }

struct handle_flags {
    bool inherit = false;
    bool protect_from_close = false;
};

/// Enters `obj` into the table; nullptr when the table is full (ERROR_NO_SYSTEM_RESOURCES-like:
/// reported as ERROR_NOT_ENOUGH_MEMORY).
HANDLE insert_handle(std::shared_ptr<object> obj, handle_flags flags = {});
/// Enters `obj` at a given handle value (a handle inherited from the parent). False if taken.
bool insert_handle_at(HANDLE value, std::shared_ptr<object> obj, handle_flags flags);
/// The object behind a handle (pseudo handles included); nullptr for an invalid handle.
std::shared_ptr<object> lookup(HANDLE h);
/// The objects of `count` handles, appended to `out`; false (and `out` partly filled) when one
/// of them is not a handle.
bool lookup_all(const HANDLE* hs, std::size_t count, std::vector<std::shared_ptr<object>>& out);
/// Runs `f` over the objects of `count` handles (at most MAXIMUM_WAIT_OBJECTS) while the handle
/// table's lock keeps them from closing, taking no references (lock order: the table, then
/// dispatch().mutex). False, without calling `f`, when one of them is not a handle or is a pseudo
/// handle.
bool visit_objects(const HANDLE* hs, std::size_t count, const std::function<void(object* const*)>& f);
/// The object and its flags; nullopt for an invalid or pseudo handle.
std::optional<std::pair<std::shared_ptr<object>, handle_flags>> lookup_entry(HANDLE h);
/// Removes a handle. ERROR_INVALID_HANDLE for a bad or protected one (0 on success).
DWORD remove_handle(HANDLE h, std::shared_ptr<object>& removed);
bool set_handle_flags(HANDLE h, DWORD mask, DWORD flags);
/// Every handle marked inheritable, with its object.
std::vector<std::pair<HANDLE, std::shared_ptr<object>>> inheritable_handles();

/// The object behind `h` if it is of type T (dynamic type check); else nullptr.
template <class T>
std::shared_ptr<T> lookup_as(HANDLE h) {
    return std::dynamic_pointer_cast<T>(lookup(h));
}

// ---- last error ----------------------------------------------------------------------------

void set_last_error(DWORD code) noexcept;
DWORD last_error() noexcept;

/// Sets the last error from a std::error_code (Win32 category, or errno mapped through the one
/// errno table) and returns `failure` - for `return fail(ec, FALSE);`.
template <class T>
T fail(DWORD code, T failure) noexcept {
    set_last_error(code);
    return failure;
}

/// Runs an API function's body; an exception (out of memory, or a failure the C++ core reports
/// by throwing) becomes the function's failure value and a Win32 error instead of crossing into
/// C code. Not noexcept: a thread ending through ExitThread unwinds through here.
template <class T, class F>
T guard(T failure, F&& body) {
    try {
        return body();
    } catch (const std::bad_alloc&) {
        return fail(DWORD{ERROR_NOT_ENOUGH_MEMORY}, failure);
    } catch (const std::system_error& e) {
        return fail(static_cast<DWORD>(e.code().category() == std::system_category() ||
                                               e.code().category() == std::generic_category()
                                           ? ERROR_INTERNAL_ERROR
                                           : e.code().value()),
                    failure);
    } catch (const std::exception&) {
        return fail(DWORD{ERROR_INTERNAL_ERROR}, failure);
    }
}

} // namespace npipe::win32
