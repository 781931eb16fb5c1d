/* What a program asks about time, itself and the machine: QueryPerformanceCounter/Frequency,
 * GetModuleFileNameA/W, Get/SetProcessAffinityMask, GetSystemInfo. */
#include "harness.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

TEST(performance_frequency_is_10_mhz) {
    LARGE_INTEGER f;
    f.QuadPart = 0;
    CHECK_OK(QueryPerformanceFrequency(&f));
    CHECK_EQ(f.QuadPart, 10000000);
    CHECK_FAILS(QueryPerformanceFrequency(NULL), ERROR_NOACCESS);
}

TEST(performance_counter_counts_time) {
    LARGE_INTEGER a, b, c;
    CHECK_OK(QueryPerformanceCounter(&a));
    CHECK_OK(QueryPerformanceCounter(&b));
    CHECK(a.QuadPart > 0);
    CHECK(b.QuadPart >= a.QuadPart); /* never goes back */
    Sleep(50);
    CHECK_OK(QueryPerformanceCounter(&c));
    /* 50 ms are 500000 ticks of 100 ns; allow a slow machine 5 s. */
    CHECK(c.QuadPart - b.QuadPart >= 490000);
    CHECK(c.QuadPart - b.QuadPart < 50000000);
    CHECK_FAILS(QueryPerformanceCounter(NULL), ERROR_NOACCESS);
}

TEST(module_file_name_is_the_executable) {
    char path[4096];
    const char* exe = self_exe();
    memset(path, '*', sizeof path);
    SetLastError(0xDEADBEEFu);
    DWORD n = GetModuleFileNameA(NULL, path, sizeof path);
    CHECK_ERR(ERROR_SUCCESS); /* Windows clears the last error on success */
    CHECK_EQ(n, strlen(exe));
    CHECK(strcmp(path, exe) == 0);
    /* The generic name is the A function without UNICODE. */
    CHECK_EQ(GetModuleFileName(NULL, path, sizeof path), n);

    WCHAR wide[4096];
    SetLastError(0xDEADBEEFu);
    CHECK_EQ(GetModuleFileNameW(NULL, wide, 4096), n);
    CHECK_ERR(ERROR_SUCCESS);
    CHECK_EQ(lstrlenW(wide), n);
    int same = 1;
    for (DWORD i = 0; i < n; ++i) same &= wide[i] == (WCHAR)(unsigned char)exe[i]; /* an ASCII path */
    CHECK(same);
}

/* Windows: a buffer of nSize characters that cannot hold path and NUL gets nSize - 1 characters
 * and a NUL; the function returns nSize with ERROR_INSUFFICIENT_BUFFER. */
TEST(module_file_name_truncates_as_windows) {
    char path[4096];
    DWORD n = GetModuleFileNameA(NULL, path, sizeof path);
    REQUIRE(n > 2);
    char small[4096];

    memset(small, '*', sizeof small);
    CHECK_RET_ERR(GetModuleFileNameA(NULL, small, n), n, ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(small[n - 1], 0);
    CHECK(strncmp(small, path, n - 1) == 0);
    CHECK_EQ(small[n], '*');

    memset(small, '*', sizeof small);
    CHECK_RET_ERR(GetModuleFileNameA(NULL, small, n + 1), n, ERROR_SUCCESS); /* just fits */
    CHECK(strcmp(small, path) == 0);

    memset(small, '*', sizeof small);
    CHECK_RET_ERR(GetModuleFileNameA(NULL, small, 1), 1, ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(small[0], 0);
    CHECK_EQ(small[1], '*');

    memset(small, '*', sizeof small);
    CHECK_RET_ERR(GetModuleFileNameA(NULL, small, 0), 0, ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(small[0], '*'); /* nothing written */
    CHECK_RET_ERR(GetModuleFileNameA(NULL, NULL, 0), 0, ERROR_INSUFFICIENT_BUFFER);

    WCHAR wide[4096];
    wide[n] = '*';
    CHECK_RET_ERR(GetModuleFileNameW(NULL, wide, n), n, ERROR_INSUFFICIENT_BUFFER);
    CHECK_EQ(wide[n - 1], 0);
    CHECK_EQ(wide[n - 2], (WCHAR)(unsigned char)path[n - 2]);
    CHECK_EQ(wide[n], '*');
    CHECK_RET_ERR(GetModuleFileNameW(NULL, wide, 0), 0, ERROR_INSUFFICIENT_BUFFER);
}

TEST(module_file_name_of_another_module_fails) {
    char path[64];
    WCHAR wide[64];
    path[0] = '*';
    wide[0] = '*';
    CHECK_RET_ERR(GetModuleFileNameA((HMODULE)(uintptr_t)0x10000, path, sizeof path), 0, ERROR_MOD_NOT_FOUND);
    CHECK_EQ(path[0], '*'); /* when failing, the buffer is not written to */
    CHECK_RET_ERR(GetModuleFileNameW((HMODULE)(uintptr_t)0x10000, wide, 64), 0, ERROR_MOD_NOT_FOUND);
    CHECK_EQ(wide[0], '*');
}

static unsigned bits(DWORD_PTR mask) {
    unsigned n = 0;
    for (; mask; mask &= mask - 1) ++n;
    return n;
}

static DWORD_PTR lowest_bit(DWORD_PTR mask) { return mask & (~mask + 1); }

TEST(process_affinity_of_this_process) {
    DWORD_PTR process = 0, system = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    CHECK(process != 0);
    CHECK(system != 0);
    CHECK_EQ(process & ~system, 0);
    /* Either out pointer may be NULL. */
    DWORD_PTR again = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &again, NULL));
    CHECK_EQ(again, process);
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), NULL, &again));
    CHECK_EQ(again, system);
    /* Setting what it is succeeds. */
    CHECK_OK(SetProcessAffinityMask(GetCurrentProcess(), process));
}

static HANDLE affinity_checked;
static DWORD_PTR affinity_seen;

/* Waits until told to look, then reports the CPUs this thread may run on. */
static DWORD WINAPI report_affinity(LPVOID go) {
    cpu_set_t set;
    WaitForSingleObject((HANDLE)go, INFINITE);
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    for (unsigned cpu = 0; cpu < 64; ++cpu)
        if (CPU_ISSET(cpu, &set)) affinity_seen |= (DWORD_PTR)1 << cpu;
    SetEvent(affinity_checked);
    return 0;
}

/* The mask applies to every thread of the process, those running already and those started
 * later, as on Windows. */
TEST(process_affinity_applies_to_every_thread) {
    DWORD_PTR process = 0, system = 0;
    REQUIRE_OK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    DWORD_PTR one = lowest_bit(process);
    HANDLE go = CreateEventA(NULL, TRUE, FALSE, NULL);
    affinity_checked = CreateEventA(NULL, FALSE, FALSE, NULL);
    HANDLE before = start_thread(report_affinity, go);

    REQUIRE_OK(SetProcessAffinityMask(GetCurrentProcess(), one));
    DWORD_PTR now = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &now, NULL));
    CHECK_EQ(now, one);
    CHECK_OK(SetEvent(go));
    CHECK_EQ(WaitForSingleObject(affinity_checked, 10000), WAIT_OBJECT_0);
    CHECK_EQ(affinity_seen, one); /* the thread that was already running */
    CHECK_EQ(join_thread(before), 0);

    affinity_seen = 0;
    HANDLE after = start_thread(report_affinity, go);
    CHECK_EQ(WaitForSingleObject(affinity_checked, 10000), WAIT_OBJECT_0);
    CHECK_EQ(affinity_seen, one); /* a thread started afterwards */
    CHECK_EQ(join_thread(after), 0);

    CHECK_OK(SetProcessAffinityMask(GetCurrentProcess(), process));
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &now, NULL));
    CHECK_EQ(now, process);
    CloseHandle(go);
    CloseHandle(affinity_checked);
}

TEST(process_affinity_refuses_bad_masks_and_handles) {
    DWORD_PTR process = 0, system = 0;
    REQUIRE_OK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    CHECK_FAILS(SetProcessAffinityMask(GetCurrentProcess(), 0), ERROR_INVALID_PARAMETER);
    if (~system) { /* a CPU the system does not have */
        DWORD_PTR missing = lowest_bit(~system);
        CHECK_FAILS(SetProcessAffinityMask(GetCurrentProcess(), missing), ERROR_INVALID_PARAMETER);
        CHECK_FAILS(SetProcessAffinityMask(GetCurrentProcess(), process | missing), ERROR_INVALID_PARAMETER);
    }
    DWORD_PTR now = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &now, NULL));
    CHECK_EQ(now, process); /* unchanged by the refusals */

    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK_FAILS(GetProcessAffinityMask(event, &now, &system), ERROR_INVALID_HANDLE);
    CHECK_FAILS(SetProcessAffinityMask(event, process), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GetProcessAffinityMask(GetCurrentThread(), &now, &system), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GetProcessAffinityMask(BOGUS_HANDLE, &now, &system), ERROR_INVALID_HANDLE);
    CHECK_FAILS(SetProcessAffinityMask(NULL, process), ERROR_INVALID_HANDLE);
    CloseHandle(event);
}

/* Blocks until its stdin ends. */
static int role_wait_for_stdin_end(int argc, char** argv) {
    (void)argc;
    (void)argv;
    char b;
    DWORD n;
    while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), &b, 1, &n, NULL) && n > 0) {
    }
    return 0;
}

TEST(process_affinity_of_a_child) {
    DWORD_PTR process = 0, system = 0;
    REQUIRE_OK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE rd, wr;
    REQUIRE_OK(CreatePipe(&rd, &wr, &sa, 0));
    REQUIRE_OK(SetHandleInformation(wr, HANDLE_FLAG_INHERIT, 0));
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = rd;
    si.hStdOutput = GetStdHandle(STD_OUTPUT_HANDLE);
    si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_wait_for_stdin_end", TRUE, &si, &pi));
    CloseHandle(rd);

    DWORD_PTR child = 0, child_system = 0;
    CHECK_OK(GetProcessAffinityMask(pi.hProcess, &child, &child_system));
    CHECK_EQ(child, process); /* inherited */
    CHECK_EQ(child_system, system);
    DWORD_PTR one = lowest_bit(process);
    CHECK_OK(SetProcessAffinityMask(pi.hProcess, one));
    CHECK_OK(GetProcessAffinityMask(pi.hProcess, &child, NULL));
    CHECK_EQ(child, one);
    DWORD_PTR mine = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &mine, NULL));
    CHECK_EQ(mine, process); /* ours did not change */

    CloseHandle(wr);
    CHECK_EQ(join_process(&pi), 0);
}

TEST(system_info_describes_the_machine) {
    SYSTEM_INFO si;
    memset(&si, 0xAB, sizeof si);
    GetSystemInfo(&si);
    CHECK(si.dwNumberOfProcessors >= 1);
    CHECK_EQ(si.dwNumberOfProcessors, bits(si.dwActiveProcessorMask));
    DWORD_PTR process = 0, system = 0;
    CHECK_OK(GetProcessAffinityMask(GetCurrentProcess(), &process, &system));
    CHECK_EQ(si.dwActiveProcessorMask, system);
    CHECK_EQ(si.dwPageSize, (DWORD)sysconf(_SC_PAGESIZE));
    CHECK_EQ(si.dwAllocationGranularity, 65536);
    CHECK((uintptr_t)si.lpMinimumApplicationAddress < (uintptr_t)si.lpMaximumApplicationAddress);
#if defined(__x86_64__)
    CHECK_EQ(si.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
    CHECK_EQ(si.dwProcessorType, PROCESSOR_AMD_X8664);
#elif defined(__aarch64__)
    CHECK_EQ(si.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_ARM64);
#endif
    CHECK_EQ(si.wReserved, 0);
    SYSTEM_INFO native;
    GetNativeSystemInfo(&native);
    CHECK_MEM(&native, &si, sizeof si);
    GetSystemInfo(NULL); /* does nothing */
}

TEST_TABLE{
    TEST_ENTRY(performance_frequency_is_10_mhz),
    TEST_ENTRY(performance_counter_counts_time),
    TEST_ENTRY(module_file_name_is_the_executable),
    TEST_ENTRY(module_file_name_truncates_as_windows),
    TEST_ENTRY(module_file_name_of_another_module_fails),
    TEST_ENTRY(process_affinity_of_this_process),
    TEST_ENTRY(process_affinity_applies_to_every_thread),
    TEST_ENTRY(process_affinity_refuses_bad_masks_and_handles),
    TEST_ENTRY(process_affinity_of_a_child),
    TEST_ENTRY(system_info_describes_the_machine),
    TABLE_END,
};
ROLE_TABLE{
    ROLE_ENTRY(role_wait_for_stdin_end),
    TABLE_END,
};
