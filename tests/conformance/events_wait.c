/* CreateEvent, SetEvent, ResetEvent, WaitForSingleObject, WaitForMultipleObjects on events,
 * threads and pipe handles. */
#include "harness.h"

TEST(manual_reset_event_stays_signaled) {
    HANDLE e = CreateEventA(NULL, TRUE, TRUE, NULL);
    REQUIRE_HANDLE(e);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CHECK_OK(ResetEvent(e));
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(e));
    CHECK_OK(SetEvent(e));
    CHECK_EQ(WaitForSingleObject(e, INFINITE), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CloseHandle(e);
}

TEST(auto_reset_event_releases_one_wait) {
    HANDLE e = CreateEventA(NULL, FALSE, TRUE, NULL);
    REQUIRE_HANDLE(e);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(e));
    CHECK_OK(SetEvent(e)); /* not counted */
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    CloseHandle(e);
}

TEST(named_events_are_not_supported) {
    WCHAR wname[32];
    CHECK_RET_ERR(CreateEventA(NULL, TRUE, FALSE, "conformance-event"), NULL, ERROR_NOT_SUPPORTED);
    CHECK_RET_ERR(CreateEventW(NULL, TRUE, FALSE, widen("conformance-event", wname)), NULL,
                  ERROR_NOT_SUPPORTED);
    HANDLE e = CreateEventW(NULL, FALSE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    CloseHandle(e);
}

TEST(wait_timeout_is_honoured) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    unsigned long long start = now_ms();
    CHECK_EQ(WaitForSingleObject(e, 100), WAIT_TIMEOUT);
    unsigned long long elapsed = now_ms() - start;
    CHECK(elapsed >= 95);
    CHECK(elapsed < 5000);
    HANDLE two[2] = {e, e};
    start = now_ms();
    CHECK_EQ(WaitForMultipleObjects(1, two, FALSE, 60), WAIT_TIMEOUT);
    CHECK(now_ms() - start >= 55);
    CloseHandle(e);
}

struct wait_args {
    HANDLE h;
    DWORD result;
};

static DWORD WINAPI wait_thread(LPVOID p) {
    struct wait_args* a = p;
    a->result = WaitForSingleObject(a->h, INFINITE);
    return 7;
}

TEST(set_event_wakes_a_waiting_thread) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    struct wait_args a = {e, 99};
    HANDLE t = start_thread(wait_thread, &a);
    CHECK_EQ(WaitForSingleObject(t, 50), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(e));
    CHECK_EQ(join_thread(t), 7);
    CHECK_EQ(a.result, WAIT_OBJECT_0);
    CloseHandle(e);
}

TEST(auto_reset_event_wakes_exactly_one_of_two_waiters) {
    HANDLE e = CreateEventA(NULL, FALSE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    struct wait_args a = {e, 99}, b = {e, 99};
    HANDLE threads[2];
    threads[0] = start_thread(wait_thread, &a);
    threads[1] = start_thread(wait_thread, &b);
    CHECK_EQ(WaitForMultipleObjects(2, threads, FALSE, 50), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(e));
    DWORD first = WaitForMultipleObjects(2, threads, FALSE, 5000);
    CHECK(first == WAIT_OBJECT_0 || first == WAIT_OBJECT_0 + 1);
    DWORD other = first == WAIT_OBJECT_0 ? 1 : 0;
    /* The other waiter is still waiting, and the event was consumed. */
    CHECK_EQ(WaitForSingleObject(threads[other], 100), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(e));
    CHECK_EQ(WaitForMultipleObjects(2, threads, TRUE, 5000), WAIT_OBJECT_0);
    CHECK_EQ(a.result, WAIT_OBJECT_0);
    CHECK_EQ(b.result, WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT);
    CloseHandle(threads[0]);
    CloseHandle(threads[1]);
    CloseHandle(e);
}

TEST(wait_any_returns_the_lowest_signaled_index) {
    HANDLE h[3];
    h[0] = CreateEventA(NULL, TRUE, FALSE, NULL);
    h[1] = CreateEventA(NULL, TRUE, TRUE, NULL);
    h[2] = CreateEventA(NULL, TRUE, TRUE, NULL);
    REQUIRE_HANDLE(h[0]);
    REQUIRE_HANDLE(h[1]);
    REQUIRE_HANDLE(h[2]);
    CHECK_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 1);
    CHECK_OK(ResetEvent(h[1]));
    CHECK_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 2);
    CHECK_OK(ResetEvent(h[2]));
    CHECK_EQ(WaitForMultipleObjects(3, h, FALSE, 10), WAIT_TIMEOUT);
    for (int i = 0; i < 3; ++i) CloseHandle(h[i]);
}

TEST(wait_all_needs_every_object_and_consumes_only_then) {
    HANDLE h[2];
    h[0] = CreateEventA(NULL, FALSE, TRUE, NULL); /* auto-reset, set */
    h[1] = CreateEventA(NULL, TRUE, FALSE, NULL); /* manual, not set */
    REQUIRE_HANDLE(h[0]);
    REQUIRE_HANDLE(h[1]);
    CHECK_EQ(WaitForMultipleObjects(2, h, TRUE, 20), WAIT_TIMEOUT);
    /* The auto-reset event was not consumed by the failed wait-all. */
    CHECK_OK(SetEvent(h[1]));
    CHECK_EQ(WaitForMultipleObjects(2, h, TRUE, 0), WAIT_OBJECT_0);
    /* Now it was. */
    CHECK_EQ(WaitForSingleObject(h[0], 0), WAIT_TIMEOUT);
    CHECK_EQ(WaitForSingleObject(h[1], 0), WAIT_OBJECT_0);
    CloseHandle(h[0]);
    CloseHandle(h[1]);
}

static DWORD WINAPI set_later(LPVOID p) {
    HANDLE* h = p;
    /* Set the second event once the main thread waits (the first is set already). */
    SetEvent(h[1]);
    return 0;
}

TEST(wait_all_completes_when_the_last_object_is_signaled) {
    HANDLE h[2];
    h[0] = CreateEventA(NULL, TRUE, TRUE, NULL);
    h[1] = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(h[0]);
    REQUIRE_HANDLE(h[1]);
    HANDLE t = start_thread(set_later, h);
    CHECK_EQ(WaitForMultipleObjects(2, h, TRUE, 5000), WAIT_OBJECT_0);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(h[0]);
    CloseHandle(h[1]);
}

TEST(wait_multiple_parameter_errors) {
    HANDLE h[65];
    HANDLE e = CreateEventA(NULL, TRUE, TRUE, NULL);
    REQUIRE_HANDLE(e);
    for (int i = 0; i < 65; ++i) h[i] = e;
    CHECK_RET_ERR(WaitForMultipleObjects(0, h, FALSE, 0), WAIT_FAILED, ERROR_INVALID_PARAMETER);
    CHECK_RET_ERR(WaitForMultipleObjects(65, h, FALSE, 0), WAIT_FAILED, ERROR_INVALID_PARAMETER);
    CloseHandle(e);
}

TEST(wait_on_64_objects) {
    HANDLE h[64];
    for (int i = 0; i < 64; ++i) {
        h[i] = CreateEventA(NULL, TRUE, FALSE, NULL);
        REQUIRE_HANDLE(h[i]);
    }
    CHECK_EQ(WaitForMultipleObjects(64, h, FALSE, 0), WAIT_TIMEOUT);
    CHECK_OK(SetEvent(h[63]));
    CHECK_EQ(WaitForMultipleObjects(64, h, FALSE, 0), WAIT_OBJECT_0 + 63);
    for (int i = 0; i < 63; ++i) SetEvent(h[i]);
    CHECK_EQ(WaitForMultipleObjects(64, h, TRUE, 0), WAIT_OBJECT_0);
    for (int i = 0; i < 64; ++i) CloseHandle(h[i]);
}

TEST(wait_on_invalid_handle_fails) {
    CHECK_RET_ERR(WaitForSingleObject(BOGUS_HANDLE, 0), WAIT_FAILED, ERROR_INVALID_HANDLE);
    HANDLE e = CreateEventA(NULL, TRUE, TRUE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE h[2] = {e, BOGUS_HANDLE};
    CHECK_RET_ERR(WaitForMultipleObjects(2, h, FALSE, 0), WAIT_FAILED, ERROR_INVALID_HANDLE);
    CHECK_FAILS(SetEvent(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
    CHECK_FAILS(ResetEvent(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
    CloseHandle(e);
}

static DWORD WINAPI quick_thread(LPVOID p) {
    (void)p;
    return 42;
}

TEST(thread_handle_is_signaled_when_the_thread_ends) {
    HANDLE gate = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(gate);
    struct wait_args a = {gate, 99};
    HANDLE t = start_thread(wait_thread, &a);
    CHECK_EQ(WaitForSingleObject(t, 20), WAIT_TIMEOUT);
    SetEvent(gate);
    CHECK_EQ(WaitForSingleObject(t, 5000), WAIT_OBJECT_0);
    /* It stays signaled. */
    CHECK_EQ(WaitForSingleObject(t, 0), WAIT_OBJECT_0);
    CloseHandle(t);
    HANDLE q = start_thread(quick_thread, NULL);
    HANDLE both[2] = {gate, q};
    CHECK_EQ(WaitForMultipleObjects(2, both, TRUE, 5000), WAIT_OBJECT_0);
    CloseHandle(q);
    CloseHandle(gate);
}

struct read_args {
    HANDLE h;
    DWORD n;
    BOOL ok;
};

static DWORD WINAPI read_thread(LPVOID p) {
    struct read_args* a = p;
    char buf[16];
    a->ok = ReadFile(a->h, buf, sizeof buf, &a->n, NULL);
    return 0;
}

TEST(pipe_handle_is_signaled_except_during_io) {
    HANDLE s, c;
    make_pair("waitpipe", PIPE_TYPE_BYTE, &s, &c);
    /* A fresh handle is signaled. */
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    struct read_args a = {c, 0, FALSE};
    HANDLE t = start_thread(read_thread, &a);
    /* While the read is in progress the handle is not signaled. */
    CHECK(wait_until_busy(c, 5000));
    CHECK_EQ(WaitForSingleObject(c, 20), WAIT_TIMEOUT);
    HANDLE both[2] = {c, t};
    CHECK_EQ(WaitForMultipleObjects(2, both, FALSE, 20), WAIT_TIMEOUT);
    write_all(s, "go", 2);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, 2);
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_OBJECT_0);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(wait_on_a_mix_of_events_and_pipe_handles) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE h[3] = {e, r, w};
    CHECK_EQ(WaitForMultipleObjects(3, h, FALSE, 0), WAIT_OBJECT_0 + 1);
    CHECK_EQ(WaitForMultipleObjects(3, h, TRUE, 0), WAIT_TIMEOUT);
    SetEvent(e);
    CHECK_EQ(WaitForMultipleObjects(3, h, TRUE, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObjectEx(e, 0, FALSE), WAIT_OBJECT_0);
    CHECK_EQ(WaitForMultipleObjectsEx(3, h, FALSE, 0, FALSE), WAIT_OBJECT_0);
    CloseHandle(e);
    CloseHandle(r);
    CloseHandle(w);
}

TEST_TABLE{
    TEST_ENTRY(manual_reset_event_stays_signaled),
    TEST_ENTRY(auto_reset_event_releases_one_wait),
    TEST_ENTRY(named_events_are_not_supported),
    TEST_ENTRY(wait_timeout_is_honoured),
    TEST_ENTRY(set_event_wakes_a_waiting_thread),
    TEST_ENTRY(auto_reset_event_wakes_exactly_one_of_two_waiters),
    TEST_ENTRY(wait_any_returns_the_lowest_signaled_index),
    TEST_ENTRY(wait_all_needs_every_object_and_consumes_only_then),
    TEST_ENTRY(wait_all_completes_when_the_last_object_is_signaled),
    TEST_ENTRY(wait_multiple_parameter_errors),
    TEST_ENTRY(wait_on_64_objects),
    TEST_ENTRY(wait_on_invalid_handle_fails),
    TEST_ENTRY(thread_handle_is_signaled_when_the_thread_ends),
    TEST_ENTRY(pipe_handle_is_signaled_except_during_io),
    TEST_ENTRY(wait_on_a_mix_of_events_and_pipe_handles),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
