/* CRITICAL_SECTION and the Interlocked functions, as thread-pool servers use them. */
#include "harness.h"

#define THREADS 4
#define ROUNDS 100000

static CRITICAL_SECTION g_cs;
static LONG g_plain;               /* guarded by g_cs */
static volatile LONG g_counter;    /* Interlocked only */
static volatile LONG64 g_counter64;

static DWORD WINAPI add_under_lock(LPVOID unused) {
    (void)unused;
    for (int i = 0; i < ROUNDS; i++) {
        EnterCriticalSection(&g_cs);
        EnterCriticalSection(&g_cs); /* recursive */
        g_plain++;
        LeaveCriticalSection(&g_cs);
        LeaveCriticalSection(&g_cs);
    }
    return 0;
}

static DWORD WINAPI add_interlocked(LPVOID unused) {
    (void)unused;
    for (int i = 0; i < ROUNDS; i++) {
        InterlockedIncrement(&g_counter);
        InterlockedIncrement64(&g_counter64);
    }
    return 0;
}

static void run_threads(LPTHREAD_START_ROUTINE fn) {
    HANDLE t[THREADS];
    for (int i = 0; i < THREADS; i++) t[i] = start_thread(fn, NULL);
    for (int i = 0; i < THREADS; i++) {
        join_thread(t[i]);
        CloseHandle(t[i]);
    }
}

TEST(critical_section_excludes_other_threads) {
    InitializeCriticalSection(&g_cs);
    g_plain = 0;
    run_threads(add_under_lock);
    CHECK_EQ(g_plain, THREADS * ROUNDS);
    DeleteCriticalSection(&g_cs);
    CHECK_OK(InitializeCriticalSectionAndSpinCount(&g_cs, 4000));
    g_plain = 0;
    run_threads(add_under_lock);
    CHECK_EQ(g_plain, THREADS * ROUNDS);
    DeleteCriticalSection(&g_cs);
}

static DWORD WINAPI try_enter(LPVOID unused) {
    (void)unused;
    if (!TryEnterCriticalSection(&g_cs)) return 0;
    LeaveCriticalSection(&g_cs);
    return 1;
}

TEST(try_enter_fails_while_another_thread_owns_it) {
    InitializeCriticalSection(&g_cs);
    EnterCriticalSection(&g_cs);
    CHECK_EQ(TryEnterCriticalSection(&g_cs), TRUE); /* the owner may enter again */
    CHECK_EQ(join_thread(start_thread(try_enter, NULL)), 0);
    LeaveCriticalSection(&g_cs);
    CHECK_EQ(join_thread(start_thread(try_enter, NULL)), 0); /* entered twice, left once */
    LeaveCriticalSection(&g_cs);
    CHECK_EQ(join_thread(start_thread(try_enter, NULL)), 1);
    DeleteCriticalSection(&g_cs);
}

TEST(spin_counts_and_flags) {
    CRITICAL_SECTION cs;
    CHECK_OK(InitializeCriticalSectionEx(&cs, 100, CRITICAL_SECTION_NO_DEBUG_INFO));
    CHECK_EQ(SetCriticalSectionSpinCount(&cs, 200), 100);
    CHECK_EQ(SetCriticalSectionSpinCount(&cs, 0), 200);
    DeleteCriticalSection(&cs);
    CHECK_FAILS(InitializeCriticalSectionEx(&cs, 0, 0x1), ERROR_INVALID_PARAMETER);
    CHECK_EQ(sizeof(CRITICAL_SECTION), sizeof(void*) == 8 ? 40 : 24); /* Windows' layout */
}

TEST(interlocked_results_are_windows_ones) {
    LONG v = 5;
    CHECK_EQ(InterlockedIncrement(&v), 6);
    CHECK_EQ(InterlockedDecrement(&v), 5);
    CHECK_EQ(InterlockedExchange(&v, 9), 5);
    CHECK_EQ(InterlockedExchangeAdd(&v, 3), 9);
    CHECK_EQ(v, 12);
    CHECK_EQ(InterlockedAdd(&v, -2), 10);
    CHECK_EQ(InterlockedCompareExchange(&v, 1, 7), 10); /* no match: unchanged */
    CHECK_EQ(v, 10);
    CHECK_EQ(InterlockedCompareExchange(&v, 1, 10), 10);
    CHECK_EQ(v, 1);
    CHECK_EQ(InterlockedOr(&v, 6), 1);
    CHECK_EQ(InterlockedAnd(&v, 3), 7);
    CHECK_EQ(InterlockedXor(&v, 1), 3);
    CHECK_EQ(v, 2);
    LONG64 w = (LONG64)1 << 40;
    CHECK_EQ(InterlockedIncrement64(&w), ((LONG64)1 << 40) + 1);
    CHECK_EQ(InterlockedCompareExchange64(&w, 0, ((LONG64)1 << 40) + 1), ((LONG64)1 << 40) + 1);
    CHECK_EQ(w, 0);
    CHECK_EQ(InterlockedExchange64(&w, -1), 0);
    CHECK_EQ(InterlockedDecrement64(&w), -2);
    int a = 0, b = 0;
    PVOID p = &a;
    CHECK_EQ(InterlockedExchangePointer(&p, &b), &a);
    CHECK_EQ(InterlockedCompareExchangePointer(&p, &a, &a), &b); /* no match */
    CHECK_EQ(InterlockedCompareExchangePointer(&p, &a, &b), &b);
    CHECK_EQ(p, &a);
    MemoryBarrier();
}

TEST(interlocked_increments_from_many_threads_add_up) {
    g_counter = 0;
    g_counter64 = 0;
    run_threads(add_interlocked);
    CHECK_EQ(g_counter, THREADS * ROUNDS);
    CHECK_EQ(g_counter64, THREADS * ROUNDS);
}

TEST_TABLE{
    TEST_ENTRY(critical_section_excludes_other_threads),
    TEST_ENTRY(try_enter_fails_while_another_thread_owns_it),
    TEST_ENTRY(spin_counts_and_flags),
    TEST_ENTRY(interlocked_results_are_windows_ones),
    TEST_ENTRY(interlocked_increments_from_many_threads_add_up),
    TABLE_END,
};

ROLE_TABLE{
    TABLE_END,
};
