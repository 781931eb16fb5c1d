// What a program asks about itself and the machine: the path of its executable
// (GetModuleFileName), the processors it may run on (Get/SetProcessAffinityMask) and the machine
// (GetSystemInfo).
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include "os/cpu.hpp"
#include "os/process.hpp"
#include "win32_errors.hpp"

#include <bit>
#include <string>
#include <unistd.h>
#include <utility>

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept { return static_cast<DWORD>(detail::to_win32(ec).value()); }

/// Stores a module's path as GetModuleFileName does: whole and terminated when it fits;
/// otherwise nSize - 1 characters and a NUL, nSize returned, ERROR_INSUFFICIENT_BUFFER.
template <class C>
DWORD store_path(C* buffer, DWORD size, const std::basic_string<C>& path) noexcept {
    if (size == 0) return fail(ERROR_INSUFFICIENT_BUFFER, DWORD{0});
    if (!buffer) return fail(ERROR_NOACCESS, DWORD{0});
    if (path.size() < size) {
        path.copy(buffer, path.size());
        buffer[path.size()] = 0;
        set_last_error(ERROR_SUCCESS);
        return static_cast<DWORD>(path.size());
    }
    path.copy(buffer, size - 1);
    buffer[size - 1] = 0;
    return fail(ERROR_INSUFFICIENT_BUFFER, size);
}

/// The process a handle names, as a pid; or the error to report.
std::pair<pid_t, DWORD> process_of(HANDLE h) {
    auto p = lookup_as<process_object>(h);
    if (!p) return {0, ERROR_INVALID_HANDLE};
    if (p->self) return {::getpid(), ERROR_SUCCESS}; // not p->pid: the process may have forked since
    std::lock_guard lock(dispatch().mutex);
    // A child that has exited has been reaped: its number may belong to another process by now.
    if (p->exited) return {0, ERROR_ACCESS_DENIED};
    return {p->pid, ERROR_SUCCESS};
}

void describe_system(LPSYSTEM_INFO info) noexcept {
    if (!info) return;
    *info = SYSTEM_INFO{};
#if defined(__x86_64__)
    info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    info->dwProcessorType = PROCESSOR_AMD_X8664;
#elif defined(__aarch64__)
    info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM64;
#elif defined(__i386__)
    info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_INTEL;
    info->dwProcessorType = PROCESSOR_INTEL_PENTIUM;
#elif defined(__arm__)
    info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_ARM;
#else
    info->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_UNKNOWN;
#endif
    long page = ::sysconf(_SC_PAGESIZE);
    info->dwPageSize = page > 0 ? static_cast<DWORD>(page) : 4096u;
    // Windows' bounds of the user address space; Linux's lie outside them on every 64-bit ABI.
    info->lpMinimumApplicationAddress = reinterpret_cast<LPVOID>(std::uintptr_t{0x10000});
    info->lpMaximumApplicationAddress = reinterpret_cast<LPVOID>(
        sizeof(void*) == 8 ? static_cast<std::uintptr_t>(0x7FFFFFFEFFFFull) : std::uintptr_t{0x7FFEFFFF});
    auto cpus = os::online_cpus();
    info->dwActiveProcessorMask = cpus ? cpus.value : 1u;
    info->dwNumberOfProcessors = static_cast<DWORD>(std::popcount(info->dwActiveProcessorMask));
    info->dwAllocationGranularity = 65536;
}

} // namespace
} // namespace npipe::win32

using namespace npipe;
using namespace npipe::win32;

extern "C" {

DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize) {
    if (hModule) return fail(ERROR_MOD_NOT_FOUND, DWORD{0}); // no modules but the program
    return guard(DWORD{0}, [&] {
        auto path = os::own_executable();
        if (!path) return fail(code(path.error), DWORD{0});
        return store_path(lpFilename, nSize, path.value);
    });
}

DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize) {
    if (hModule) return fail(ERROR_MOD_NOT_FOUND, DWORD{0});
    return guard(DWORD{0}, [&] {
        auto path = os::own_executable();
        if (!path) return fail(code(path.error), DWORD{0});
        return store_path(lpFilename, nSize, to_utf16(path.value));
    });
}

BOOL WINAPI GetProcessAffinityMask(HANDLE hProcess, PDWORD_PTR lpProcessAffinityMask,
                                   PDWORD_PTR lpSystemAffinityMask) {
    return guard(FALSE, [&] {
        auto [pid, error] = process_of(hProcess);
        if (error) return fail(error, FALSE);
        auto process = os::thread_affinity(pid); // its main thread's, which the others started with
        if (!process) return fail(code(process.error), FALSE);
        auto system = os::online_cpus();
        if (!system) return fail(code(system.error), FALSE);
        if (lpProcessAffinityMask) *lpProcessAffinityMask = process.value;
        if (lpSystemAffinityMask) *lpSystemAffinityMask = system.value;
        return TRUE;
    });
}

BOOL WINAPI SetProcessAffinityMask(HANDLE hProcess, DWORD_PTR dwProcessAffinityMask) {
    return guard(FALSE, [&] {
        auto [pid, error] = process_of(hProcess);
        if (error) return fail(error, FALSE);
        auto system = os::online_cpus();
        if (!system) return fail(code(system.error), FALSE);
        if (dwProcessAffinityMask == 0 || (dwProcessAffinityMask & ~system.value))
            return fail(ERROR_INVALID_PARAMETER, FALSE);
        if (auto ec = os::set_process_affinity(pid, dwProcessAffinityMask)) return fail(code(ec), FALSE);
        return TRUE;
    });
}

VOID WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo) { describe_system(lpSystemInfo); }

VOID WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo) { describe_system(lpSystemInfo); }

} // extern "C"
