/* harness.h - a small test framework for npipe's Win32 C API conformance suite.
 *
 * Every test file defines two NULL-terminated tables with TEST_TABLE and ROLE_TABLE. The runner
 * (harness.c) starts a private broker, then runs each test in its own fork()ed child with an
 * alarm() timeout, so a hang or a crash fails that test only.
 *
 *   prog               run every test of the file
 *   prog NAME...       run the named tests
 *   prog --list        list the test names
 *   prog --role R ...  act as the other process of a cross-process test (started by a test)
 *
 * CHECK* macros record a failure and go on; REQUIRE* macros end the test at once. Every check
 * prints file:line, the expression, expected and actual values (error numbers with their names).
 */
#ifndef NPIPE_CONFORMANCE_HARNESS_H
#define NPIPE_CONFORMANCE_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <windows.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- registration ------------------------------------------------------------------------ */
typedef void (*test_fn)(void);
typedef int (*role_fn)(int argc, char** argv); /* argv[0] is the role name */

struct test_case {
    const char* name;
    test_fn fn;
};
struct role_case {
    const char* name;
    role_fn fn;
};

#define TEST(name) static void name(void)
#define TEST_ENTRY(name) {#name, name}
#define ROLE_ENTRY(name) {#name, name}
#define TEST_TABLE const struct test_case conformance_tests[] =
#define ROLE_TABLE const struct role_case conformance_roles[] =
#define TABLE_END {NULL, NULL}

extern const struct test_case conformance_tests[];
extern const struct role_case conformance_roles[];

/* ---- checks ------------------------------------------------------------------------------ */
#define U64(x) ((unsigned long long)(uintptr_t)(x))

void check_true_(int ok, const char* expr, const char* file, int line, int fatal);
void check_eq_(unsigned long long actual, unsigned long long expected, const char* actual_expr,
               const char* expected_expr, const char* file, int line, int fatal);
void check_ok_(BOOL ret, DWORD err, const char* expr, const char* file, int line, int fatal);
void check_ret_err_(unsigned long long ret, DWORD err, unsigned long long expected_ret,
                    DWORD expected_err, const char* expr, const char* file, int line);
void check_handle_(HANDLE h, DWORD err, const char* expr, const char* file, int line, int fatal);
void check_mem_(const void* actual, const void* expected, size_t n, const char* expr,
                const char* file, int line);

/* A condition. */
#define CHECK(cond) check_true_((cond) ? 1 : 0, #cond, __FILE__, __LINE__, 0)
#define REQUIRE(cond) check_true_((cond) ? 1 : 0, #cond, __FILE__, __LINE__, 1)
/* Two integer (or handle) values. */
#define CHECK_EQ(actual, expected)                                                                \
    check_eq_(U64(actual), U64(expected), #actual, #expected, __FILE__, __LINE__, 0)
#define REQUIRE_EQ(actual, expected)                                                              \
    check_eq_(U64(actual), U64(expected), #actual, #expected, __FILE__, __LINE__, 1)
/* A BOOL call that must succeed (prints GetLastError() if not). */
#define CHECK_OK(call)                                                                            \
    do {                                                                                          \
        BOOL r_ = (call);                                                                         \
        DWORD e_ = GetLastError();                                                                \
        check_ok_(r_, e_, #call, __FILE__, __LINE__, 0);                                          \
    } while (0)
#define REQUIRE_OK(call)                                                                          \
    do {                                                                                          \
        BOOL r_ = (call);                                                                         \
        DWORD e_ = GetLastError();                                                                \
        check_ok_(r_, e_, #call, __FILE__, __LINE__, 1);                                          \
    } while (0)
/* A call that must return exactly `ret` with GetLastError() == err. */
#define CHECK_RET_ERR(call, ret, err)                                                             \
    do {                                                                                          \
        SetLastError(0xDEADBEEFu);                                                                \
        unsigned long long r_ = U64(call);                                                        \
        DWORD e_ = GetLastError();                                                                \
        check_ret_err_(r_, e_, U64(ret), (DWORD)(err), #call, __FILE__, __LINE__);               \
    } while (0)
/* A BOOL call that must fail with err. */
#define CHECK_FAILS(call, err) CHECK_RET_ERR(call, FALSE, err)
/* The last error of the previous call. */
#define CHECK_ERR(err) CHECK_EQ_ERR_(GetLastError(), err)
#define CHECK_EQ_ERR_(a, e) check_ret_err_(0, (a), 0, (DWORD)(e), "GetLastError()", __FILE__, __LINE__)
/* A handle that must be valid (neither NULL nor INVALID_HANDLE_VALUE). */
#define REQUIRE_HANDLE(h)                                                                         \
    do {                                                                                          \
        DWORD e_ = GetLastError();                                                                \
        check_handle_((h), e_, #h, __FILE__, __LINE__, 1);                                        \
    } while (0)
#define CHECK_MEM(actual, expected, n) check_mem_((actual), (expected), (n), #actual, __FILE__, __LINE__)

/* ---- helpers ----------------------------------------------------------------------------- */
/* Logs a line for the current test (stderr). */
void note(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
/* `\\.\pipe\npipe-conf-<pid>-<tag>`; the buffer must hold 128 bytes. */
char* pipe_name(char* buf, const char* tag);
/* ASCII to UTF-16 (the buffer must be long enough). */
WCHAR* widen(const char* s, WCHAR* buf);
/* A server instance with 4096-byte buffers and the default timeout; REQUIRE-d valid. */
HANDLE make_server(const char* name, DWORD open_mode, DWORD pipe_mode, DWORD max_instances);
/* CreateFileA(name, access, 0, NULL, OPEN_EXISTING, 0, NULL). */
HANDLE open_client(const char* name, DWORD access);
/* A connected pair over a new duplex pipe: server in `pipe_mode`, client read/write. */
void make_pair(const char* tag, DWORD pipe_mode, HANDLE* server, HANDLE* client);
/* CreateThread with default attributes; REQUIRE-d valid. */
HANDLE start_thread(LPTHREAD_START_ROUTINE fn, void* arg);
/* Waits for a thread (REQUIRE-d within 10 s) and returns its exit code. */
DWORD join_thread(HANDLE thread);
/* Polls until the handle is NOT signaled (an I/O call on it is in progress); 1 if seen in time. */
int wait_until_busy(HANDLE h, DWORD limit_ms);
/* Milliseconds of a monotonic clock. */
unsigned long long now_ms(void);
/* Path of this executable. */
const char* self_exe(void);
/* Writes all bytes (REQUIRE-d) / reads exactly n bytes (REQUIRE-d). */
void write_all(HANDLE h, const void* buf, DWORD n);
void read_exact(HANDLE h, void* buf, DWORD n);
/* Starts `self --role ROLE ARGS` with CreateProcessA; returns its PROCESS_INFORMATION. */
BOOL spawn_role(const char* role_and_args, BOOL inherit, STARTUPINFOA* si, PROCESS_INFORMATION* pi);
/* Waits for a process (REQUIRE-d within 15 s) and returns its exit code; closes its handles. */
DWORD join_process(PROCESS_INFORMATION* pi);
/* A handle value that no object has. */
#define BOGUS_HANDLE ((HANDLE)(uintptr_t)0x7ffff00du)
/* Text of a handle value for a command line, and back. */
void handle_text(HANDLE h, char* buf);
HANDLE parse_handle(const char* text);

const char* error_name(DWORD err);

#endif /* NPIPE_CONFORMANCE_HARNESS_H */
