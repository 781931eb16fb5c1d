// GetProcessHeap, HeapAlloc/ReAlloc/Free/Size, LocalAlloc/Free/Size/Lock/Unlock and the
// GlobalAlloc family. Every block carries a small header with its requested size, so HeapSize and
// GlobalSize answer as Windows does and LocalFree can free what FormatMessage allocated.
//
// Nothing here moves memory: a moveable block (LMEM_MOVEABLE, GMEM_MOVEABLE) is a fixed one whose
// handle is its address. Its header still keeps the lock count, so Local/GlobalLock and Unlock
// answer exactly as Windows does; a moveable block of 0 bytes is "discarded", as on Windows.
#include "win32/kernel_object.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace {

struct alignas(16) block_header {
    SIZE_T size;
    std::uint32_t magic;
    std::uint16_t kind;  // block_kind bits
    std::uint16_t locks; // moveable blocks: Local/GlobalLock minus Unlock calls
};
static_assert(sizeof(block_header) == 16);
constexpr std::uint32_t block_magic = 0x6e706970u; // "npip"

enum block_kind : std::uint16_t { fixed_block = 0, moveable_block = 1, discarded_block = 2 };
constexpr std::uint16_t max_locks = 0xFF; // LMEM_LOCKCOUNT: the count stops there

std::mutex lock_counts; // guards block_header::locks

char process_heap_marker;

HANDLE process_heap() noexcept { return &process_heap_marker; }

void* allocate(SIZE_T bytes, bool zero, std::uint16_t kind = fixed_block) noexcept {
    if (bytes > SIZE_MAX - sizeof(block_header)) return nullptr;
    void* raw = zero ? std::calloc(1, sizeof(block_header) + bytes) : std::malloc(sizeof(block_header) + bytes);
    if (!raw) return nullptr;
    auto* h = static_cast<block_header*>(raw);
    h->size = bytes;
    h->magic = block_magic;
    h->kind = kind;
    h->locks = 0;
    return h + 1;
}

block_header* header_of(const void* p) noexcept {
    auto* h = const_cast<block_header*>(static_cast<const block_header*>(p)) - 1;
    return h->magic == block_magic ? h : nullptr;
}

void release(block_header* h) noexcept {
    h->magic = 0;
    std::free(h);
}

/// LocalAlloc and GlobalAlloc: the flags they share have the same values (LMEM_x == GMEM_x).
HLOCAL allocate_local(UINT flags, SIZE_T bytes) noexcept {
    bool moveable = (flags & LMEM_MOVEABLE) != 0;
    std::uint16_t kind = !moveable ? fixed_block : bytes == 0 ? moveable_block | discarded_block : moveable_block;
    void* p = allocate(bytes, (flags & LMEM_ZEROINIT) != 0, kind);
    if (!p) return npipe::win32::fail(ERROR_NOT_ENOUGH_MEMORY, HLOCAL{nullptr});
    return p;
}

SIZE_T size_of(HLOCAL mem) noexcept {
    block_header* h = mem ? header_of(mem) : nullptr;
    if (!h) return npipe::win32::fail(ERROR_INVALID_HANDLE, SIZE_T{0});
    return h->size;
}

/// Local/GlobalLock: the block's address; a moveable block counts one more lock. NULL is a
/// pointer nothing can be read at: NULL, and no error, as Windows answers.
LPVOID lock(HLOCAL mem) noexcept {
    if (!mem) return nullptr;
    block_header* h = header_of(mem);
    if (!h) return npipe::win32::fail(ERROR_INVALID_HANDLE, LPVOID{nullptr});
    if (h->kind & discarded_block) return npipe::win32::fail(ERROR_DISCARDED, LPVOID{nullptr});
    if (h->kind & moveable_block) {
        std::lock_guard guard(lock_counts);
        if (h->locks < max_locks) ++h->locks;
    }
    return mem;
}

/// Local/GlobalUnlock of a moveable block: TRUE while it stays locked; FALSE with NO_ERROR when
/// this was the last lock, with ERROR_NOT_LOCKED when it was not locked.
BOOL unlock_moveable(block_header* h) noexcept {
    std::lock_guard guard(lock_counts);
    if (h->locks == 0) return npipe::win32::fail(ERROR_NOT_LOCKED, FALSE);
    if (--h->locks > 0) return TRUE;
    return npipe::win32::fail(NO_ERROR, FALSE);
}

} // namespace

using namespace npipe::win32;

extern "C" {

HANDLE WINAPI GetProcessHeap(void) { return process_heap(); }

LPVOID WINAPI HeapAlloc(HANDLE hHeap, DWORD dwFlags, SIZE_T dwBytes) {
    if (hHeap != process_heap()) return nullptr;
    return allocate(dwBytes, (dwFlags & HEAP_ZERO_MEMORY) != 0);
}

LPVOID WINAPI HeapReAlloc(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem, SIZE_T dwBytes) {
    if (hHeap != process_heap() || !lpMem) return nullptr;
    block_header* h = header_of(lpMem);
    if (!h) return nullptr;
    SIZE_T old = h->size;
    void* fresh = allocate(dwBytes, (dwFlags & HEAP_ZERO_MEMORY) != 0);
    if (!fresh) return nullptr;
    std::memcpy(fresh, lpMem, old < dwBytes ? old : dwBytes);
    release(h);
    return fresh;
}

BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem) {
    (void)dwFlags;
    if (hHeap != process_heap()) return fail(ERROR_INVALID_HANDLE, FALSE);
    if (!lpMem) return TRUE;
    block_header* h = header_of(lpMem);
    if (!h) return fail(ERROR_INVALID_PARAMETER, FALSE);
    release(h);
    return TRUE;
}

SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem) {
    (void)dwFlags;
    if (hHeap != process_heap() || !lpMem) return static_cast<SIZE_T>(-1);
    block_header* h = header_of(lpMem);
    return h ? h->size : static_cast<SIZE_T>(-1);
}

HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes) { return allocate_local(uFlags, uBytes); }

HLOCAL WINAPI LocalFree(HLOCAL hMem) {
    if (!hMem) return nullptr;
    block_header* h = header_of(hMem);
    if (!h) return fail(ERROR_INVALID_HANDLE, hMem);
    release(h); // a locked block too, as on Windows
    return nullptr;
}

SIZE_T WINAPI LocalSize(HLOCAL hMem) { return size_of(hMem); }

LPVOID WINAPI LocalLock(HLOCAL hMem) { return lock(hMem); }

BOOL WINAPI LocalUnlock(HLOCAL hMem) {
    if (!hMem) return fail(ERROR_NOT_LOCKED, FALSE); // NULL, like fixed memory, is never locked
    block_header* h = header_of(hMem);
    if (!h) return fail(ERROR_INVALID_HANDLE, FALSE);
    if (!(h->kind & moveable_block)) return fail(ERROR_NOT_LOCKED, FALSE);
    return unlock_moveable(h);
}

HGLOBAL WINAPI GlobalAlloc(UINT uFlags, SIZE_T dwBytes) {
    // Unlike LocalAlloc, GlobalAlloc makes no fixed block of 0 bytes: it makes one of 1 byte.
    if (!(uFlags & GMEM_MOVEABLE) && dwBytes == 0) dwBytes = 1;
    return allocate_local(uFlags, dwBytes);
}

HGLOBAL WINAPI GlobalFree(HGLOBAL hMem) { return LocalFree(hMem); }

SIZE_T WINAPI GlobalSize(HGLOBAL hMem) { return size_of(hMem); }

LPVOID WINAPI GlobalLock(HGLOBAL hMem) { return lock(hMem); }

BOOL WINAPI GlobalUnlock(HGLOBAL hMem) {
    // Windows' answers: fixed memory and NULL are TRUE without an error, a bad handle TRUE with
    // ERROR_INVALID_HANDLE.
    if (!hMem) return TRUE;
    block_header* h = header_of(hMem);
    if (!h) return fail(ERROR_INVALID_HANDLE, TRUE);
    if (!(h->kind & moveable_block)) return TRUE;
    return unlock_moveable(h);
}

} // extern "C"
