/* PIPE_NOWAIT: reads that would block, writes that do not fit, switching wait modes. */
#include "harness.h"

#include <stdlib.h>

TEST(nowait_read_with_nothing_queued_is_no_data) {
    HANDLE s, c;
    make_pair("nwread", PIPE_TYPE_BYTE | PIPE_NOWAIT, &s, &c);
    char buf[16];
    DWORD n = 99;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_NO_DATA);
    CHECK_EQ(n, 0);
    write_all(c, "data", 4);
    /* Once data is there the read returns it (poll with a deadline: it may take a moment). */
    unsigned long long deadline = now_ms() + 5000;
    BOOL ok = FALSE;
    DWORD err = 0;
    for (;;) {
        ok = ReadFile(s, buf, sizeof buf, &n, NULL);
        err = GetLastError();
        if (ok || err != ERROR_NO_DATA || now_ms() > deadline) break;
        Sleep(1);
    }
    CHECK(ok);
    CHECK_EQ(n, 4);
    CHECK_MEM(buf, "data", 4);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(client_switched_to_nowait_reads_no_data) {
    HANDLE s, c;
    make_pair("nwclient", PIPE_TYPE_BYTE, &s, &c);
    DWORD mode = PIPE_READMODE_BYTE | PIPE_NOWAIT;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    char buf[16];
    DWORD n = 99;
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_NO_DATA);
    CHECK_EQ(n, 0);
    /* Back to blocking: the read waits for data. */
    mode = PIPE_READMODE_BYTE | PIPE_WAIT;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    write_all(s, "x", 1);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 1);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(nowait_write_that_fits_writes_everything) {
    HANDLE s, c;
    make_pair("nwwrite", PIPE_TYPE_BYTE | PIPE_NOWAIT, &s, &c);
    DWORD n = 0;
    CHECK_OK(WriteFile(s, "0123456789", 10, &n, NULL));
    CHECK_EQ(n, 10);
    char buf[16];
    read_exact(c, buf, 10);
    CHECK_MEM(buf, "0123456789", 10);
    CloseHandle(c);
    CloseHandle(s);
}

/* Fills a nowait pipe with `chunk`-byte writes: every write succeeds and writes all or nothing;
 * eventually one writes nothing. */
static void fill_nowait(HANDLE h, DWORD chunk) {
    char* data = calloc(1, chunk);
    REQUIRE(data != NULL);
    int partial = 0, failed = 0, full = 0;
    for (int i = 0; i < 4096; ++i) {
        DWORD n = 12345;
        BOOL ok = WriteFile(h, data, chunk, &n, NULL);
        if (!ok) {
            note("nowait WriteFile failed with %lu %s", (unsigned long)GetLastError(),
                 error_name(GetLastError()));
            ++failed;
            break;
        }
        if (n == 0) {
            full = 1;
            break;
        }
        if (n != chunk) {
            note("nowait WriteFile wrote %lu of %lu bytes", (unsigned long)n, (unsigned long)chunk);
            ++partial;
            break;
        }
    }
    CHECK_EQ(failed, 0);
    CHECK_EQ(partial, 0);
    CHECK_EQ(full, 1);
    free(data);
}

TEST(nowait_write_that_does_not_fit_writes_nothing_byte_pipe) {
    HANDLE s, c;
    make_pair("nwfullbyte", PIPE_TYPE_BYTE | PIPE_NOWAIT, &s, &c);
    fill_nowait(s, 4096);
    /* Still TRUE with 0 while full. */
    static char again[4096];
    DWORD n = 99;
    CHECK_OK(WriteFile(s, again, sizeof again, &n, NULL));
    CHECK_EQ(n, 0);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(nowait_write_that_does_not_fit_writes_nothing_message_pipe) {
    HANDLE s, c;
    make_pair("nwfullmsg", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT, &s, &c);
    fill_nowait(s, 3000);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(nowait_message_read_with_short_buffer_is_more_data) {
    HANDLE s, c;
    make_pair("nwmore", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT, &s, &c);
    write_all(c, "0123456789", 10);
    char buf[16];
    DWORD n = 0, avail = 0;
    unsigned long long deadline = now_ms() + 5000;
    while (PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL) && avail < 10 && now_ms() < deadline)
        Sleep(1);
    CHECK_FAILS(ReadFile(s, buf, 4, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 4);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 6);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_NO_DATA);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(nowait_read_after_peer_closed_is_broken_pipe) {
    HANDLE s, c;
    make_pair("nwbroken", PIPE_TYPE_BYTE | PIPE_NOWAIT, &s, &c);
    write_all(c, "ab", 2);
    CloseHandle(c);
    char buf[8];
    DWORD n = 0;
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 2);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_FAILS(WriteFile(s, "x", 1, &n, NULL), ERROR_NO_DATA);
    CloseHandle(s);
}

TEST(nowait_state_is_reported) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "nwstate"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1);
    DWORD state = 99;
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_NOWAIT);
    DWORD mode = PIPE_WAIT;
    CHECK_OK(SetNamedPipeHandleState(s, &mode, NULL, NULL));
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_WAIT);
    CloseHandle(s);
}

/* PIPE_NOWAIT on an overlapped handle: nothing pends, the answers come at once (Wine's
 * test_nowait, run on Windows). */
TEST(nowait_on_an_overlapped_handle_never_pends) {
    char name[128];
    pipe_name(name, "nwoverlapped");
    HANDLE s = CreateNamedPipeA(name, FILE_FLAG_OVERLAPPED | PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1, 512,
                                512, NMPWAIT_USE_DEFAULT_WAIT, NULL);
    REQUIRE_HANDLE(s);
    OVERLAPPED ol;
    memset(&ol, 0, sizeof ol);
    ol.hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK_FAILS(ConnectNamedPipe(s, &ol), ERROR_PIPE_LISTENING);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    char buf[64];
    DWORD n = 99;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, &ol), ERROR_NO_DATA);
    write_all(c, "bits", 4);
    unsigned long long deadline = now_ms() + 5000;
    BOOL ok = FALSE;
    while (!(ok = ReadFile(s, buf, sizeof buf, &n, &ol)) && GetLastError() == ERROR_NO_DATA && now_ms() < deadline)
        Sleep(1);
    CHECK(ok); /* at once, not ERROR_IO_PENDING */
    CHECK_EQ(n, 4);
    CloseHandle(c);
    deadline = now_ms() + 5000;
    BOOL connected = FALSE;
    DWORD err = 0;
    while (!(connected = ConnectNamedPipe(s, &ol)) && (err = GetLastError()) == ERROR_PIPE_CONNECTED &&
           now_ms() < deadline)
        Sleep(1); /* until the server end has seen the close */
    CHECK(!connected);
    CHECK_EQ(err, ERROR_NO_DATA);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_FAILS(ConnectNamedPipe(s, &ol), ERROR_PIPE_LISTENING);
    CloseHandle(ol.hEvent);
    CloseHandle(s);
}

TEST_TABLE{
    TEST_ENTRY(nowait_read_with_nothing_queued_is_no_data),
    TEST_ENTRY(client_switched_to_nowait_reads_no_data),
    TEST_ENTRY(nowait_write_that_fits_writes_everything),
    TEST_ENTRY(nowait_write_that_does_not_fit_writes_nothing_byte_pipe),
    TEST_ENTRY(nowait_write_that_does_not_fit_writes_nothing_message_pipe),
    TEST_ENTRY(nowait_message_read_with_short_buffer_is_more_data),
    TEST_ENTRY(nowait_read_after_peer_closed_is_broken_pipe),
    TEST_ENTRY(nowait_state_is_reported),
    TEST_ENTRY(nowait_on_an_overlapped_handle_never_pends),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
