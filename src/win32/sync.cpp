// Events, waits, sleeping, APCs, threads and the last-error value.
#include "impersonation.hpp"
#include "io_reactor.hpp"
#include "os/credentials.hpp"
#include "win32/io_call.hpp"
#include "win32/kernel_object.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <functional>
#include <ctime>
#include <pthread.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace npipe::win32 {
namespace {

thread_local DWORD t_last_error = 0;

class event_object final : public object {
public:
    event_object(bool manual, bool initial) : manual_(manual), state(initial) {}
    object_kind kind() const noexcept override { return object_kind::event; }
    bool signaled() const noexcept override { return state; }
    void acquire() noexcept override {
        if (!manual_) state = false;
    }
    const bool manual_;
    bool state; // guarded by dispatch().mutex
};

pid_t os_thread_id() noexcept { return os::thread_id(); }

/// Marks a thread that CreateThread did not start as exited when it ends.
struct adopted_thread_guard {
    std::shared_ptr<thread_object> thread;
    ~adopted_thread_guard() {
        if (!thread) return;
        {
            std::lock_guard lock(dispatch().mutex);
            thread->exited = true;
            if (thread->exit_code == STILL_ACTIVE) thread->exit_code = 0; // unless ExitThread set it
        }
        notify_waiters();
    }
};

thread_local std::shared_ptr<thread_object> t_self;

using clock = std::chrono::steady_clock;

std::optional<clock::time_point> deadline_after(DWORD ms) {
    if (ms == INFINITE) return std::nullopt;
    return clock::now() + std::chrono::milliseconds(ms);
}

} // namespace

dispatcher& dispatch() noexcept {
    static dispatcher* d = new dispatcher; // never destroyed: used until the last thread ends
    return *d;
}

void notify_waiters() noexcept {
    dispatch().changed.notify_all();
    detail::io_reactor::interrupt_leader();
}

namespace {

/// Polls for the reactor instead of sleeping, when this thread may and nobody else does.
bool led(std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline) {
    // An impersonating thread does not poll: the operations it would step could open
    // connections, which would then carry the client's credentials instead of the process's.
    auto* reactor = detail::io_reactor::existing();
    if (!reactor || detail::identity_before_impersonation() || !reactor->try_lead()) return false;
    lock.unlock();
    reactor->lead(deadline);
    lock.lock();
    return true;
}

void sleep_on(std::condition_variable& cv, std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline) {
    if (deadline) cv.wait_until(lock, *deadline);
    else cv.wait(lock);
}

} // namespace

void poll_if_due() noexcept {
    if (!detail::identity_before_impersonation()) detail::io_reactor::poll_if_due(); // see led()
}

void wait_for_change(std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline) {
    if (!led(lock, deadline)) sleep_on(dispatch().changed, lock, deadline);
}

void wait_for_change_at(std::unique_lock<std::mutex>& lock, std::optional<clock::time_point> deadline, sleep_spot spot) {
    if (led(lock, deadline)) return;
    auto self = current_thread();
    self->sleeping_at = &spot.cv;
    ++spot.sleepers;
    sleep_on(spot.cv, lock, deadline);
    --spot.sleepers;
    self->sleeping_at = nullptr;
}

void wake_for_apc(thread_object& t) noexcept {
    if (t.sleeping_at) t.sleeping_at->notify_all();
}

void set_last_error(DWORD code) noexcept { t_last_error = code; }
DWORD last_error() noexcept { return t_last_error; }

std::shared_ptr<thread_object> current_thread() {
    if (!t_self) {
        thread_local adopted_thread_guard guard;
        t_self = std::make_shared<thread_object>();
        t_self->tid = os_thread_id();
        guard.thread = t_self;
    }
    return t_self;
}

bool run_apcs(std::unique_lock<std::mutex>& lock) {
    auto self = current_thread();
    if (self->apcs.empty()) return false;
    // Windows delivers every queued user APC before the alertable wait returns.
    while (!self->apcs.empty()) {
        apc next = self->apcs.front();
        self->apcs.pop_front();
        lock.unlock();
        if (next.io_routine) next.io_routine(next.error, next.bytes, next.overlapped);
        else next.function(next.argument);
        lock.lock();
    }
    return true;
}

namespace {

/// The one wait loop behind every Wait* function and SleepEx.
DWORD wait_objects(const std::vector<std::shared_ptr<object>>& objects, bool all, DWORD ms, bool alertable) {
    auto deadline = deadline_after(ms);
    auto& d = dispatch();
    std::shared_ptr<thread_object> self = alertable ? current_thread() : nullptr;
    std::unique_lock lock(d.mutex);
    for (;;) {
        if (!objects.empty()) {
            if (all) {
                if (std::all_of(objects.begin(), objects.end(), [](auto& o) { return o->signaled(); })) {
                    for (auto& o : objects) o->acquire();
                    return WAIT_OBJECT_0;
                }
            } else {
                for (std::size_t i = 0; i < objects.size(); ++i)
                    if (objects[i]->signaled()) {
                        objects[i]->acquire();
                        return WAIT_OBJECT_0 + static_cast<DWORD>(i);
                    }
            }
        }
        if (alertable && run_apcs(lock)) return WAIT_IO_COMPLETION;
        if (deadline && clock::now() >= *deadline) return WAIT_TIMEOUT;
        wait_for_change(lock, deadline);
    }
}

DWORD wait_handles(DWORD count, const HANDLE* handles, BOOL wait_all, DWORD ms, BOOL alertable) {
    if (count == 0 || count > MAXIMUM_WAIT_OBJECTS || !handles) return fail(ERROR_INVALID_PARAMETER, WAIT_FAILED);
    if (!wait_all) {
        // An object signaled already (a server loop's usual case) ends the wait with no
        // reference taken and nothing allocated; the objects are checked before APCs, as below.
        DWORD hit = WAIT_FAILED;
        bool looked = visit_objects(handles, count, [&](object* const* objects) {
            std::lock_guard lock(dispatch().mutex);
            for (DWORD i = 0; i < count; ++i)
                if (objects[i]->signaled()) {
                    objects[i]->acquire();
                    hit = WAIT_OBJECT_0 + i;
                    return;
                }
        });
        if (looked && hit != WAIT_FAILED) {
            poll_if_due(); // a busy loop: it polls now and then, as it never sleeps
            return hit;
        }
    }
    std::vector<std::shared_ptr<object>> objects;
    objects.reserve(count);
    if (!lookup_all(handles, count, objects)) return fail(ERROR_INVALID_HANDLE, WAIT_FAILED);
    // Waiting for all of one object twice is STATUS_INVALID_PARAMETER_MIX on Windows.
    if (wait_all)
        for (auto it = objects.begin(); it != objects.end(); ++it)
            if (std::find(objects.begin(), it, *it) != it) return fail(ERROR_INVALID_PARAMETER, WAIT_FAILED);
    return wait_objects(objects, wait_all != FALSE, ms, alertable != FALSE);
}

// ---- threads -----------------------------------------------------------------------------

struct thread_boot {
    LPTHREAD_START_ROUTINE routine;
    LPVOID parameter;
    std::optional<os::thread_credentials> process_identity; // set when the creator impersonates
    std::shared_ptr<thread_object> thread;
    // CreateThread returns the new thread's kernel id, which only the new thread can learn.
    std::mutex m;
    std::condition_variable cv;
    pid_t tid = 0;
};

/// Ends a CreateThread thread: signals waiters. Runs on the thread's return and during
/// ExitThread's unwinding alike.
struct thread_finish {
    std::shared_ptr<thread_object> thread;
    ~thread_finish() {
        {
            std::lock_guard lock(dispatch().mutex);
            thread->exited = true;
        }
        notify_waiters();
    }
};

void* thread_main(void* arg) {
    auto boot = *static_cast<std::shared_ptr<thread_boot>*>(arg);
    delete static_cast<std::shared_ptr<thread_boot>*>(arg);
    pid_t tid = os_thread_id();
    {
        std::lock_guard lock(dispatch().mutex);
        boot->thread->tid = tid;
    }
    // Linux gives a new thread its creator's identity; Windows starts it as the process.
    if (boot->process_identity) (void)os::restore_identity(*boot->process_identity);
    t_self = boot->thread;
    thread_finish finish{boot->thread};
    auto routine = boot->routine;
    auto parameter = boot->parameter;
    {
        std::lock_guard lock(boot->m);
        boot->tid = tid;
    }
    boot->cv.notify_all();
    boot.reset();
    DWORD code = routine(parameter);
    std::lock_guard lock(dispatch().mutex);
    t_self->exit_code = code;
    return nullptr;
}

} // namespace

void set_overlapped_event_with(HANDLE event, const std::function<void()>& more) {
    event = reinterpret_cast<HANDLE>(reinterpret_cast<std::uintptr_t>(event) & ~std::uintptr_t{1});
    auto e = event ? lookup_as<event_object>(event) : nullptr;
    {
        std::lock_guard lock(dispatch().mutex);
        if (e) e->state = true;
        more();
    }
    notify_waiters();
}

void set_overlapped_event(HANDLE event, bool signaled) noexcept {
    // The low bit of OVERLAPPED.hEvent only says "no completion-port packet"; it is not part of
    // the handle.
    event = reinterpret_cast<HANDLE>(reinterpret_cast<std::uintptr_t>(event) & ~std::uintptr_t{1});
    if (!event) return;
    auto e = lookup_as<event_object>(event);
    if (!e) return;
    {
        std::lock_guard lock(dispatch().mutex);
        e->state = signaled;
    }
    if (signaled) notify_waiters();
}

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

DWORD WINAPI GetLastError(void) { return last_error(); }
VOID WINAPI SetLastError(DWORD dwErrCode) { set_last_error(dwErrCode); }

HANDLE WINAPI CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                           LPCSTR lpName) {
    return guard(HANDLE{nullptr}, [&]() -> HANDLE {
        if (lpName) return fail(ERROR_NOT_SUPPORTED, HANDLE{nullptr}); // no cross-process named events yet
        auto e = std::make_shared<event_object>(bManualReset != FALSE, bInitialState != FALSE);
        HANDLE h = insert_handle(std::move(e), {lpEventAttributes && lpEventAttributes->bInheritHandle, false});
        if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, HANDLE{nullptr});
        set_last_error(0);
        return h;
    });
}

HANDLE WINAPI CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                           LPCWSTR lpName) {
    return guard(HANDLE{nullptr}, [&]() -> HANDLE {
        if (lpName) return fail(ERROR_NOT_SUPPORTED, HANDLE{nullptr});
        return CreateEventA(lpEventAttributes, bManualReset, bInitialState, nullptr);
    });
}

BOOL WINAPI SetEvent(HANDLE hEvent) {
    auto e = lookup_as<event_object>(hEvent);
    if (!e) return fail(ERROR_INVALID_HANDLE, FALSE);
    {
        std::lock_guard lock(dispatch().mutex);
        e->state = true;
    }
    notify_waiters();
    return TRUE;
}

BOOL WINAPI ResetEvent(HANDLE hEvent) {
    auto e = lookup_as<event_object>(hEvent);
    if (!e) return fail(ERROR_INVALID_HANDLE, FALSE);
    std::lock_guard lock(dispatch().mutex);
    e->state = false;
    return TRUE;
}

DWORD WINAPI WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds) {
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds, FALSE);
}

DWORD WINAPI WaitForSingleObjectEx(HANDLE hHandle, DWORD dwMilliseconds, BOOL bAlertable) {
    return wait_handles(1, &hHandle, FALSE, dwMilliseconds, bAlertable);
}

DWORD WINAPI WaitForMultipleObjects(DWORD nCount, const HANDLE* lpHandles, BOOL bWaitAll, DWORD dwMilliseconds) {
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds, FALSE);
}

DWORD WINAPI WaitForMultipleObjectsEx(DWORD nCount, const HANDLE* lpHandles, BOOL bWaitAll, DWORD dwMilliseconds,
                                      BOOL bAlertable) {
    return wait_handles(nCount, lpHandles, bWaitAll, dwMilliseconds, bAlertable);
}

VOID WINAPI Sleep(DWORD dwMilliseconds) {
    if (dwMilliseconds == INFINITE) {
        for (;;) ::pause();
    }
    if (dwMilliseconds == 0) {
        std::this_thread::yield();
        return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(dwMilliseconds));
}

ULONGLONG WINAPI GetTickCount64(void) {
    // CLOCK_BOOTTIME: like Windows' tick count, it goes on while the machine sleeps.
    struct timespec ts {};
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    return static_cast<ULONGLONG>(ts.tv_sec) * 1000u + static_cast<ULONGLONG>(ts.tv_nsec) / 1000000u;
}

DWORD WINAPI GetTickCount(void) { return static_cast<DWORD>(GetTickCount64()); }

DWORD WINAPI SleepEx(DWORD dwMilliseconds, BOOL bAlertable) {
    if (!bAlertable) {
        Sleep(dwMilliseconds);
        return 0;
    }
    return wait_objects({}, false, dwMilliseconds, true) == WAIT_IO_COMPLETION ? WAIT_IO_COMPLETION : 0;
}

DWORD WINAPI QueueUserAPC(PAPCFUNC pfnAPC, HANDLE hThread, ULONG_PTR dwData) {
    auto t = lookup_as<thread_object>(hThread);
    if (!t) return fail(ERROR_INVALID_HANDLE, DWORD{0});
    if (!pfnAPC) return fail(ERROR_INVALID_PARAMETER, DWORD{0});
    {
        std::lock_guard lock(dispatch().mutex);
        if (t->exited) return fail(ERROR_GEN_FAILURE, DWORD{0});
        t->apcs.push_back({pfnAPC, dwData});
        wake_for_apc(*t);
    }
    notify_waiters();
    return 1;
}

HANDLE WINAPI CreateThread(LPSECURITY_ATTRIBUTES lpThreadAttributes, SIZE_T dwStackSize,
                           LPTHREAD_START_ROUTINE lpStartAddress, LPVOID lpParameter, DWORD dwCreationFlags,
                           LPDWORD lpThreadId) {
    return guard(HANDLE{nullptr}, [&]() -> HANDLE {
        if (!lpStartAddress) return fail(ERROR_INVALID_PARAMETER, HANDLE{nullptr});
        if (dwCreationFlags & CREATE_SUSPENDED) return fail(ERROR_NOT_SUPPORTED, HANDLE{nullptr});
        auto thread = std::make_shared<thread_object>();
        HANDLE h = insert_handle(thread, {lpThreadAttributes && lpThreadAttributes->bInheritHandle, false});
        if (!h) return fail(ERROR_NOT_ENOUGH_MEMORY, HANDLE{nullptr});

        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (dwStackSize > 0) pthread_attr_setstacksize(&attr, std::max<SIZE_T>(dwStackSize, PTHREAD_STACK_MIN));
        auto boot = std::make_shared<thread_boot>();
        boot->routine = lpStartAddress;
        boot->parameter = lpParameter;
        boot->thread = thread;
        boot->process_identity = npipe::detail::identity_before_impersonation();
        pthread_t id;
        auto* arg = new std::shared_ptr<thread_boot>(boot);
        int rc = pthread_create(&id, &attr, thread_main, arg);
        pthread_attr_destroy(&attr);
        if (rc != 0) {
            delete arg;
            std::shared_ptr<object> removed;
            (void)remove_handle(h, removed);
            return fail(DWORD{ERROR_NOT_ENOUGH_MEMORY}, HANDLE{nullptr});
        }
        std::unique_lock lock(boot->m);
        boot->cv.wait(lock, [&] { return boot->tid != 0; });
        if (lpThreadId) *lpThreadId = static_cast<DWORD>(boot->tid);
        return h;
    });
}

VOID WINAPI ExitThread(DWORD dwExitCode) {
    auto self = current_thread();
    {
        std::lock_guard lock(dispatch().mutex);
        self->exit_code = dwExitCode;
    }
    // Unwinds the thread (destructors run, then thread_finish marks it exited).
    pthread_exit(nullptr);
}

BOOL WINAPI GetExitCodeThread(HANDLE hThread, LPDWORD lpExitCode) {
    auto t = lookup_as<thread_object>(hThread);
    if (!t) return fail(ERROR_INVALID_HANDLE, FALSE);
    std::lock_guard lock(dispatch().mutex);
    if (lpExitCode) *lpExitCode = t->exited ? t->exit_code : STILL_ACTIVE;
    return TRUE;
}

HANDLE WINAPI GetCurrentThread(void) { return current_thread_pseudo(); }

DWORD WINAPI GetCurrentThreadId(void) { return static_cast<DWORD>(current_thread()->tid); }

} // extern "C"
