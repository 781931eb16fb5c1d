/* CancelSynchronousIo: a thread blocked in a synchronous ReadFile, WriteFile, ConnectNamedPipe or
 * WaitNamedPipe returns FALSE with ERROR_OPERATION_ABORTED, and the pipe stays usable;
 * ERROR_NOT_FOUND when the thread is in no such call; races with completion lose nothing. */
#include "harness.h"

#include <stdlib.h>

/* What a blocking call on a thread returned. */
struct call {
    HANDLE h;
    char name[128];
    void* buf;
    DWORD size;
    BOOL ret;
    DWORD err;
    DWORD n;
};

static DWORD WINAPI do_read(LPVOID p) {
    struct call* c = (struct call*)p;
    c->ret = ReadFile(c->h, c->buf, c->size, &c->n, NULL);
    c->err = c->ret ? 0 : GetLastError();
    return 0;
}

static DWORD WINAPI do_write(LPVOID p) {
    struct call* c = (struct call*)p;
    c->ret = WriteFile(c->h, c->buf, c->size, &c->n, NULL);
    c->err = c->ret ? 0 : GetLastError();
    return 0;
}

static DWORD WINAPI do_connect(LPVOID p) {
    struct call* c = (struct call*)p;
    c->ret = ConnectNamedPipe(c->h, NULL);
    c->err = c->ret ? 0 : GetLastError();
    return 0;
}

static DWORD WINAPI do_wait_named_pipe(LPVOID p) {
    struct call* c = (struct call*)p;
    c->ret = WaitNamedPipeA(c->name, NMPWAIT_WAIT_FOREVER);
    c->err = c->ret ? 0 : GetLastError();
    return 0;
}

/* Cancels the synchronous call `thread` is in, as soon as it is in one (5 s at most): until
 * then CancelSynchronousIo fails with ERROR_NOT_FOUND. */
static void cancel_when_in_call(HANDLE thread) {
    unsigned long long deadline = now_ms() + 5000;
    for (;;) {
        SetLastError(0);
        if (CancelSynchronousIo(thread)) return;
        REQUIRE_EQ(GetLastError(), ERROR_NOT_FOUND);
        REQUIRE(now_ms() < deadline);
        Sleep(1);
    }
}

TEST(a_thread_in_no_call_is_not_found) {
    HANDLE t = GetCurrentThread();
    CHECK_FAILS(CancelSynchronousIo(t), ERROR_NOT_FOUND);
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    CHECK_FAILS(CancelSynchronousIo(e), ERROR_INVALID_HANDLE);
    CHECK_FAILS(CancelSynchronousIo(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
    CloseHandle(e);
}

static void read_is_cancelled(DWORD type) {
    HANDLE s, c;
    make_pair("cancel-read", type, &s, &c);
    char buf[16];
    struct call rd = {s, "", buf, sizeof buf, TRUE, 0, 99};
    HANDLE t = start_thread(do_read, &rd);
    REQUIRE(wait_until_busy(s, 5000));
    CHECK_OK(CancelSynchronousIo(t));
    join_thread(t);
    CHECK_EQ(rd.ret, FALSE);
    CHECK_EQ(rd.err, ERROR_OPERATION_ABORTED);
    CHECK_EQ(rd.n, 0);
    /* The pipe goes on as if the read had never been. */
    write_all(c, "abc", 3);
    DWORD n = 0;
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "abc", 3);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(cancels_a_blocked_read_byte_mode) { read_is_cancelled(PIPE_TYPE_BYTE); }
TEST(cancels_a_blocked_read_message_mode) { read_is_cancelled(PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE); }

/* A byte-mode write larger than the pipe holds blocks until cancelled; what went out stays. */
TEST(cancels_a_blocked_write_byte_mode) {
    HANDLE s, c;
    make_pair("cancel-write", PIPE_TYPE_BYTE, &s, &c);
    DWORD size = 8u << 20;
    char* big = (char*)malloc(size);
    REQUIRE(big != NULL);
    memset(big, 'x', size);
    struct call wr = {s, "", big, size, TRUE, 0, 0};
    HANDLE t = start_thread(do_write, &wr);
    cancel_when_in_call(t);
    join_thread(t);
    CHECK_EQ(wr.ret, FALSE);
    CHECK_EQ(wr.err, ERROR_OPERATION_ABORTED);
    CHECK(wr.n < size);
    /* Still usable: the client drains what was sent, then a new write arrives after it. */
    DWORD avail = 0, n = 0;
    CHECK_OK(PeekNamedPipe(c, NULL, 0, NULL, &avail, NULL));
    CHECK_EQ(avail, wr.n);
    for (DWORD got = 0; got < avail; got += n) CHECK_OK(ReadFile(c, big, size, &n, NULL));
    write_all(s, "end", 3);
    char buf[8];
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "end", 3);
    free(big);
    CloseHandle(c);
    CloseHandle(s);
}

/* A message that has started to go out cannot be taken back: the call ends with
 * ERROR_OPERATION_ABORTED, and the reader still gets the whole message, then the next. */
TEST(cancelled_message_write_keeps_the_message_whole) {
    HANDLE s, c;
    make_pair("cancel-msg-write", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    REQUIRE_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    DWORD size = 4u << 20;
    unsigned char* big = (unsigned char*)malloc(size);
    unsigned char* got = (unsigned char*)malloc(size + 1);
    REQUIRE(big != NULL && got != NULL);
    for (DWORD i = 0; i < size; i++) big[i] = (unsigned char)(i * 7u);
    struct call wr = {s, "", big, size, TRUE, 0, 0};
    HANDLE t = start_thread(do_write, &wr);
    cancel_when_in_call(t);
    join_thread(t);
    CHECK_EQ(wr.ret, FALSE);
    CHECK_EQ(wr.err, ERROR_OPERATION_ABORTED);
    /* The next write sends the rest first; the client reads on another thread meanwhile. */
    struct call next = {s, "", (void*)"next", 4, FALSE, 0, 0};
    t = start_thread(do_write, &next);
    DWORD n = 0, total = 0;
    BOOL ok;
    do {
        ok = ReadFile(c, got + total, size + 1 - total, &n, NULL);
        total += n;
    } while (!ok && GetLastError() == ERROR_MORE_DATA);
    CHECK(ok);
    CHECK_EQ(total, size);
    CHECK(memcmp(got, big, size) == 0);
    char buf[8];
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    CHECK_MEM(buf, "next", 4);
    join_thread(t);
    CHECK_EQ(next.ret, TRUE);
    free(big);
    free(got);
    CloseHandle(c);
    CloseHandle(s);
}

/* The instance keeps listening: a client that comes later is connected already. */
TEST(cancels_a_blocked_connect) {
    char name[128];
    pipe_name(name, "cancel-connect");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    struct call cn = {s, "", NULL, 0, TRUE, 0, 0};
    HANDLE t = start_thread(do_connect, &cn);
    REQUIRE(wait_until_busy(s, 5000));
    CHECK_OK(CancelSynchronousIo(t));
    join_thread(t);
    CHECK_EQ(cn.ret, FALSE);
    CHECK_EQ(cn.err, ERROR_OPERATION_ABORTED);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    write_all(c, "hi", 2);
    char buf[4];
    read_exact(s, buf, 2);
    CHECK_MEM(buf, "hi", 2);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(cancels_a_blocked_wait_named_pipe) {
    HANDLE s, c;
    make_pair("cancel-wait", PIPE_TYPE_BYTE, &s, &c); /* its only instance is busy */
    struct call w = {NULL, "", NULL, 0, TRUE, 0, 0};
    pipe_name(w.name, "cancel-wait");
    HANDLE t = start_thread(do_wait_named_pipe, &w);
    cancel_when_in_call(t);
    join_thread(t);
    CHECK_EQ(w.ret, FALSE);
    CHECK_EQ(w.err, ERROR_OPERATION_ABORTED);
    CloseHandle(c);
    CloseHandle(s);
}

/* A cancel that races the data: the read either got the byte, or was cancelled and the byte is
 * still there for the next read. Never lost, never twice. */
static void race_with_completion(DWORD type) {
    HANDLE s, c;
    make_pair("cancel-race", type, &s, &c);
    for (int i = 0; i < 200; i++) {
        char buf[4] = {0};
        struct call rd = {s, "", buf, sizeof buf, TRUE, 0, 0};
        HANDLE t = start_thread(do_read, &rd);
        char b = (char)('a' + i % 26);
        if (i % 2) REQUIRE(wait_until_busy(s, 5000));
        write_all(c, &b, 1);
        (void)CancelSynchronousIo(t); /* TRUE or ERROR_NOT_FOUND: either may win */
        join_thread(t);
        if (rd.ret) {
            CHECK_EQ(rd.n, 1);
        } else {
            CHECK_EQ(rd.err, ERROR_OPERATION_ABORTED);
            DWORD n = 0;
            CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
            CHECK_EQ(n, 1);
        }
        CHECK_EQ(buf[0], b);
        DWORD avail = 1;
        CHECK_OK(PeekNamedPipe(s, NULL, 0, NULL, &avail, NULL));
        CHECK_EQ(avail, 0);
    }
    CloseHandle(c);
    CloseHandle(s);
}

TEST(race_with_completion_byte_mode) { race_with_completion(PIPE_TYPE_BYTE); }
TEST(race_with_completion_message_mode) { race_with_completion(PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE); }

TEST_TABLE{
    TEST_ENTRY(a_thread_in_no_call_is_not_found),
    TEST_ENTRY(cancels_a_blocked_read_byte_mode),
    TEST_ENTRY(cancels_a_blocked_read_message_mode),
    TEST_ENTRY(cancels_a_blocked_write_byte_mode),
    TEST_ENTRY(cancelled_message_write_keeps_the_message_whole),
    TEST_ENTRY(cancels_a_blocked_connect),
    TEST_ENTRY(cancels_a_blocked_wait_named_pipe),
    TEST_ENTRY(race_with_completion_byte_mode),
    TEST_ENTRY(race_with_completion_message_mode),
    TABLE_END,
};

ROLE_TABLE{
    TABLE_END,
};
