/* CreateThread, ExitThread, GetExitCodeThread, GetCurrentThreadId, thread-local last error,
 * Sleep, SleepEx, QueueUserAPC and alertable waits. */
#include "harness.h"

static DWORD WINAPI report_id(LPVOID p) {
    *(DWORD*)p = GetCurrentThreadId();
    return 5;
}

TEST(create_thread_reports_its_id) {
    DWORD tid = 0, seen = 0;
    HANDLE t = CreateThread(NULL, 0, report_id, &seen, 0, &tid);
    REQUIRE_HANDLE(t);
    CHECK_EQ(join_thread(t), 5);
    CHECK(tid != 0);
    CHECK_EQ(seen, tid);
    CHECK(tid != GetCurrentThreadId());
    CHECK_EQ(GetCurrentThreadId(), GetCurrentThreadId());
}

static DWORD WINAPI wait_on_event(LPVOID p) {
    WaitForSingleObject((HANDLE)p, INFINITE);
    return 1234;
}

TEST(exit_code_is_still_active_then_the_return_value) {
    HANDLE gate = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(gate);
    HANDLE t = start_thread(wait_on_event, gate);
    DWORD code = 0;
    CHECK_OK(GetExitCodeThread(t, &code));
    CHECK_EQ(code, STILL_ACTIVE);
    SetEvent(gate);
    CHECK_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    CHECK_OK(GetExitCodeThread(t, &code));
    CHECK_EQ(code, 1234);
    CloseHandle(t);
    CloseHandle(gate);
    CHECK_FAILS(GetExitCodeThread(BOGUS_HANDLE, &code), ERROR_INVALID_HANDLE);
}

__attribute__((noreturn)) static void leave(DWORD code) { ExitThread(code); }

static DWORD WINAPI exits_early(LPVOID p) {
    (void)p;
    leave(77);
}

TEST(exit_thread_sets_the_exit_code) {
    HANDLE t = start_thread(exits_early, NULL);
    CHECK_EQ(join_thread(t), 77);
}

static int error_stage;

static void wait_stage(int stage) {
    unsigned long long deadline = now_ms() + 10000;
    while (__atomic_load_n(&error_stage, __ATOMIC_SEQ_CST) != stage && now_ms() < deadline) {
    }
}

static DWORD WINAPI last_error_thread(LPVOID p) {
    (void)p;
    wait_stage(1);
    SetLastError(42);
    __atomic_store_n(&error_stage, 2, __ATOMIC_SEQ_CST);
    wait_stage(3);
    return GetLastError();
}

TEST(last_error_is_per_thread) {
    HANDLE t = start_thread(last_error_thread, NULL);
    /* No Win32 call between the SetLastError calls and the checks; the threads hand over with
     * atomics. */
    SetLastError(1234);
    __atomic_store_n(&error_stage, 1, __ATOMIC_SEQ_CST);
    wait_stage(2);
    DWORD mine = GetLastError();
    SetLastError(7);
    __atomic_store_n(&error_stage, 3, __ATOMIC_SEQ_CST);
    CHECK_EQ(mine, 1234);
    CHECK_EQ(join_thread(t), 42);
    SetLastError(ERROR_PIPE_BUSY);
    CHECK_EQ(GetLastError(), ERROR_PIPE_BUSY);
}

TEST(sleep_waits_at_least_the_time) {
    unsigned long long start = now_ms();
    Sleep(50);
    CHECK(now_ms() - start >= 49);
    start = now_ms();
    CHECK_EQ(SleepEx(30, FALSE), 0);
    CHECK(now_ms() - start >= 29);
    CHECK_EQ(SleepEx(0, TRUE), 0);
    Sleep(0);
}

struct apc_log {
    int count;
    ULONG_PTR params[8];
    DWORD threads[8];
};
static struct apc_log apc_log;

static VOID CALLBACK record_apc(ULONG_PTR param) {
    int i = apc_log.count++;
    if (i < 8) {
        apc_log.params[i] = param;
        apc_log.threads[i] = GetCurrentThreadId();
    }
}

struct apc_target {
    HANDLE gate;
    DWORD tid;
    DWORD result;
    int count_before;
};

static DWORD WINAPI alertable_sleeper(LPVOID p) {
    struct apc_target* a = p;
    a->tid = GetCurrentThreadId();
    WaitForSingleObject(a->gate, INFINITE); /* not alertable: queued APCs wait */
    a->count_before = apc_log.count;
    a->result = SleepEx(INFINITE, TRUE);
    return 0;
}

TEST(queued_apcs_run_in_order_in_an_alertable_sleep) {
    memset(&apc_log, 0, sizeof apc_log);
    struct apc_target a;
    memset(&a, 0, sizeof a);
    a.gate = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(a.gate);
    DWORD tid = 0;
    HANDLE t = CreateThread(NULL, 0, alertable_sleeper, &a, 0, &tid);
    REQUIRE_HANDLE(t);
    CHECK(QueueUserAPC(record_apc, t, 11) != 0);
    CHECK(QueueUserAPC(record_apc, t, 22) != 0);
    CHECK(QueueUserAPC(record_apc, t, 33) != 0);
    SetEvent(a.gate);
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(a.count_before, 0);
    CHECK_EQ(a.result, WAIT_IO_COMPLETION);
    CHECK_EQ(apc_log.count, 3);
    CHECK_EQ(apc_log.params[0], 11);
    CHECK_EQ(apc_log.params[1], 22);
    CHECK_EQ(apc_log.params[2], 33);
    CHECK_EQ(apc_log.threads[0], tid);
    CHECK_EQ(apc_log.threads[2], tid);
    CloseHandle(a.gate);
}

struct self_apc {
    HANDLE event;
    DWORD r_nonalertable, r_alertable_wait, r_multi, r_sleep;
    int after_nonalertable, after_wait, after_multi, after_sleep;
};

static DWORD WINAPI self_apc_thread(LPVOID p) {
    struct self_apc* a = p;
    QueueUserAPC(record_apc, GetCurrentThread(), 1);
    a->r_nonalertable = WaitForSingleObjectEx(a->event, 0, FALSE);
    Sleep(1);
    a->after_nonalertable = apc_log.count;
    a->r_alertable_wait = WaitForSingleObjectEx(a->event, 1000, TRUE);
    a->after_wait = apc_log.count;
    QueueUserAPC(record_apc, GetCurrentThread(), 2);
    HANDLE h[1] = {a->event};
    a->r_multi = WaitForMultipleObjectsEx(1, h, FALSE, 1000, TRUE);
    a->after_multi = apc_log.count;
    QueueUserAPC(record_apc, GetCurrentThread(), 3);
    a->r_sleep = SleepEx(0, TRUE);
    a->after_sleep = apc_log.count;
    return 0;
}

TEST(only_alertable_waits_run_apcs) {
    memset(&apc_log, 0, sizeof apc_log);
    struct self_apc a;
    memset(&a, 0, sizeof a);
    a.event = CreateEventA(NULL, TRUE, FALSE, NULL); /* never set */
    REQUIRE_HANDLE(a.event);
    HANDLE t = start_thread(self_apc_thread, &a);
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(a.r_nonalertable, WAIT_TIMEOUT);
    CHECK_EQ(a.after_nonalertable, 0);
    CHECK_EQ(a.r_alertable_wait, WAIT_IO_COMPLETION);
    CHECK_EQ(a.after_wait, 1);
    CHECK_EQ(a.r_multi, WAIT_IO_COMPLETION);
    CHECK_EQ(a.after_multi, 2);
    CHECK_EQ(a.r_sleep, WAIT_IO_COMPLETION);
    CHECK_EQ(a.after_sleep, 3);
    CloseHandle(a.event);
}

struct io_apc {
    HANDLE pipe;
    BOOL ok;
    DWORD n;
    int during_io;
    DWORD r_after;
    int after;
};

static DWORD WINAPI io_apc_thread(LPVOID p) {
    struct io_apc* a = p;
    char buf[8];
    QueueUserAPC(record_apc, GetCurrentThread(), 9);
    a->ok = ReadFile(a->pipe, buf, sizeof buf, &a->n, NULL);
    a->during_io = apc_log.count;
    a->r_after = SleepEx(0, TRUE);
    a->after = apc_log.count;
    return 0;
}

TEST(pipe_io_is_not_alertable) {
    memset(&apc_log, 0, sizeof apc_log);
    HANDLE s, c;
    make_pair("apcio", PIPE_TYPE_BYTE, &s, &c);
    struct io_apc a;
    memset(&a, 0, sizeof a);
    a.pipe = c;
    HANDLE t = start_thread(io_apc_thread, &a);
    REQUIRE(wait_until_busy(c, 5000));
    CHECK_EQ(WaitForSingleObject(t, 30), WAIT_TIMEOUT);
    write_all(s, "x", 1);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, 1);
    CHECK_EQ(a.during_io, 0);
    CHECK_EQ(a.r_after, WAIT_IO_COMPLETION);
    CHECK_EQ(a.after, 1);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(apc_to_a_thread_blocked_in_an_alertable_wait) {
    memset(&apc_log, 0, sizeof apc_log);
    struct apc_target a;
    memset(&a, 0, sizeof a);
    a.gate = CreateEventA(NULL, TRUE, TRUE, NULL); /* already open: straight into SleepEx */
    REQUIRE_HANDLE(a.gate);
    HANDLE t = start_thread(alertable_sleeper, &a);
    CHECK_EQ(WaitForSingleObject(t, 50), WAIT_TIMEOUT);
    CHECK(QueueUserAPC(record_apc, t, 5) != 0);
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(a.result, WAIT_IO_COMPLETION);
    CHECK_EQ(apc_log.count, 1);
    CHECK_EQ(apc_log.params[0], 5);
    CloseHandle(a.gate);
}

TEST(queue_user_apc_on_invalid_handle_fails) {
    CHECK_RET_ERR(QueueUserAPC(record_apc, BOGUS_HANDLE, 0), 0, ERROR_INVALID_HANDLE);
}

TEST_TABLE{
    TEST_ENTRY(create_thread_reports_its_id),
    TEST_ENTRY(exit_code_is_still_active_then_the_return_value),
    TEST_ENTRY(exit_thread_sets_the_exit_code),
    TEST_ENTRY(last_error_is_per_thread),
    TEST_ENTRY(sleep_waits_at_least_the_time),
    TEST_ENTRY(queued_apcs_run_in_order_in_an_alertable_sleep),
    TEST_ENTRY(only_alertable_waits_run_apcs),
    TEST_ENTRY(pipe_io_is_not_alertable),
    TEST_ENTRY(apc_to_a_thread_blocked_in_an_alertable_wait),
    TEST_ENTRY(queue_user_apc_on_invalid_handle_fails),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
