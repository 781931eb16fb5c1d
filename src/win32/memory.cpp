// GetProcessHeap, HeapAlloc/ReAlloc/Free/Size, LocalAlloc/LocalFree. Every block carries a
// small header with its requested size, so HeapSize answers as Windows does and LocalFree can
// free what FormatMessage allocated.
#include "win32/kernel_object.hpp"

#include <cstdlib>
#include <cstring>

namespace {

struct alignas(16) block_header {
    SIZE_T size;
    std::uint64_t magic;
};
constexpr std::uint64_t block_magic = 0x6e70697065686561ULL; // "npipehea"

char process_heap_marker;

HANDLE process_heap() noexcept { return &process_heap_marker; }

void* allocate(SIZE_T bytes, bool zero) noexcept {
    if (bytes > SIZE_MAX - sizeof(block_header)) return nullptr;
    void* raw = zero ? std::calloc(1, sizeof(block_header) + bytes) : std::malloc(sizeof(block_header) + bytes);
    if (!raw) return nullptr;
    auto* h = static_cast<block_header*>(raw);
    h->size = bytes;
    h->magic = block_magic;
    return h + 1;
}

block_header* header_of(const void* p) noexcept {
    auto* h = const_cast<block_header*>(static_cast<const block_header*>(p)) - 1;
    return h->magic == block_magic ? h : nullptr;
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
    h->magic = 0;
    std::free(h);
    return fresh;
}

BOOL WINAPI HeapFree(HANDLE hHeap, DWORD dwFlags, LPVOID lpMem) {
    (void)dwFlags;
    if (hHeap != process_heap()) return fail(ERROR_INVALID_HANDLE, FALSE);
    if (!lpMem) return TRUE;
    block_header* h = header_of(lpMem);
    if (!h) return fail(ERROR_INVALID_PARAMETER, FALSE);
    h->magic = 0;
    std::free(h);
    return TRUE;
}

SIZE_T WINAPI HeapSize(HANDLE hHeap, DWORD dwFlags, LPCVOID lpMem) {
    (void)dwFlags;
    if (hHeap != process_heap() || !lpMem) return static_cast<SIZE_T>(-1);
    block_header* h = header_of(lpMem);
    return h ? h->size : static_cast<SIZE_T>(-1);
}

HLOCAL WINAPI LocalAlloc(UINT uFlags, SIZE_T uBytes) {
    // LMEM_MOVEABLE memory is never moved here, so the "handle" is the pointer itself.
    void* p = allocate(uBytes, (uFlags & LMEM_ZEROINIT) != 0);
    if (!p) return fail(ERROR_NOT_ENOUGH_MEMORY, HLOCAL{nullptr});
    return p;
}

HLOCAL WINAPI LocalFree(HLOCAL hMem) {
    if (!hMem) return nullptr;
    block_header* h = header_of(hMem);
    if (!h) return fail(ERROR_INVALID_HANDLE, hMem);
    h->magic = 0;
    std::free(h);
    return nullptr;
}

} // extern "C"
