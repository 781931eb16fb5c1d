/* CreatePipe: data, sizes, closing, peek, inheritance flags. */
#include "harness.h"

#include <stdlib.h>

TEST(create_pipe_moves_data) {
    HANDLE r = NULL, w = NULL;
    CHECK_OK(CreatePipe(&r, &w, NULL, 0));
    REQUIRE_HANDLE(r);
    REQUIRE_HANDLE(w);
    DWORD n = 0;
    CHECK_OK(WriteFile(w, "anon", 4, &n, NULL));
    CHECK_EQ(n, 4);
    char buf[16];
    CHECK_OK(ReadFile(r, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    CHECK_MEM(buf, "anon", 4);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(create_pipe_default_size_info) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    DWORD flags = 99, out = 99, in = 99, max = 99;
    CHECK_OK(GetNamedPipeInfo(r, &flags, &out, &in, &max));
    CHECK_EQ(flags, PIPE_SERVER_END | PIPE_TYPE_BYTE);
    CHECK_EQ(out, 4096);
    CHECK_EQ(in, 4096);
    CHECK_EQ(max, 1);
    flags = out = in = max = 99;
    CHECK_OK(GetNamedPipeInfo(w, &flags, &out, &in, &max));
    CHECK_EQ(flags, PIPE_CLIENT_END | PIPE_TYPE_BYTE);
    CHECK_EQ(out, 4096);
    CHECK_EQ(in, 4096);
    CHECK_EQ(max, 1);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(create_pipe_size_one_info) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 1));
    DWORD flags = 99, out = 99, in = 99, max = 99;
    CHECK_OK(GetNamedPipeInfo(r, &flags, &out, &in, &max));
    CHECK_EQ(out, 1);
    CHECK_EQ(in, 1);
    CHECK_EQ(max, 1);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(read_after_write_end_closed_is_broken_pipe) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    write_all(w, "last", 4);
    CHECK_OK(CloseHandle(w));
    char buf[16];
    DWORD n = 0;
    CHECK_OK(ReadFile(r, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    n = 5;
    CHECK_FAILS(ReadFile(r, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(n, 0);
    CloseHandle(r);
}

TEST(write_after_read_end_closed_is_no_data) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    CHECK_OK(CloseHandle(r));
    DWORD n = 5;
    CHECK_FAILS(WriteFile(w, "x", 1, &n, NULL), ERROR_NO_DATA);
    CHECK_EQ(n, 0);
    CloseHandle(w);
}

TEST(ends_are_one_way) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    char buf[4];
    DWORD n;
    CHECK_FAILS(WriteFile(r, "x", 1, &n, NULL), ERROR_ACCESS_DENIED);
    CHECK_FAILS(ReadFile(w, buf, sizeof buf, &n, NULL), ERROR_ACCESS_DENIED);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(peek_on_the_read_end) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    char buf[16];
    DWORD read = 99, avail = 99, left = 99;
    CHECK_OK(PeekNamedPipe(r, buf, sizeof buf, &read, &avail, &left));
    CHECK_EQ(read, 0);
    CHECK_EQ(avail, 0);
    CHECK_EQ(left, 0);
    write_all(w, "abcdef", 6);
    CHECK_OK(PeekNamedPipe(r, buf, 2, &read, &avail, &left));
    CHECK_EQ(read, 2);
    CHECK_EQ(avail, 6);
    CHECK_EQ(left, (DWORD)(0u - 2u));
    CHECK_MEM(buf, "ab", 2);
    read_exact(r, buf, 6);
    CHECK_MEM(buf, "abcdef", 6);
    CloseHandle(w);
    CHECK_FAILS(PeekNamedPipe(r, buf, sizeof buf, &read, &avail, &left), ERROR_BROKEN_PIPE);
    CloseHandle(r);
}

TEST(inheritable_security_attributes_mark_both_ends) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, &sa, 0));
    DWORD flags = 99;
    CHECK_OK(GetHandleInformation(r, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    flags = 99;
    CHECK_OK(GetHandleInformation(w, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    CloseHandle(r);
    CloseHandle(w);
}

struct transfer {
    HANDLE w;
    unsigned char* data;
    DWORD size;
    DWORD chunks_ok;
};

static DWORD WINAPI writer(LPVOID p) {
    struct transfer* t = p;
    DWORD off = 0;
    while (off < t->size) {
        DWORD chunk = t->size - off < 7000 ? t->size - off : 7000;
        DWORD n = 0;
        if (!WriteFile(t->w, t->data + off, chunk, &n, NULL) || n != chunk) return 1;
        off += n;
        ++t->chunks_ok;
    }
    CloseHandle(t->w);
    return 0;
}

TEST(large_transfer_between_threads_then_eof) {
    HANDLE r;
    struct transfer t;
    memset(&t, 0, sizeof t);
    REQUIRE_OK(CreatePipe(&r, &t.w, NULL, 0));
    t.size = 2u << 20;
    t.data = malloc(t.size);
    unsigned char* got = malloc(t.size);
    REQUIRE(t.data && got);
    for (DWORD i = 0; i < t.size; ++i) t.data[i] = (unsigned char)(i ^ (i >> 9));
    HANDLE th = start_thread(writer, &t);
    DWORD total = 0;
    BOOL ok;
    DWORD n = 0;
    while ((ok = ReadFile(r, got + total, t.size - total < 5000 ? t.size - total : 5000, &n, NULL)) &&
           n > 0)
        total += n;
    if (total == t.size) {
        /* The writer closed: the read that ends the loop fails with ERROR_BROKEN_PIPE. */
        if (ok) CHECK_FAILS(ReadFile(r, got, 1, &n, NULL), ERROR_BROKEN_PIPE);
        else CHECK_EQ(GetLastError(), ERROR_BROKEN_PIPE);
    }
    CHECK_EQ(total, t.size);
    CHECK(memcmp(got, t.data, t.size) == 0);
    CHECK_EQ(join_thread(th), 0);
    free(t.data);
    free(got);
    CloseHandle(r);
}

TEST(create_pipe_handles_are_waitable) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    CHECK_EQ(WaitForSingleObject(r, 0), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(w, 0), WAIT_OBJECT_0);
    CloseHandle(r);
    CloseHandle(w);
}

/* A zero-byte ReadFile reports the end of the pipe like any read; a zero-byte WriteFile into a
 * pipe without reader is ERROR_NO_DATA (research item 18, and the closing-state rule). */
TEST(zero_byte_read_and_write_report_the_end) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    char buf[4];
    DWORD n = 99;
    write_all(w, "x", 1);
    CHECK_OK(ReadFile(r, buf, 0, &n, NULL)); /* data there: TRUE, nothing taken */
    CHECK_EQ(n, 0);
    CHECK_OK(CloseHandle(w));
    CHECK_OK(ReadFile(r, buf, 0, &n, NULL)); /* the byte is still there */
    CHECK_OK(ReadFile(r, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 1);
    CHECK_FAILS(ReadFile(r, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(r);

    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    CHECK_OK(WriteFile(w, buf, 0, &n, NULL));
    CHECK_OK(CloseHandle(r));
    CHECK_FAILS(WriteFile(w, buf, 0, &n, NULL), ERROR_NO_DATA);
    CloseHandle(w);
}

TEST_TABLE{
    TEST_ENTRY(create_pipe_moves_data),
    TEST_ENTRY(zero_byte_read_and_write_report_the_end),
    TEST_ENTRY(create_pipe_default_size_info),
    TEST_ENTRY(create_pipe_size_one_info),
    TEST_ENTRY(read_after_write_end_closed_is_broken_pipe),
    TEST_ENTRY(write_after_read_end_closed_is_no_data),
    TEST_ENTRY(ends_are_one_way),
    TEST_ENTRY(peek_on_the_read_end),
    TEST_ENTRY(inheritable_security_attributes_mark_both_ends),
    TEST_ENTRY(large_transfer_between_threads_then_eof),
    TEST_ENTRY(create_pipe_handles_are_waitable),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
