/* PeekNamedPipe, TransactNamedPipe, CallNamedPipe. */
#include "harness.h"

static void wait_for_bytes(HANDLE h, DWORD total) {
    DWORD avail = 0;
    unsigned long long deadline = now_ms() + 5000;
    while (PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail < total && now_ms() < deadline)
        Sleep(1);
    REQUIRE_EQ(avail, total);
}

static void message_pair(const char* tag, HANDLE* s, HANDLE* c) {
    make_pair(tag, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, s, c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    REQUIRE_OK(SetNamedPipeHandleState(*c, &mode, NULL, NULL));
}

TEST(peek_byte_pipe_counts) {
    HANDLE s, c;
    make_pair("peekbyte", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "0123456789", 10);
    wait_for_bytes(c, 10);
    char buf[16];
    DWORD read = 99, avail = 99, left = 99;
    CHECK_OK(PeekNamedPipe(c, buf, 4, &read, &avail, &left));
    CHECK_EQ(read, 4);
    CHECK_EQ(avail, 10);
    CHECK_EQ(left, (DWORD)(0u - 4u));
    CHECK_MEM(buf, "0123", 4);
    read = avail = left = 99;
    CHECK_OK(PeekNamedPipe(c, NULL, 0, &read, &avail, &left));
    CHECK_EQ(read, 0);
    CHECK_EQ(avail, 10);
    CHECK_EQ(left, 0);
    /* Peek removed nothing. */
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 10);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(peek_empty_pipe_returns_at_once) {
    HANDLE s, c;
    make_pair("peekempty", PIPE_TYPE_BYTE, &s, &c);
    char buf[4];
    DWORD read = 99, avail = 99, left = 99;
    CHECK_OK(PeekNamedPipe(c, buf, sizeof buf, &read, &avail, &left));
    CHECK_EQ(read, 0);
    CHECK_EQ(avail, 0);
    CHECK_EQ(left, 0);
    CHECK_OK(PeekNamedPipe(s, NULL, 0, NULL, NULL, NULL));
    CloseHandle(c);
    CloseHandle(s);
}

TEST(peek_message_pipe_counts) {
    HANDLE s, c;
    message_pair("peekmsg", &s, &c);
    write_all(s, "0123456789", 10);
    write_all(s, "abcde", 5);
    wait_for_bytes(c, 15);
    char buf[32];
    DWORD read = 99, avail = 99, left = 99;
    /* A buffer shorter than the message: TRUE, not ERROR_MORE_DATA. */
    CHECK_OK(PeekNamedPipe(c, buf, 4, &read, &avail, &left));
    CHECK_EQ(read, 4);
    CHECK_EQ(avail, 15);
    CHECK_EQ(left, 6);
    CHECK_OK(PeekNamedPipe(c, buf, sizeof buf, &read, &avail, &left));
    CHECK_EQ(read, 10);
    CHECK_EQ(avail, 15);
    CHECK_EQ(left, 0);
    CHECK_MEM(buf, "0123456789", 10);
    CHECK_OK(PeekNamedPipe(c, NULL, 0, &read, &avail, &left));
    CHECK_EQ(read, 0);
    CHECK_EQ(left, 10);
    /* After a partial read the head message's remainder counts. */
    DWORD n = 0;
    CHECK_FAILS(ReadFile(c, buf, 3, &n, NULL), ERROR_MORE_DATA);
    CHECK_OK(PeekNamedPipe(c, NULL, 0, &read, &avail, &left));
    CHECK_EQ(avail, 12);
    CHECK_EQ(left, 7);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(peek_message_pipe_in_byte_read_mode_returns_only_head_message) {
    HANDLE s, c;
    make_pair("peekhead", PIPE_TYPE_MESSAGE, &s, &c);
    write_all(s, "0123456789", 10);
    write_all(s, "abcde", 5);
    wait_for_bytes(c, 15);
    char buf[32];
    DWORD read = 99, avail = 99;
    CHECK_OK(PeekNamedPipe(c, buf, sizeof buf, &read, &avail, NULL));
    CHECK_EQ(read, 10);
    CHECK_EQ(avail, 15);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(peek_after_peer_closed) {
    HANDLE s, c;
    make_pair("peekclosed", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "ab", 2);
    CloseHandle(s);
    char buf[8];
    DWORD read = 99, avail = 99;
    CHECK_OK(PeekNamedPipe(c, buf, sizeof buf, &read, &avail, NULL));
    CHECK_EQ(read, 2);
    CHECK_EQ(avail, 2);
    read_exact(c, buf, 2);
    read = avail = 99;
    CHECK_FAILS(PeekNamedPipe(c, buf, sizeof buf, &read, &avail, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(read, 99);
    CHECK_EQ(avail, 99);
    CloseHandle(c);
}

static DWORD WINAPI reply_server(LPVOID p) {
    HANDLE s = p;
    char buf[64];
    DWORD n = 0;
    if (!ReadFile(s, buf, sizeof buf, &n, NULL)) return 1000 + GetLastError();
    if (n != 4 || memcmp(buf, "ping", 4) != 0) return 2;
    if (!WriteFile(s, "pong!", 5, &n, NULL) || n != 5) return 3;
    return 0;
}

TEST(transact_writes_and_reads_one_message) {
    HANDLE s, c;
    message_pair("transact", &s, &c);
    HANDLE t = start_thread(reply_server, s);
    char out[16];
    DWORD n = 0;
    CHECK_OK(TransactNamedPipe(c, "ping", 4, out, sizeof out, &n, NULL));
    CHECK_EQ(n, 5);
    CHECK_MEM(out, "pong!", 5);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(transact_reply_larger_than_buffer_is_more_data) {
    HANDLE s, c;
    message_pair("transactmore", &s, &c);
    HANDLE t = start_thread(reply_server, s);
    char out[16];
    DWORD n = 0;
    CHECK_FAILS(TransactNamedPipe(c, "ping", 4, out, 2, &n, NULL), ERROR_MORE_DATA);
    CHECK_MEM(out, "po", 2);
    CHECK_EQ(join_thread(t), 0);
    /* The rest of the reply is still there. */
    CHECK_OK(ReadFile(c, out, sizeof out, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(out, "ng!", 3);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(transact_on_byte_pipe_or_byte_read_mode_is_bad_pipe) {
    HANDLE s, c;
    char out[8];
    DWORD n;
    make_pair("transactbyte", PIPE_TYPE_BYTE, &s, &c);
    CHECK_FAILS(TransactNamedPipe(c, "ping", 4, out, sizeof out, &n, NULL), ERROR_BAD_PIPE);
    CloseHandle(c);
    CloseHandle(s);
    make_pair("transactbytemode", PIPE_TYPE_MESSAGE, &s, &c);
    CHECK_FAILS(TransactNamedPipe(c, "ping", 4, out, sizeof out, &n, NULL), ERROR_BAD_PIPE);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(transact_with_unread_data_is_pipe_busy) {
    HANDLE s, c;
    message_pair("transactbusy", &s, &c);
    write_all(s, "stale", 5);
    wait_for_bytes(c, 5);
    char out[8];
    DWORD n;
    CHECK_FAILS(TransactNamedPipe(c, "ping", 4, out, sizeof out, &n, NULL), ERROR_PIPE_BUSY);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(transact_on_listening_server_is_bad_pipe) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "transactlisten"), PIPE_ACCESS_DUPLEX,
                           PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    char out[8];
    DWORD n;
    CHECK_FAILS(TransactNamedPipe(s, "ping", 4, out, sizeof out, &n, NULL), ERROR_BAD_PIPE);
    CloseHandle(s);
}

struct call_server_args {
    HANDLE s;
    const char* reply;
    DWORD reply_len;
};

static DWORD WINAPI call_server(LPVOID p) {
    struct call_server_args* a = p;
    BOOL r = ConnectNamedPipe(a->s, NULL);
    if (!r && GetLastError() != ERROR_PIPE_CONNECTED) return 1000 + GetLastError();
    char buf[64];
    DWORD n = 0;
    if (!ReadFile(a->s, buf, sizeof buf, &n, NULL)) return 2000 + GetLastError();
    if (n != 4 || memcmp(buf, "ping", 4) != 0) return 2;
    if (!WriteFile(a->s, a->reply, a->reply_len, &n, NULL)) return 3000 + GetLastError();
    /* The client closes after its transaction. */
    if (ReadFile(a->s, buf, sizeof buf, &n, NULL) || GetLastError() != ERROR_BROKEN_PIPE) return 4;
    return 0;
}

TEST(call_named_pipe_round_trip) {
    char name[128];
    pipe_name(name, "call");
    struct call_server_args a;
    a.s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    a.reply = "pong!";
    a.reply_len = 5;
    HANDLE t = start_thread(call_server, &a);
    char out[16];
    DWORD n = 0;
    CHECK_OK(CallNamedPipeA(name, "ping", 4, out, sizeof out, &n, NMPWAIT_WAIT_FOREVER));
    CHECK_EQ(n, 5);
    CHECK_MEM(out, "pong!", 5);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(a.s);
}

TEST(call_named_pipe_wide_round_trip) {
    char name[128];
    WCHAR wname[128];
    pipe_name(name, "callw");
    struct call_server_args a;
    a.s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    a.reply = "wide";
    a.reply_len = 4;
    HANDLE t = start_thread(call_server, &a);
    char out[16];
    DWORD n = 0;
    CHECK_OK(CallNamedPipeW(widen(name, wname), "ping", 4, out, sizeof out, &n, 5000));
    CHECK_EQ(n, 4);
    CHECK_MEM(out, "wide", 4);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(a.s);
}

TEST(call_named_pipe_reply_too_long_is_more_data) {
    char name[128];
    pipe_name(name, "callmore");
    struct call_server_args a;
    a.s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    a.reply = "a long reply";
    a.reply_len = 12;
    HANDLE t = start_thread(call_server, &a);
    char out[16];
    DWORD n = 0;
    CHECK_FAILS(CallNamedPipeA(name, "ping", 4, out, 5, &n, 5000), ERROR_MORE_DATA);
    CHECK_MEM(out, "a lon", 5);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(a.s);
}

TEST(call_named_pipe_missing_name_is_file_not_found) {
    char name[128];
    char out[8];
    DWORD n = 0;
    CHECK_FAILS(CallNamedPipeA(pipe_name(name, "callnobody"), "ping", 4, out, sizeof out, &n, 5000),
                ERROR_FILE_NOT_FOUND);
}

TEST(invalid_handle_for_peek_and_transact) {
    char out[8];
    DWORD n;
    CHECK_FAILS(PeekNamedPipe(BOGUS_HANDLE, out, sizeof out, &n, NULL, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(TransactNamedPipe(BOGUS_HANDLE, "x", 1, out, sizeof out, &n, NULL),
                ERROR_INVALID_HANDLE);
}

TEST_TABLE{
    TEST_ENTRY(peek_byte_pipe_counts),
    TEST_ENTRY(peek_empty_pipe_returns_at_once),
    TEST_ENTRY(peek_message_pipe_counts),
    TEST_ENTRY(peek_message_pipe_in_byte_read_mode_returns_only_head_message),
    TEST_ENTRY(peek_after_peer_closed),
    TEST_ENTRY(transact_writes_and_reads_one_message),
    TEST_ENTRY(transact_reply_larger_than_buffer_is_more_data),
    TEST_ENTRY(transact_on_byte_pipe_or_byte_read_mode_is_bad_pipe),
    TEST_ENTRY(transact_with_unread_data_is_pipe_busy),
    TEST_ENTRY(transact_on_listening_server_is_bad_pipe),
    TEST_ENTRY(call_named_pipe_round_trip),
    TEST_ENTRY(call_named_pipe_wide_round_trip),
    TEST_ENTRY(call_named_pipe_reply_too_long_is_more_data),
    TEST_ENTRY(call_named_pipe_missing_name_is_file_not_found),
    TEST_ENTRY(invalid_handle_for_peek_and_transact),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
