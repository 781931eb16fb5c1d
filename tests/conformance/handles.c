/* CloseHandle, DuplicateHandle, Get/SetHandleInformation, GetStdHandle/SetStdHandle, handles of
 * the wrong type. */
#include "harness.h"

TEST(close_handle_twice_is_invalid_handle) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    CHECK_OK(CloseHandle(e));
    CHECK_FAILS(CloseHandle(e), ERROR_INVALID_HANDLE);
    CHECK_FAILS(CloseHandle(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
    CHECK_FAILS(CloseHandle(NULL), ERROR_INVALID_HANDLE);
}

TEST(duplicate_pipe_handle_shares_the_pipe) {
    HANDLE s, c;
    make_pair("dup", PIPE_TYPE_BYTE, &s, &c);
    HANDLE d = NULL;
    CHECK_OK(DuplicateHandle(GetCurrentProcess(), c, GetCurrentProcess(), &d, 0, FALSE,
                             DUPLICATE_SAME_ACCESS));
    REQUIRE_HANDLE(d);
    CHECK(d != c);
    /* The pipe stays open while one handle is left. */
    CHECK_OK(CloseHandle(c));
    write_all(d, "dup", 3);
    char buf[8];
    read_exact(s, buf, 3);
    CHECK_MEM(buf, "dup", 3);
    CHECK_OK(CloseHandle(d));
    DWORD n;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(duplicate_close_source_closes_the_source) {
    HANDLE s, c;
    make_pair("dupclose", PIPE_TYPE_BYTE, &s, &c);
    HANDLE d = NULL;
    CHECK_OK(DuplicateHandle(GetCurrentProcess(), c, GetCurrentProcess(), &d, 0, FALSE,
                             DUPLICATE_SAME_ACCESS | DUPLICATE_CLOSE_SOURCE));
    REQUIRE_HANDLE(d);
    /* The new handle works... */
    write_all(d, "moved", 5);
    char buf[8];
    read_exact(s, buf, 5);
    CHECK_MEM(buf, "moved", 5);
    /* ...and is the only one left: closing it breaks the pipe. (The value may be reused, so the
     * source value is only checked when it differs.) */
    if (d != c) CHECK_FAILS(CloseHandle(c), ERROR_INVALID_HANDLE);
    CHECK_OK(CloseHandle(d));
    DWORD n;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(duplicate_event_handle_is_the_same_event) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE d = NULL;
    CHECK_OK(DuplicateHandle(GetCurrentProcess(), e, GetCurrentProcess(), &d, 0, FALSE,
                             DUPLICATE_SAME_ACCESS));
    CHECK_OK(SetEvent(d));
    CHECK_EQ(WaitForSingleObject(e, 0), WAIT_OBJECT_0);
    CHECK_OK(ResetEvent(e));
    CHECK_EQ(WaitForSingleObject(d, 0), WAIT_TIMEOUT);
    CloseHandle(d);
    CloseHandle(e);
}

TEST(duplicate_invalid_handle_fails) {
    HANDLE d = NULL;
    CHECK_FAILS(DuplicateHandle(GetCurrentProcess(), BOGUS_HANDLE, GetCurrentProcess(), &d, 0,
                                FALSE, DUPLICATE_SAME_ACCESS),
                ERROR_INVALID_HANDLE);
}

TEST(inherit_flag_follows_security_attributes) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE inh = CreateEventA(&sa, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(inh);
    HANDLE plain = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(plain);
    DWORD flags = 99;
    CHECK_OK(GetHandleInformation(inh, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    flags = 99;
    CHECK_OK(GetHandleInformation(plain, &flags));
    CHECK_EQ(flags, 0);
    char name[128];
    HANDLE s = CreateNamedPipeA(pipe_name(name, "inh"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1,
                                4096, 4096, 0, &sa);
    REQUIRE_HANDLE(s);
    CHECK_OK(GetHandleInformation(s, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    HANDLE c = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    REQUIRE_HANDLE(c);
    CHECK_OK(GetHandleInformation(c, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(inh);
    CloseHandle(plain);
}

TEST(set_handle_information_toggles_inherit) {
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    DWORD flags = 99;
    CHECK_OK(GetHandleInformation(w, &flags));
    CHECK_EQ(flags, 0);
    CHECK_OK(SetHandleInformation(w, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT));
    CHECK_OK(GetHandleInformation(w, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    /* The read end is untouched. */
    CHECK_OK(GetHandleInformation(r, &flags));
    CHECK_EQ(flags, 0);
    /* A mask without the flag changes nothing. */
    CHECK_OK(SetHandleInformation(w, 0, 0));
    CHECK_OK(GetHandleInformation(w, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    CHECK_OK(SetHandleInformation(w, HANDLE_FLAG_INHERIT, 0));
    CHECK_OK(GetHandleInformation(w, &flags));
    CHECK_EQ(flags, 0);
    CHECK_FAILS(GetHandleInformation(BOGUS_HANDLE, &flags), ERROR_INVALID_HANDLE);
    CHECK_FAILS(SetHandleInformation(BOGUS_HANDLE, HANDLE_FLAG_INHERIT, 0), ERROR_INVALID_HANDLE);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(duplicate_with_inherit_sets_the_flag) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE d = NULL;
    CHECK_OK(DuplicateHandle(GetCurrentProcess(), e, GetCurrentProcess(), &d, 0, TRUE,
                             DUPLICATE_SAME_ACCESS));
    DWORD flags = 99;
    CHECK_OK(GetHandleInformation(d, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    CHECK_OK(GetHandleInformation(e, &flags));
    CHECK_EQ(flags, 0);
    CloseHandle(d);
    CloseHandle(e);
}

TEST(std_handles) {
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    HANDLE err = GetStdHandle(STD_ERROR_HANDLE);
    CHECK(in != INVALID_HANDLE_VALUE);
    CHECK(out != INVALID_HANDLE_VALUE && out != NULL);
    CHECK(err != INVALID_HANDLE_VALUE && err != NULL);
    CHECK_RET_ERR(GetStdHandle((DWORD)-5), INVALID_HANDLE_VALUE, ERROR_INVALID_HANDLE);
    /* SetStdHandle replaces what GetStdHandle returns. */
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    CHECK_OK(SetStdHandle(STD_OUTPUT_HANDLE, w));
    CHECK_EQ(GetStdHandle(STD_OUTPUT_HANDLE), w);
    write_all(GetStdHandle(STD_OUTPUT_HANDLE), "std", 3);
    char buf[4];
    read_exact(r, buf, 3);
    CHECK_MEM(buf, "std", 3);
    CHECK_OK(SetStdHandle(STD_OUTPUT_HANDLE, out));
    CHECK_EQ(GetStdHandle(STD_OUTPUT_HANDLE), out);
    CloseHandle(r);
    CloseHandle(w);
}

TEST(wrong_handle_types_are_invalid_handle) {
    HANDLE e = CreateEventA(NULL, TRUE, FALSE, NULL);
    REQUIRE_HANDLE(e);
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, NULL, 0));
    char buf[4];
    DWORD n;
    CHECK_FAILS(ReadFile(e, buf, sizeof buf, &n, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(WriteFile(e, buf, sizeof buf, &n, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(SetEvent(r), ERROR_INVALID_HANDLE);
    CHECK_FAILS(ResetEvent(w), ERROR_INVALID_HANDLE);
    CHECK_FAILS(ReadFile(BOGUS_HANDLE, buf, sizeof buf, &n, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(ReadFile(NULL, buf, sizeof buf, &n, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(FlushFileBuffers(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
    CloseHandle(r);
    CloseHandle(w);
    CloseHandle(e);
}

TEST_TABLE{
    TEST_ENTRY(close_handle_twice_is_invalid_handle),
    TEST_ENTRY(duplicate_pipe_handle_shares_the_pipe),
    TEST_ENTRY(duplicate_close_source_closes_the_source),
    TEST_ENTRY(duplicate_event_handle_is_the_same_event),
    TEST_ENTRY(duplicate_invalid_handle_fails),
    TEST_ENTRY(inherit_flag_follows_security_attributes),
    TEST_ENTRY(set_handle_information_toggles_inherit),
    TEST_ENTRY(duplicate_with_inherit_sets_the_flag),
    TEST_ENTRY(std_handles),
    TEST_ENTRY(wrong_handle_types_are_invalid_handle),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
