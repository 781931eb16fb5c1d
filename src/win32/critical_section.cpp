// Critical sections: a recursive lock inside Windows' CRITICAL_SECTION layout.
//
// LockCount is the lock word of a futex mutex (0 free, 1 held, 2 held with sleepers; Windows
// gives it another meaning, but the fields are documented as opaque), OwningThread the owner's
// thread id and RecursionCount how often it entered. std::atomic_ref's wait/notify sleep on the
// word itself (a futex on Linux), so an uncontended Enter/Leave is one atomic each.
#include "win32/kernel_object.hpp"

#include <atomic>
#include <cstdint>

namespace npipe::win32 {
namespace {

constexpr LONG lock_free = 0, lock_held = 1, lock_contended = 2;

HANDLE self_id() noexcept {
    thread_local DWORD tid = GetCurrentThreadId();
    return reinterpret_cast<HANDLE>(static_cast<uintptr_t>(tid));
}

std::atomic_ref<LONG> word(LPCRITICAL_SECTION cs) noexcept { return std::atomic_ref<LONG>(cs->LockCount); }
std::atomic_ref<HANDLE> owner(LPCRITICAL_SECTION cs) noexcept { return std::atomic_ref<HANDLE>(cs->OwningThread); }

bool try_take(LPCRITICAL_SECTION cs) noexcept {
    LONG expected = lock_free;
    return word(cs).compare_exchange_strong(expected, lock_held, std::memory_order_acquire);
}

void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/// Takes the lock word, spinning first, then sleeping (marking it contended).
void take(LPCRITICAL_SECTION cs) noexcept {
    for (ULONG_PTR i = 0; i < cs->SpinCount; ++i) {
        if (word(cs).load(std::memory_order_relaxed) == lock_free && try_take(cs)) return;
        spin_pause();
    }
    if (try_take(cs)) return;
    while (word(cs).exchange(lock_contended, std::memory_order_acquire) != lock_free)
        word(cs).wait(lock_contended, std::memory_order_relaxed);
}

void become_owner(LPCRITICAL_SECTION cs) noexcept {
    owner(cs).store(self_id(), std::memory_order_relaxed);
    cs->RecursionCount = 1;
}

void initialize(LPCRITICAL_SECTION cs, DWORD spin) noexcept {
    cs->DebugInfo = nullptr;
    cs->LockCount = lock_free;
    cs->RecursionCount = 0;
    cs->OwningThread = nullptr;
    cs->LockSemaphore = nullptr;
    cs->SpinCount = spin;
}

} // namespace
} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

VOID WINAPI InitializeCriticalSection(LPCRITICAL_SECTION lpCriticalSection) { initialize(lpCriticalSection, 0); }

BOOL WINAPI InitializeCriticalSectionAndSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount) {
    initialize(lpCriticalSection, dwSpinCount);
    return TRUE;
}

BOOL WINAPI InitializeCriticalSectionEx(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount, DWORD Flags) {
    if (Flags & ~DWORD{CRITICAL_SECTION_NO_DEBUG_INFO}) return fail(DWORD{ERROR_INVALID_PARAMETER}, FALSE);
    initialize(lpCriticalSection, dwSpinCount);
    return TRUE;
}

DWORD WINAPI SetCriticalSectionSpinCount(LPCRITICAL_SECTION lpCriticalSection, DWORD dwSpinCount) {
    auto previous = static_cast<DWORD>(lpCriticalSection->SpinCount);
    lpCriticalSection->SpinCount = dwSpinCount;
    return previous;
}

VOID WINAPI EnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (owner(lpCriticalSection).load(std::memory_order_relaxed) == self_id()) {
        ++lpCriticalSection->RecursionCount;
        return;
    }
    take(lpCriticalSection);
    become_owner(lpCriticalSection);
}

BOOL WINAPI TryEnterCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (owner(lpCriticalSection).load(std::memory_order_relaxed) == self_id()) {
        ++lpCriticalSection->RecursionCount;
        return TRUE;
    }
    if (!try_take(lpCriticalSection)) return FALSE;
    become_owner(lpCriticalSection);
    return TRUE;
}

VOID WINAPI LeaveCriticalSection(LPCRITICAL_SECTION lpCriticalSection) {
    if (--lpCriticalSection->RecursionCount > 0) return;
    owner(lpCriticalSection).store(nullptr, std::memory_order_relaxed);
    if (word(lpCriticalSection).exchange(lock_free, std::memory_order_release) == lock_contended)
        word(lpCriticalSection).notify_one();
}

VOID WINAPI DeleteCriticalSection(LPCRITICAL_SECTION lpCriticalSection) { initialize(lpCriticalSection, 0); }

} // extern "C"
