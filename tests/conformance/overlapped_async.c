/* Handles opened with FILE_FLAG_OVERLAPPED: ReadFile, WriteFile, ConnectNamedPipe and
 * TransactNamedPipe return at once (TRUE when done, FALSE with ERROR_IO_PENDING); completion fills
 * Internal (NTSTATUS) and InternalHigh and sets the event; GetOverlappedResult(Ex), CancelIo(Ex),
 * completion routines (ReadFileEx, WriteFileEx) and completion ports report as on Windows. */
#include "harness.h"

#define OVERLAPPED_DUPLEX (PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED)

static HANDLE manual_event(void) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    return e;
}

static void init_ov(OVERLAPPED* ov, HANDLE event) {
    memset(ov, 0, sizeof *ov);
    ov->hEvent = event;
}

/* An overlapped server instance and a synchronous client connected to it. */
static void overlapped_pair(const char* tag, DWORD pipe_mode, HANDLE* server, HANDLE* client) {
    char name[128];
    pipe_name(name, tag);
    *server = make_server(name, OVERLAPPED_DUPLEX, pipe_mode, 4);
    *client = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(*client);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    CHECK_FAILS(ConnectNamedPipe(*server, &ov), ERROR_PIPE_CONNECTED);
}

TEST(connect_is_pending_until_a_client_comes) {
    char name[128];
    pipe_name(name, "ovconnect");
    HANDLE s = make_server(name, OVERLAPPED_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE e = manual_event();
    SetEvent(e);
    OVERLAPPED ov;
    init_ov(&ov, e);
    CHECK_FAILS(ConnectNamedPipe(s, &ov), ERROR_IO_PENDING);
    CHECK_EQ(ov.Internal, STATUS_PENDING);
    CHECK(!HasOverlappedIoCompleted(&ov));
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_TIMEOUT); /* reset when the operation started */
    DWORD n = 0;
    CHECK_FAILS(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_IO_INCOMPLETE);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_OK(GetOverlappedResult(s, &ov, &n, TRUE));
    write_all(c, "hi", 2);
    char buf[4];
    read_exact(s, buf, 2);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(connect_after_the_client_came_is_pipe_connected) {
    HANDLE s, c;
    overlapped_pair("ovconnected", PIPE_TYPE_BYTE, &s, &c);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(read_is_pending_until_data_comes) {
    HANDLE s, c;
    overlapped_pair("ovread", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[16] = {0};
    DWORD n = 99;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, &ov), ERROR_IO_PENDING);
    CHECK_EQ(n, 0);
    CHECK_EQ(ov.Internal, STATUS_PENDING);
    CHECK_EQ(WaitForSingleObject(s, 0), WAIT_TIMEOUT); /* the file's own event too */
    write_all(c, "later", 5);
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 5);
    CHECK_OK(GetOverlappedResult(s, &ov, &n, FALSE));
    CHECK_EQ(n, 5);
    CHECK_MEM(buf, "later", 5);
    CHECK_EQ(WaitForSingleObject(s, 0), WAIT_OBJECT_0);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(read_of_data_already_there_completes_at_once) {
    HANDLE s, c;
    overlapped_pair("ovreadnow", PIPE_TYPE_BYTE, &s, &c);
    write_all(c, "ready", 5);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[16];
    DWORD n = 0;
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, &ov));
    CHECK_EQ(n, 5);
    CHECK_EQ(ov.Internal, STATUS_SUCCESS);
    CHECK_EQ(ov.InternalHigh, 5);
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(pending_reads_complete_in_order) {
    HANDLE s, c;
    overlapped_pair("ovorder", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    HANDLE e1 = manual_event(), e2 = manual_event();
    OVERLAPPED ov1, ov2;
    init_ov(&ov1, e1);
    init_ov(&ov2, e2);
    char b1[16] = {0}, b2[16] = {0};
    CHECK_FAILS(ReadFile(s, b1, sizeof b1, NULL, &ov1), ERROR_IO_PENDING);
    CHECK_FAILS(ReadFile(s, b2, sizeof b2, NULL, &ov2), ERROR_IO_PENDING);
    write_all(c, "first", 5);
    write_all(c, "second", 6);
    CHECK_EQ(WaitForSingleObject(e1, 10000), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(e2, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov1.InternalHigh, 5);
    CHECK_MEM(b1, "first", 5);
    CHECK_EQ(ov2.InternalHigh, 6);
    CHECK_MEM(b2, "second", 6);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e1);
    CloseHandle(e2);
}

TEST(part_of_a_message_is_buffer_overflow) {
    HANDLE s, c;
    overlapped_pair("ovpartial", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[3];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    write_all(c, "hello", 5);
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_BUFFER_OVERFLOW);
    CHECK_EQ(ov.InternalHigh, 3);
    DWORD n = 0;
    CHECK_FAILS(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_MORE_DATA);
    CHECK_EQ(n, 3);
    char rest[8];
    DWORD got = 0;
    init_ov(&ov, e);
    CHECK_OK(ReadFile(s, rest, sizeof rest, &got, &ov)); /* the rest is there: at once */
    CHECK_EQ(got, 2);
    CHECK_MEM(rest, "lo", 2);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(cancel_io_ex_ends_one_operation) {
    HANDLE s, c;
    overlapped_pair("ovcancel", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    CHECK_OK(CancelIoEx(s, &ov));
    DWORD n = 7;
    CHECK_FAILS(GetOverlappedResult(s, &ov, &n, TRUE), ERROR_OPERATION_ABORTED);
    CHECK_EQ(n, 0);
    CHECK_EQ(ov.Internal, STATUS_CANCELLED);
    CHECK_FAILS(CancelIoEx(s, &ov), ERROR_NOT_FOUND);
    /* Nothing was lost: the next read gets what comes. */
    write_all(c, "ok", 2);
    read_exact(s, buf, 2);
    CHECK_MEM(buf, "ok", 2);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(cancel_io_ends_this_threads_operations) {
    HANDLE s, c;
    overlapped_pair("ovcancelio", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    CHECK_OK(CancelIo(s));
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_CANCELLED);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(a_read_and_a_write_are_pending_at_once) {
    HANDLE s, c;
    overlapped_pair("ovboth", PIPE_TYPE_BYTE, &s, &c);
    HANDLE er = manual_event(), ew = manual_event();
    OVERLAPPED ovr, ovw;
    init_ov(&ovr, er);
    init_ov(&ovw, ew);
    static char big[1 << 20];
    memset(big, 'x', sizeof big);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ovr), ERROR_IO_PENDING);
    /* More than the socket holds: the write waits for the client to read. */
    CHECK_FAILS(WriteFile(s, big, sizeof big, NULL, &ovw), ERROR_IO_PENDING);
    write_all(c, "ping", 4);
    CHECK_EQ(WaitForSingleObject(er, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ovr.InternalHigh, 4);
    static char sink[1 << 20];
    read_exact(c, sink, sizeof sink);
    CHECK_EQ(WaitForSingleObject(ew, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ovw.Internal, STATUS_SUCCESS);
    CHECK_EQ(ovw.InternalHigh, sizeof big);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(er);
    CloseHandle(ew);
}

TEST(a_pending_read_ends_with_the_peer) {
    HANDLE s, c;
    overlapped_pair("ovbroken", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    CloseHandle(c);
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_PIPE_BROKEN);
    DWORD n = 0;
    CHECK_FAILS(GetOverlappedResult(s, &ov, &n, FALSE), ERROR_BROKEN_PIPE);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(disconnect_ends_pending_reads) {
    HANDLE s, c;
    overlapped_pair("ovdisc", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    CHECK_EQ(ov.Internal, STATUS_PIPE_DISCONNECTED);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(get_overlapped_result_ex_times_out) {
    HANDLE s, c;
    overlapped_pair("ovresex", PIPE_TYPE_BYTE, &s, &c);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char buf[8];
    DWORD n = 0;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    CHECK_FAILS(GetOverlappedResultEx(s, &ov, &n, 0, FALSE), ERROR_IO_INCOMPLETE);
    CHECK_FAILS(GetOverlappedResultEx(s, &ov, &n, 50, FALSE), WAIT_TIMEOUT);
    write_all(c, "abc", 3);
    CHECK_OK(GetOverlappedResultEx(s, &ov, &n, 10000, FALSE));
    CHECK_EQ(n, 3);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

TEST(without_an_event_the_file_handle_is_waited_for) {
    HANDLE s, c;
    overlapped_pair("ovnoevent", PIPE_TYPE_BYTE, &s, &c);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    write_all(c, "xyz", 3);
    DWORD n = 0;
    CHECK_OK(GetOverlappedResult(s, &ov, &n, TRUE));
    CHECK_EQ(n, 3);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(transact_is_pending_until_the_reply) {
    HANDLE s, c;
    char name[128];
    pipe_name(name, "ovtransact");
    s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    REQUIRE_HANDLE(c);
    CHECK_OK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, e);
    char reply[16] = {0};
    DWORD n = 0;
    CHECK_FAILS(TransactNamedPipe(c, "ask", 3, reply, sizeof reply, &n, &ov), ERROR_IO_PENDING);
    char req[8];
    DWORD got = 0;
    CHECK_OK(ReadFile(s, req, sizeof req, &got, NULL));
    CHECK_EQ(got, 3);
    write_all(s, "answer", 6);
    CHECK_OK(GetOverlappedResult(c, &ov, &n, TRUE));
    CHECK_EQ(n, 6);
    CHECK_MEM(reply, "answer", 6);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(e);
}

/* ---- completion routines ---- */

static DWORD routine_calls, routine_error, routine_bytes;
static LPOVERLAPPED routine_ov;

static VOID WINAPI on_done(DWORD error, DWORD bytes, LPOVERLAPPED ov) {
    routine_calls++;
    routine_error = error;
    routine_bytes = bytes;
    routine_ov = ov;
}

TEST(read_file_ex_runs_its_routine_in_an_alertable_wait) {
    HANDLE s, c;
    overlapped_pair("ovex", PIPE_TYPE_BYTE, &s, &c);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    char buf[16];
    routine_calls = 0;
    CHECK_OK(ReadFileEx(s, buf, sizeof buf, &ov, on_done));
    write_all(c, "routine", 7);
    /* Completed (the handle is signaled again), but the routine waits for an alertable wait. */
    CHECK_EQ(WaitForSingleObject(s, 10000), WAIT_OBJECT_0);
    CHECK(HasOverlappedIoCompleted(&ov));
    CHECK_EQ(SleepEx(0, FALSE), 0);
    CHECK_EQ(routine_calls, 0);
    CHECK_EQ(SleepEx(10000, TRUE), WAIT_IO_COMPLETION);
    CHECK_EQ(routine_calls, 1);
    CHECK_EQ(routine_error, 0);
    CHECK_EQ(routine_bytes, 7);
    CHECK_EQ(routine_ov, &ov);
    /* Data already there: still TRUE, and the routine is still queued, not run. */
    write_all(c, "again", 5);
    Sleep(0);
    init_ov(&ov, NULL);
    unsigned long long spin = now_ms() + 10000;
    DWORD avail = 0;
    while (PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail < 5 && now_ms() < spin) Sleep(1);
    CHECK_OK(ReadFileEx(s, buf, sizeof buf, &ov, on_done));
    CHECK_EQ(routine_calls, 1);
    CHECK_EQ(WaitForSingleObjectEx(GetCurrentThread(), 10000, TRUE), WAIT_IO_COMPLETION);
    CHECK_EQ(routine_calls, 2);
    CHECK_EQ(routine_bytes, 5);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(ex_calls_need_an_overlapped_handle) {
    HANDLE s, c;
    make_pair("ovexsync", PIPE_TYPE_BYTE, &s, &c);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    char buf[4];
    CHECK_FAILS(ReadFileEx(s, buf, sizeof buf, &ov, on_done), ERROR_INVALID_PARAMETER);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(a_cancelled_read_file_ex_reports_operation_aborted) {
    HANDLE s, c;
    overlapped_pair("ovexcancel", PIPE_TYPE_BYTE, &s, &c);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    char buf[4];
    routine_calls = 0;
    CHECK_OK(ReadFileEx(s, buf, sizeof buf, &ov, on_done));
    CHECK_OK(CancelIo(s));
    CHECK_EQ(SleepEx(10000, TRUE), WAIT_IO_COMPLETION);
    CHECK_EQ(routine_calls, 1);
    CHECK_EQ(routine_error, ERROR_OPERATION_ABORTED);
    CloseHandle(c);
    CloseHandle(s);
}

/* ---- completion ports ---- */

TEST(a_completion_port_gets_the_packets_of_its_files) {
    HANDLE s, c;
    overlapped_pair("oviocp", PIPE_TYPE_BYTE, &s, &c);
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 2);
    REQUIRE_HANDLE(port);
    CHECK_EQ(CreateIoCompletionPort(s, port, 77, 0), port);
    CHECK_RET_ERR(CreateIoCompletionPort(s, port, 78, 0), NULL, ERROR_INVALID_PARAMETER);
    OVERLAPPED ov;
    init_ov(&ov, NULL);
    char buf[16];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    write_all(c, "packet", 6);
    DWORD n = 0;
    ULONG_PTR key = 0;
    LPOVERLAPPED got = NULL;
    CHECK_OK(GetQueuedCompletionStatus(port, &n, &key, &got, 10000));
    CHECK_EQ(n, 6);
    CHECK_EQ(key, 77);
    CHECK_EQ(got, &ov);
    /* Completed at once: posted too. */
    write_all(c, "now", 3);
    DWORD avail = 0;
    unsigned long long until = now_ms() + 10000;
    while (PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail < 3 && now_ms() < until) Sleep(1);
    init_ov(&ov, NULL);
    CHECK_OK(ReadFile(s, buf, sizeof buf, NULL, &ov));
    CHECK_OK(GetQueuedCompletionStatus(port, &n, &key, &got, 10000));
    CHECK_EQ(n, 3);
    /* Nothing more: a timeout, with no OVERLAPPED. */
    got = &ov;
    CHECK_FAILS(GetQueuedCompletionStatus(port, &n, &key, &got, 20), WAIT_TIMEOUT);
    CHECK_EQ(got, NULL);
    CHECK_OK(PostQueuedCompletionStatus(port, 42, 9, (LPOVERLAPPED)&n));
    CHECK_OK(GetQueuedCompletionStatus(port, &n, &key, &got, 0));
    CHECK_EQ(n, 42);
    CHECK_EQ(key, 9);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(port);
}

TEST(the_low_bit_of_the_event_and_skip_on_success_post_nothing) {
    HANDLE s, c;
    overlapped_pair("ovskip", PIPE_TYPE_BYTE, &s, &c);
    HANDLE port = CreateIoCompletionPort(s, NULL, 5, 0);
    REQUIRE_HANDLE(port);
    HANDLE e = manual_event();
    OVERLAPPED ov;
    init_ov(&ov, (HANDLE)((uintptr_t)e | 1));
    char buf[8];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, NULL, &ov), ERROR_IO_PENDING);
    write_all(c, "quiet", 5);
    CHECK_EQ(WaitForSingleObject(e, 10000), WAIT_OBJECT_0);
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED got;
    CHECK_FAILS(GetQueuedCompletionStatus(port, &n, &key, &got, 0), WAIT_TIMEOUT);
    CHECK_OK(SetFileCompletionNotificationModes(s, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS));
    write_all(c, "fast", 4);
    DWORD avail = 0;
    unsigned long long until = now_ms() + 10000;
    while (PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail < 4 && now_ms() < until) Sleep(1);
    init_ov(&ov, NULL);
    CHECK_OK(ReadFile(s, buf, sizeof buf, NULL, &ov));
    CHECK_FAILS(GetQueuedCompletionStatus(port, &n, &key, &got, 0), WAIT_TIMEOUT);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(port);
    CloseHandle(e);
}

static DWORD WINAPI wait_on_port(LPVOID arg) {
    DWORD n;
    ULONG_PTR key;
    LPOVERLAPPED ov;
    BOOL ok = GetQueuedCompletionStatus((HANDLE)arg, &n, &key, &ov, 20000);
    return ok ? 0 : GetLastError();
}

TEST(closing_a_port_wakes_its_waiters) {
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    REQUIRE_HANDLE(port);
    HANDLE t = start_thread(wait_on_port, port);
    Sleep(50); /* the thread is (most likely) waiting; either way it must end */
    CloseHandle(port);
    CHECK_EQ(join_thread(t), ERROR_ABANDONED_WAIT_0);
    CloseHandle(t);
}

TEST(get_queued_completion_status_ex_takes_several) {
    HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0);
    REQUIRE_HANDLE(port);
    for (ULONG_PTR i = 1; i <= 3; ++i) CHECK_OK(PostQueuedCompletionStatus(port, (DWORD)i * 10, i, NULL));
    OVERLAPPED_ENTRY entries[8];
    ULONG removed = 0;
    CHECK_OK(GetQueuedCompletionStatusEx(port, entries, 8, &removed, 0, FALSE));
    CHECK_EQ(removed, 3);
    CHECK_EQ(entries[0].lpCompletionKey, 1);
    CHECK_EQ(entries[2].dwNumberOfBytesTransferred, 30);
    CHECK_FAILS(GetQueuedCompletionStatusEx(port, entries, 8, &removed, 0, FALSE), WAIT_TIMEOUT);
    CloseHandle(port);
}

TEST_TABLE{
    TEST_ENTRY(connect_is_pending_until_a_client_comes),
    TEST_ENTRY(connect_after_the_client_came_is_pipe_connected),
    TEST_ENTRY(read_is_pending_until_data_comes),
    TEST_ENTRY(read_of_data_already_there_completes_at_once),
    TEST_ENTRY(pending_reads_complete_in_order),
    TEST_ENTRY(part_of_a_message_is_buffer_overflow),
    TEST_ENTRY(cancel_io_ex_ends_one_operation),
    TEST_ENTRY(cancel_io_ends_this_threads_operations),
    TEST_ENTRY(a_read_and_a_write_are_pending_at_once),
    TEST_ENTRY(a_pending_read_ends_with_the_peer),
    TEST_ENTRY(disconnect_ends_pending_reads),
    TEST_ENTRY(get_overlapped_result_ex_times_out),
    TEST_ENTRY(without_an_event_the_file_handle_is_waited_for),
    TEST_ENTRY(transact_is_pending_until_the_reply),
    TEST_ENTRY(read_file_ex_runs_its_routine_in_an_alertable_wait),
    TEST_ENTRY(ex_calls_need_an_overlapped_handle),
    TEST_ENTRY(a_cancelled_read_file_ex_reports_operation_aborted),
    TEST_ENTRY(a_completion_port_gets_the_packets_of_its_files),
    TEST_ENTRY(the_low_bit_of_the_event_and_skip_on_success_post_nothing),
    TEST_ENTRY(closing_a_port_wakes_its_waiters),
    TEST_ENTRY(get_queued_completion_status_ex_takes_several),
    TABLE_END,
};

ROLE_TABLE{TABLE_END};
