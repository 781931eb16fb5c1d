/* Message-type pipes: boundaries, ERROR_MORE_DATA, zero-length messages, read modes,
 * SetNamedPipeHandleState. */
#include "harness.h"

#include <stdlib.h>

/* A message pipe whose client is switched to message read mode. */
static void message_pair(const char* tag, HANDLE* s, HANDLE* c) {
    make_pair(tag, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, s, c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    REQUIRE_OK(SetNamedPipeHandleState(*c, &mode, NULL, NULL));
}

/* Waits until `h` has `total` bytes queued (PeekNamedPipe), with a deadline. */
static void wait_for_bytes(HANDLE h, DWORD total) {
    DWORD avail = 0;
    unsigned long long deadline = now_ms() + 5000;
    while (PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL) && avail < total && now_ms() < deadline)
        Sleep(1);
    REQUIRE_EQ(avail, total);
}

TEST(each_write_is_one_message) {
    HANDLE s, c;
    message_pair("bounds", &s, &c);
    write_all(s, "abc", 3);
    write_all(s, "defgh", 5);
    wait_for_bytes(c, 8);
    char buf[64];
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "abc", 3);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 5);
    CHECK_MEM(buf, "defgh", 5);
    /* The server, created in message read mode, gets one message per read too. */
    write_all(c, "12345678901", 11);
    write_all(c, "1234567890", 10);
    wait_for_bytes(s, 21);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 11);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(short_buffer_gives_more_data_and_the_rest_follows) {
    HANDLE s, c;
    message_pair("moredata", &s, &c);
    write_all(s, "0123456789", 10);
    char buf[64];
    DWORD n = 0;
    CHECK_FAILS(ReadFile(c, buf, 3, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "012", 3);
    CHECK_FAILS(ReadFile(c, buf, 3, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "345", 3);
    CHECK_FAILS(ReadFile(c, buf, 3, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 3);
    CHECK_OK(ReadFile(c, buf, 3, &n, NULL));
    CHECK_EQ(n, 1);
    CHECK_EQ(buf[0], '9');
    CloseHandle(c);
    CloseHandle(s);
}

TEST(byte_read_mode_on_message_pipe_spans_messages) {
    HANDLE s, c;
    /* The client stays in its initial byte read mode. */
    make_pair("bytereadmsg", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    write_all(s, "12345678901", 11);
    write_all(s, "abcdefghij", 10);
    wait_for_bytes(c, 21);
    char buf[64];
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 21);
    CHECK_MEM(buf, "12345678901abcdefghij", 21);
    /* A short buffer is no ERROR_MORE_DATA in byte read mode. */
    write_all(s, "0123456789", 10);
    CHECK_OK(ReadFile(c, buf, 4, &n, NULL));
    CHECK_EQ(n, 4);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(zero_length_message_in_message_read_mode) {
    HANDLE s, c;
    message_pair("zeromsg", &s, &c);
    DWORD n = 99;
    CHECK_OK(WriteFile(s, "", 0, &n, NULL));
    CHECK_EQ(n, 0);
    write_all(s, "next", 4);
    char buf[16];
    n = 99;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    CHECK_MEM(buf, "next", 4);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(zero_length_message_in_byte_read_mode_is_consumed) {
    HANDLE s, c;
    make_pair("zerobyte", PIPE_TYPE_MESSAGE, &s, &c);
    write_all(s, "", 0);
    write_all(s, "after", 5);
    wait_for_bytes(c, 5);
    char buf[16];
    DWORD n = 99;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 5);
    CHECK_MEM(buf, "after", 5);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(zero_byte_read_does_not_consume_a_message) {
    HANDLE s, c;
    message_pair("zeroread", &s, &c);
    write_all(s, "keep", 4);
    wait_for_bytes(c, 4);
    DWORD n = 99;
    char buf[16];
    /* Message read mode (Windows 8 and later): ERROR_MORE_DATA, 0 bytes, message kept. */
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 0);
    DWORD avail = 0;
    CHECK_OK(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL));
    CHECK_EQ(avail, 4);
    /* Byte read mode: TRUE, 0 bytes, message kept. */
    DWORD mode = PIPE_READMODE_BYTE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    n = 99;
    CHECK_OK(ReadFile(c, buf, 0, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    CloseHandle(c);
    CloseHandle(s);
}

/* Once the server has closed and everything is read, a zero-byte read fails with
 * ERROR_BROKEN_PIPE in either read mode, as any read does (Wine's kernel32 test_CloseHandle, run
 * on Windows); before that, it takes nothing. */
TEST(zero_byte_read_after_server_closed_is_broken_pipe) {
    HANDLE s, c;
    make_pair("zeroclosed", PIPE_TYPE_MESSAGE, &s, &c); /* the client reads in byte read mode */
    write_all(s, "Hello", 5);
    CHECK_OK(CloseHandle(s));
    char buf[16];
    DWORD n = 99;
    CHECK_OK(ReadFile(c, buf, 0, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 5);
    n = 99;
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(n, 0);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

TEST(zero_byte_read_after_server_closed_is_broken_pipe_in_message_read_mode) {
    HANDLE s, c;
    message_pair("zeroclosedmsg", &s, &c);
    write_all(s, "one", 3);
    CHECK_OK(CloseHandle(s));
    char buf[16];
    DWORD n = 99;
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_MORE_DATA);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    n = 99;
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(n, 0);
    CloseHandle(c);
}

/* A zero-length message is taken by any read, a zero-byte one too (Wine's test_blocking_rw,
 * run on Windows: a zero-length write completes one pending zero-byte read, and a one-byte read
 * queued behind it waits for the next message). */
static void zero_byte_read_takes_an_empty_message(const char* tag, DWORD read_mode) {
    HANDLE s, c;
    make_pair(tag, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    REQUIRE_OK(SetNamedPipeHandleState(c, &read_mode, NULL, NULL));
    write_all(s, "", 0);
    write_all(s, "x", 1);
    wait_for_bytes(c, 1);
    char buf[16];
    DWORD n = 99;
    CHECK_OK(ReadFile(c, buf, 0, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 1);
    CHECK_EQ(buf[0], 'x');
    CloseHandle(c);
    CloseHandle(s);
}

TEST(zero_byte_read_takes_an_empty_message_in_byte_read_mode) {
    zero_byte_read_takes_an_empty_message("zeroemptyb", PIPE_READMODE_BYTE);
}

TEST(zero_byte_read_takes_an_empty_message_in_message_read_mode) {
    zero_byte_read_takes_an_empty_message("zeroemptym", PIPE_READMODE_MESSAGE);
}

struct zero_read_args {
    HANDLE h;
    BOOL ok;
    DWORD n;
    DWORD err;
};

static DWORD WINAPI zero_read_thread(LPVOID p) {
    struct zero_read_args* a = p;
    char buf[1];
    a->ok = ReadFile(a->h, buf, 0, &a->n, NULL);
    a->err = GetLastError();
    return 0;
}

/* On an empty pipe a zero-byte read waits for something to arrive (Wine's test_blocking_rw:
 * "pipe is empty, the next read will block"), then returns without taking it; the server
 * closing ends it with ERROR_BROKEN_PIPE. */
TEST(zero_byte_read_in_byte_read_mode_waits_for_a_message) {
    HANDLE s, c;
    make_pair("zerowait", PIPE_TYPE_MESSAGE, &s, &c);
    struct zero_read_args a = {c, FALSE, 99, 0};
    HANDLE t = start_thread(zero_read_thread, &a);
    REQUIRE(wait_until_busy(c, 5000));
    write_all(s, "go", 2);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, 0);
    DWORD avail = 0;
    CHECK_OK(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL));
    CHECK_EQ(avail, 2);
    char buf[4];
    read_exact(c, buf, 2);
    struct zero_read_args b = {c, TRUE, 99, 0};
    t = start_thread(zero_read_thread, &b);
    REQUIRE(wait_until_busy(c, 5000));
    CHECK_OK(CloseHandle(s));
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(b.ok, FALSE);
    CHECK_EQ(b.err, ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

TEST(message_read_mode_on_byte_pipe_is_invalid_parameter) {
    HANDLE s, c;
    make_pair("msgonbyte", PIPE_TYPE_BYTE, &s, &c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_FAILS(SetNamedPipeHandleState(c, &mode, NULL, NULL), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(SetNamedPipeHandleState(s, &mode, NULL, NULL), ERROR_INVALID_PARAMETER);
    DWORD state = 99;
    CHECK_OK(GetNamedPipeHandleStateA(c, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_BYTE);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(read_mode_switches_back_and_forth) {
    HANDLE s, c;
    make_pair("switch", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    DWORD state = 99;
    DWORD mode = PIPE_READMODE_BYTE;
    CHECK_OK(SetNamedPipeHandleState(s, &mode, NULL, NULL));
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_BYTE);
    mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(s, &mode, NULL, NULL));
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_MESSAGE);
    mode = PIPE_READMODE_MESSAGE | PIPE_NOWAIT;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    CHECK_OK(GetNamedPipeHandleStateA(c, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_MESSAGE | PIPE_NOWAIT);
    /* NULL mode changes nothing. */
    CHECK_OK(SetNamedPipeHandleState(c, NULL, NULL, NULL));
    CHECK_OK(GetNamedPipeHandleStateA(c, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_MESSAGE | PIPE_NOWAIT);
    CloseHandle(c);
    CloseHandle(s);
}

struct big_msg {
    HANDLE h;
    char* data;
    DWORD size;
    BOOL ok;
    DWORD n;
};

static DWORD WINAPI big_msg_writer(LPVOID p) {
    struct big_msg* a = p;
    a->ok = WriteFile(a->h, a->data, a->size, &a->n, NULL);
    return 0;
}

TEST(message_larger_than_buffer_arrives_whole) {
    char name[128];
    pipe_name(name, "bigmsg");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                                1, 512, 512, 0, NULL);
    REQUIRE_HANDLE(s);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    struct big_msg a;
    memset(&a, 0, sizeof a);
    a.h = s;
    a.size = 300000;
    a.data = malloc(a.size);
    char* got = malloc(a.size + 16);
    REQUIRE(a.data && got);
    for (DWORD i = 0; i < a.size; ++i) a.data[i] = (char)('a' + i % 26);
    HANDLE t = start_thread(big_msg_writer, &a);
    DWORD n = 0;
    CHECK_OK(ReadFile(c, got, a.size + 16, &n, NULL));
    CHECK_EQ(n, a.size);
    CHECK(memcmp(got, a.data, a.size) == 0);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, a.size);
    free(a.data);
    free(got);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(messages_then_close_then_broken_pipe) {
    HANDLE s, c;
    message_pair("msgclose", &s, &c);
    write_all(s, "one", 3);
    write_all(s, "", 0);
    CloseHandle(s);
    char buf[32];
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    n = 99;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

TEST(invalid_handle_for_set_state) {
    DWORD mode = PIPE_READMODE_BYTE;
    CHECK_FAILS(SetNamedPipeHandleState(BOGUS_HANDLE, &mode, NULL, NULL), ERROR_INVALID_HANDLE);
}

TEST_TABLE{
    TEST_ENTRY(each_write_is_one_message),
    TEST_ENTRY(short_buffer_gives_more_data_and_the_rest_follows),
    TEST_ENTRY(byte_read_mode_on_message_pipe_spans_messages),
    TEST_ENTRY(zero_length_message_in_message_read_mode),
    TEST_ENTRY(zero_length_message_in_byte_read_mode_is_consumed),
    TEST_ENTRY(zero_byte_read_does_not_consume_a_message),
    TEST_ENTRY(zero_byte_read_after_server_closed_is_broken_pipe),
    TEST_ENTRY(zero_byte_read_after_server_closed_is_broken_pipe_in_message_read_mode),
    TEST_ENTRY(zero_byte_read_takes_an_empty_message_in_byte_read_mode),
    TEST_ENTRY(zero_byte_read_takes_an_empty_message_in_message_read_mode),
    TEST_ENTRY(zero_byte_read_in_byte_read_mode_waits_for_a_message),
    TEST_ENTRY(message_read_mode_on_byte_pipe_is_invalid_parameter),
    TEST_ENTRY(read_mode_switches_back_and_forth),
    TEST_ENTRY(message_larger_than_buffer_arrives_whole),
    TEST_ENTRY(messages_then_close_then_broken_pipe),
    TEST_ENTRY(invalid_handle_for_set_state),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
