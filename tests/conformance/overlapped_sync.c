/* An OVERLAPPED passed to a synchronous handle: Internal (NTSTATUS), InternalHigh (bytes) and
 * hEvent are filled as Windows does; GetOverlappedResult reports them. */
#include "harness.h"

static void init_overlapped(OVERLAPPED* ov, HANDLE event) {
    memset(ov, 0, sizeof *ov);
    ov->Internal = 0x12345678u;
    ov->InternalHigh = 0x9999u;
    ov->hEvent = event;
}

TEST(read_fills_the_overlapped) {
    HANDLE s, c;
    make_pair("ovread", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    write_all(s, "overlap", 7);
    OVERLAPPED ov;
    init_overlapped(&ov, e);
    char buf[32];
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, &ov));
    CHECK_EQ(n, 7);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 7);
    CHECK(HasOverlappedIoCompleted(&ov));
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    DWORD got = 0;
    CHECK_OK(GetOverlappedResult(c, &ov, &got, FALSE));
    CHECK_EQ(got, 7);
    got = 0;
    CHECK_OK(GetOverlappedResult(c, &ov, &got, TRUE));
    CHECK_EQ(got, 7);
    CloseHandle(e);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(write_fills_the_overlapped) {
    HANDLE s, c;
    make_pair("ovwrite", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    OVERLAPPED ov;
    init_overlapped(&ov, e);
    DWORD n = 0;
    CHECK_OK(WriteFile(s, "12345", 5, &n, &ov));
    CHECK_EQ(n, 5);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 5);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    DWORD got = 0;
    CHECK_OK(GetOverlappedResult(s, &ov, &got, FALSE));
    CHECK_EQ(got, 5);
    char buf[8];
    read_exact(c, buf, 5);
    CloseHandle(e);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(more_data_is_status_buffer_overflow) {
    HANDLE s, c;
    make_pair("ovmore", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    write_all(c, "0123456789", 10);
    OVERLAPPED ov;
    init_overlapped(&ov, e);
    char buf[16];
    DWORD n = 0;
    n = 99;
    CHECK_FAILS(ReadFile(s, buf, 4, &n, &ov), ERROR_MORE_DATA);
    /* With an OVERLAPPED and a failure status the count is 0; the bytes are in InternalHigh
     * (Wine's kernel32 test_ReadFile, run on Windows). */
    CHECK_EQ(n, 0);
    CHECK_EQ(ov.Internal, STATUS_BUFFER_OVERFLOW);
    CHECK_EQ(ov.InternalHigh, 4);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    DWORD got = 0;
    CHECK_FAILS(GetOverlappedResult(s, &ov, &got, FALSE), ERROR_MORE_DATA);
    CHECK_EQ(got, 4);
    /* The rest of the message, with the same OVERLAPPED. */
    ResetEvent(e);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, &ov));
    CHECK_EQ(n, 6);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 6);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CloseHandle(e);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(overlapped_without_event_and_without_count) {
    HANDLE s, c;
    make_pair("ovnoevent", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "abc", 3);
    OVERLAPPED ov;
    init_overlapped(&ov, NULL);
    char buf[8];
    /* lpNumberOfBytesRead may be NULL when an OVERLAPPED is given. */
    CHECK_OK(ReadFile(c, buf, sizeof buf, NULL, &ov));
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 3);
    DWORD got = 0;
    CHECK_OK(GetOverlappedResult(c, &ov, &got, TRUE));
    CHECK_EQ(got, 3);
    init_overlapped(&ov, NULL);
    CHECK_OK(WriteFile(c, "xy", 2, NULL, &ov));
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 2);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(failure_before_io_leaves_the_overlapped_pending) {
    HANDLE s, c;
    make_pair("ovdisc", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    CHECK_OK(DisconnectNamedPipe(s));
    OVERLAPPED ov;
    char buf[4];
    DWORD n = 99;
    init_overlapped(&ov, NULL);
    ov.InternalHigh = 0xdeadbeefu;
    CHECK_FAILS(ReadFile(s, buf, 1, &n, &ov), ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(n, 0);
    CHECK_EQ(ov.Internal, STATUS_PENDING);
    CHECK_EQ(ov.InternalHigh, 0xdeadbeefu);
    n = 99;
    init_overlapped(&ov, NULL);
    ov.InternalHigh = 0xdeadbeefu;
    CHECK_FAILS(WriteFile(s, buf, 1, &n, &ov), ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(n, 0);
    CHECK_EQ(ov.Internal, STATUS_PENDING);
    CHECK_EQ(ov.InternalHigh, 0xdeadbeefu);
    CloseHandle(c);
    CloseHandle(s);
}

static DWORD WINAPI reply_server(LPVOID p) {
    HANDLE s = p;
    char buf[64];
    DWORD n = 0;
    if (!ReadFile(s, buf, sizeof buf, &n, NULL)) return 1000 + GetLastError();
    if (!WriteFile(s, "answer", 6, &n, NULL)) return 2000 + GetLastError();
    return 0;
}

TEST(transact_fills_the_overlapped) {
    HANDLE s, c;
    make_pair("ovtransact", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    REQUIRE_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE t = start_thread(reply_server, s);
    OVERLAPPED ov;
    init_overlapped(&ov, e);
    char out[16];
    DWORD n = 0;
    CHECK_OK(TransactNamedPipe(c, "q", 1, out, sizeof out, &n, &ov));
    CHECK_EQ(n, 6);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 6);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    DWORD got = 0;
    CHECK_OK(GetOverlappedResult(c, &ov, &got, FALSE));
    CHECK_EQ(got, 6);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(e);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(overlapped_on_anonymous_pipe) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    HANDLE e = CreateEventA(NULL, FALSE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    OVERLAPPED ov;
    init_overlapped(&ov, e);
    CHECK_OK(WriteFile(w, "four", 4, NULL, &ov));
    CHECK_EQ(ov.InternalHigh, 4);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    init_overlapped(&ov, e);
    char buf[8];
    CHECK_OK(ReadFile(r, buf, sizeof buf, NULL, &ov));
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 4);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CloseHandle(e);
    CloseHandle(r);
    CloseHandle(w);
}

TEST_TABLE{
    TEST_ENTRY(read_fills_the_overlapped),
    TEST_ENTRY(write_fills_the_overlapped),
    TEST_ENTRY(more_data_is_status_buffer_overflow),
    TEST_ENTRY(overlapped_without_event_and_without_count),
    TEST_ENTRY(failure_before_io_leaves_the_overlapped_pending),
    TEST_ENTRY(transact_fills_the_overlapped),
    TEST_ENTRY(overlapped_on_anonymous_pipe),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
