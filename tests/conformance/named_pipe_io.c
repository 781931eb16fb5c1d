/* ReadFile, WriteFile, FlushFileBuffers on byte pipes: counts, blocking, threads, closing. */
#include "harness.h"

#include <stdlib.h>

TEST(write_then_read_exact_counts) {
    HANDLE s, c;
    make_pair("rw", PIPE_TYPE_BYTE, &s, &c);
    DWORD n = 0;
    CHECK_OK(WriteFile(s, "hello", 5, &n, NULL));
    CHECK_EQ(n, 5);
    char buf[64];
    n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 5);
    CHECK_MEM(buf, "hello", 5);
    /* And the other direction. */
    CHECK_OK(WriteFile(c, "world!", 6, &n, NULL));
    CHECK_EQ(n, 6);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 6);
    CHECK_MEM(buf, "world!", 6);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(byte_read_returns_what_is_available_across_writes) {
    HANDLE s, c;
    make_pair("coalesce", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "abc", 3);
    write_all(s, "defg", 4);
    char buf[64];
    DWORD n = 0;
    DWORD avail = 0;
    /* Wait (polling, with a deadline) until both writes are readable. */
    unsigned long long deadline = now_ms() + 5000;
    while (PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL) && avail < 7 && now_ms() < deadline)
        Sleep(1);
    CHECK_EQ(avail, 7);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 7);
    CHECK_MEM(buf, "abcdefg", 7);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(byte_read_smaller_than_data_is_not_more_data) {
    HANDLE s, c;
    make_pair("partial", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "0123456789", 10);
    char buf[64];
    DWORD n = 0;
    SetLastError(0);
    CHECK_OK(ReadFile(c, buf, 4, &n, NULL));
    CHECK_EQ(n, 4);
    CHECK_MEM(buf, "0123", 4);
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 6);
    CHECK_MEM(buf, "456789", 6);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(zero_length_write_on_byte_pipe_leaves_nothing) {
    HANDLE s, c;
    make_pair("zero", PIPE_TYPE_BYTE, &s, &c);
    DWORD n = 99;
    CHECK_OK(WriteFile(s, "", 0, &n, NULL));
    CHECK_EQ(n, 0);
    DWORD avail = 99;
    CHECK_OK(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL));
    CHECK_EQ(avail, 0);
    /* A 0-byte read with data queued returns at once and consumes nothing. */
    write_all(s, "z", 1);
    n = 99;
    CHECK_OK(ReadFile(c, NULL, 0, &n, NULL));
    CHECK_EQ(n, 0);
    char b = 0;
    CHECK_OK(ReadFile(c, &b, 1, &n, NULL));
    CHECK_EQ(n, 1);
    CHECK_EQ(b, 'z');
    CloseHandle(c);
    CloseHandle(s);
}

/* The end of the pipe is reported by every read, a zero-byte one too (Wine's kernel32
 * test_CloseHandle, run on Windows): while the closed server's data is unread, a zero-byte
 * read succeeds and takes nothing; once it has all been read, ERROR_BROKEN_PIPE. */
TEST(zero_byte_read_after_server_closed_is_broken_pipe) {
    HANDLE s, c;
    make_pair("zeroclosed", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "tail", 4);
    CHECK_OK(CloseHandle(s));
    char buf[16];
    DWORD n = 99;
    CHECK_OK(ReadFile(c, buf, 0, &n, NULL));
    CHECK_EQ(n, 0);
    read_exact(c, buf, 4);
    CHECK_MEM(buf, "tail", 4);
    n = 99;
    CHECK_FAILS(ReadFile(c, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(n, 0);
    CHECK_FAILS(ReadFile(c, NULL, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

struct reader_args {
    HANDLE h;
    char buf[64];
    DWORD n;
    BOOL ok;
    DWORD err;
};

static DWORD WINAPI reader_thread(LPVOID p) {
    struct reader_args* a = p;
    a->ok = ReadFile(a->h, a->buf, sizeof a->buf, &a->n, NULL);
    a->err = GetLastError();
    return 0;
}

TEST(blocking_read_waits_for_data_from_another_thread) {
    HANDLE s, c;
    make_pair("blockread", PIPE_TYPE_BYTE, &s, &c);
    struct reader_args a;
    memset(&a, 0, sizeof a);
    a.h = c;
    HANDLE t = start_thread(reader_thread, &a);
    REQUIRE(wait_until_busy(c, 5000));
    CHECK_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT);
    write_all(s, "wake", 4);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, 4);
    CHECK_MEM(a.buf, "wake", 4);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(blocking_read_fails_when_peer_closes) {
    HANDLE s, c;
    make_pair("blockclose", PIPE_TYPE_BYTE, &s, &c);
    struct reader_args a;
    memset(&a, 0, sizeof a);
    a.h = c;
    a.n = 77;
    HANDLE t = start_thread(reader_thread, &a);
    REQUIRE(wait_until_busy(c, 5000));
    CloseHandle(s);
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(a.ok, FALSE);
    CHECK_EQ(a.err, ERROR_BROKEN_PIPE);
    CHECK_EQ(a.n, 0);
    CloseHandle(c);
}

struct big_args {
    HANDLE h;
    unsigned char* data;
    DWORD size;
    BOOL ok;
    DWORD n;
    DWORD err;
};

static DWORD WINAPI big_writer(LPVOID p) {
    struct big_args* a = p;
    a->ok = WriteFile(a->h, a->data, a->size, &a->n, NULL);
    a->err = GetLastError();
    return 0;
}

TEST(write_larger_than_buffer_blocks_until_drained) {
    char name[128];
    pipe_name(name, "big");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 512, 512, 0, NULL);
    REQUIRE_HANDLE(s);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    struct big_args a;
    memset(&a, 0, sizeof a);
    a.h = s;
    a.size = 1u << 20;
    a.data = malloc(a.size);
    unsigned char* got = malloc(a.size);
    REQUIRE(a.data && got);
    for (DWORD i = 0; i < a.size; ++i) a.data[i] = (unsigned char)(i * 7 + i / 251);
    HANDLE t = start_thread(big_writer, &a);
    /* The write cannot complete before the reader drains the pipe. */
    CHECK_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT);
    read_exact(c, got, a.size);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CHECK_EQ(a.n, a.size);
    CHECK(memcmp(a.data, got, a.size) == 0);
    free(a.data);
    free(got);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(counts_are_zeroed_before_failure) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "zeroed"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    char buf[4];
    DWORD n = 1234;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_PIPE_LISTENING);
    CHECK_EQ(n, 0);
    n = 1234;
    CHECK_FAILS(WriteFile(BOGUS_HANDLE, buf, sizeof buf, &n, NULL), ERROR_INVALID_HANDLE);
    CHECK_EQ(n, 0);
    CloseHandle(s);
}

TEST(access_rights_of_the_handle_are_enforced) {
    char name[128];
    pipe_name(name, "rights");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    DWORD n;
    char buf[4];
    /* An inbound server cannot write; a write-only client cannot read. */
    CHECK_FAILS(WriteFile(s, "x", 1, &n, NULL), ERROR_ACCESS_DENIED);
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_ACCESS_DENIED);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(flush_with_nothing_queued_returns_at_once) {
    HANDLE s, c;
    make_pair("flush0", PIPE_TYPE_BYTE, &s, &c);
    CHECK_OK(FlushFileBuffers(s));
    CHECK_OK(FlushFileBuffers(c));
    CloseHandle(c);
    CloseHandle(s);
}

struct flush_args {
    HANDLE h;
    BOOL ok;
    DWORD err;
};

static DWORD WINAPI flush_thread(LPVOID p) {
    struct flush_args* a = p;
    a->ok = FlushFileBuffers(a->h);
    a->err = GetLastError();
    return 0;
}

TEST(flush_blocks_until_the_peer_has_read_everything) {
    HANDLE s, c;
    make_pair("flush", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "0123456789", 10);
    struct flush_args a = {s, FALSE, 0};
    HANDLE t = start_thread(flush_thread, &a);
    CHECK_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT);
    char buf[4];
    read_exact(c, buf, 4);
    CHECK_EQ(WaitForSingleObject(t, 50), WAIT_TIMEOUT);
    char rest[6];
    read_exact(c, rest, 6);
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CloseHandle(c);
    CloseHandle(s);
}

struct write_flush_args {
    HANDLE h;
    DWORD size;
    BOOL ok;
};

static DWORD WINAPI write_then_flush_thread(LPVOID p) {
    struct write_flush_args* a = p;
    char* data = malloc(a->size);
    memset(data, 'f', a->size);
    DWORD n = 0;
    a->ok = WriteFile(a->h, data, a->size, &n, NULL) && n == a->size && FlushFileBuffers(a->h);
    free(data);
    return 0;
}

TEST(flush_of_more_than_the_socket_holds_returns_once_the_peer_read_the_last_byte) {
    /* The flusher waits for the peer's reads (not with sleeps): with more queued than a
       quarter of the socket's buffer, the kernel wakes it only once the queue is short; the
       last small reads must still wake it. */
    HANDLE s, c;
    make_pair("flushbig", PIPE_TYPE_BYTE, &s, &c);
    struct write_flush_args a = {s, 1u << 20, FALSE};
    HANDLE t = start_thread(write_then_flush_thread, &a);
    static char buf[1000];
    for (DWORD got = 0; got < a.size;) {
        DWORD n = 0;
        CHECK_OK(ReadFile(c, buf, a.size - got < sizeof buf ? a.size - got : sizeof buf, &n, NULL));
        got += n;
    }
    CHECK_EQ(join_thread(t), 0);
    CHECK(a.ok);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(flush_fails_when_the_peer_closes) {
    HANDLE s, c;
    make_pair("flushclose", PIPE_TYPE_BYTE, &s, &c);
    write_all(c, "unread", 6);
    struct flush_args a = {c, TRUE, 0};
    HANDLE t = start_thread(flush_thread, &a);
    CHECK_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT);
    CloseHandle(s);
    CHECK_EQ(join_thread(t), 0);
    CHECK_EQ(a.ok, FALSE);
    CHECK_EQ(a.err, ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

struct pingpong_args {
    HANDLE h;
    int rounds;
};

static DWORD WINAPI echo_thread(LPVOID p) {
    struct pingpong_args* a = p;
    for (int i = 0; i < a->rounds; ++i) {
        char b[4];
        DWORD n = 0;
        if (!ReadFile(a->h, b, sizeof b, &n, NULL) || n != 4) return 1;
        if (!WriteFile(a->h, b, 4, &n, NULL) || n != 4) return 2;
    }
    return 0;
}

TEST(ping_pong_between_threads) {
    HANDLE s, c;
    make_pair("pingpong", PIPE_TYPE_BYTE, &s, &c);
    struct pingpong_args a = {s, 200};
    HANDLE t = start_thread(echo_thread, &a);
    int bad = 0;
    for (int i = 0; i < a.rounds; ++i) {
        char out[4], in[4];
        memcpy(out, &i, 4);
        write_all(c, out, 4);
        read_exact(c, in, 4);
        bad += memcmp(in, out, 4) != 0;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(join_thread(t), 0);
    CloseHandle(c);
    CloseHandle(s);
}

/* Closing the last handle while another thread is blocked on it makes that call return, as
 * Windows' cleanup of the file object does (a server loop is commonly stopped this way). */
struct blocked_call {
    HANDLE h;
    BOOL ok;
    DWORD error;
};

static DWORD WINAPI read_blocked(LPVOID p) {
    struct blocked_call* b = (struct blocked_call*)p;
    char buf[8];
    DWORD n = 0;
    b->ok = ReadFile(b->h, buf, sizeof buf, &n, NULL);
    b->error = GetLastError();
    return 0;
}

static DWORD WINAPI connect_blocked(LPVOID p) {
    struct blocked_call* b = (struct blocked_call*)p;
    b->ok = ConnectNamedPipe(b->h, NULL);
    b->error = GetLastError();
    return 0;
}

TEST(closing_the_last_handle_ends_a_blocked_read) {
    HANDLE s, c;
    make_pair("closeblockedread", PIPE_TYPE_BYTE, &s, &c);
    struct blocked_call b = {c, TRUE, 0};
    HANDLE t = start_thread(read_blocked, &b);
    CHECK(wait_until_busy(c, 10000)); /* the read is running */
    CHECK_OK(CloseHandle(c));
    CHECK_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CHECK_EQ(b.ok, FALSE);
    /* The server sees its client go. */
    char buf[4];
    DWORD n = 0;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(t);
    CloseHandle(s);
}

TEST(closing_the_last_handle_ends_a_blocked_connect) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "closeblockedconnect"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    struct blocked_call b = {s, TRUE, 0};
    HANDLE t = start_thread(connect_blocked, &b);
    CHECK(wait_until_busy(s, 10000)); /* ConnectNamedPipe is running */
    CHECK_OK(CloseHandle(s));
    CHECK_EQ(WaitForSingleObject(t, 10000), WAIT_OBJECT_0);
    CHECK_EQ(b.ok, FALSE);
    /* The pipe had no other instance: it is gone. */
    CHECK_FAILS(WaitNamedPipeA(name, 1000), ERROR_FILE_NOT_FOUND);
    CloseHandle(t);
}

TEST_TABLE{
    TEST_ENTRY(write_then_read_exact_counts),
    TEST_ENTRY(byte_read_returns_what_is_available_across_writes),
    TEST_ENTRY(byte_read_smaller_than_data_is_not_more_data),
    TEST_ENTRY(zero_length_write_on_byte_pipe_leaves_nothing),
    TEST_ENTRY(zero_byte_read_after_server_closed_is_broken_pipe),
    TEST_ENTRY(blocking_read_waits_for_data_from_another_thread),
    TEST_ENTRY(blocking_read_fails_when_peer_closes),
    TEST_ENTRY(write_larger_than_buffer_blocks_until_drained),
    TEST_ENTRY(counts_are_zeroed_before_failure),
    TEST_ENTRY(access_rights_of_the_handle_are_enforced),
    TEST_ENTRY(flush_with_nothing_queued_returns_at_once),
    TEST_ENTRY(flush_blocks_until_the_peer_has_read_everything),
    TEST_ENTRY(flush_fails_when_the_peer_closes),
    TEST_ENTRY(flush_of_more_than_the_socket_holds_returns_once_the_peer_read_the_last_byte),
    TEST_ENTRY(ping_pong_between_threads),
    TEST_ENTRY(closing_the_last_handle_ends_a_blocked_read),
    TEST_ENTRY(closing_the_last_handle_ends_a_blocked_connect),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
