/* Further instances of a pipe: what they take from the pipe and what is their own.
 *
 * Windows checks only the access mode of a further instance (Wine's kernel32 test
 * test_CreateNamedPipe_instances_must_match, run on Windows: another type, instance limit,
 * buffer sizes and timeout are all accepted). The pipe keeps what its first instance made it -
 * type, instance limit, default timeout (NPFS keeps them in the pipe's FCB, Wine in its pipe
 * object) - and each instance keeps its own buffer sizes (NPFS's per-instance queues and their
 * quotas, which GetNamedPipeInfo reports). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>

/* Connects a client to the next listening instance (the oldest one listening). */
static HANDLE connect_client(const char* name) {
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    return c;
}

static void check_info(HANDLE h, DWORD flags, DWORD out, DWORD in, DWORD max) {
    DWORD f = 99, o = 99, i = 99, m = 99;
    CHECK_OK(GetNamedPipeInfo(h, &f, &o, &i, &m));
    CHECK_EQ(f, flags);
    CHECK_EQ(o, out);
    CHECK_EQ(i, in);
    CHECK_EQ(m, max);
}

TEST(further_instance_may_differ_in_all_but_its_access) {
    char name[128];
    pipe_name(name, "differ");
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 4, 1024, 1024,
                                NMPWAIT_USE_DEFAULT_WAIT, NULL);
    REQUIRE_HANDLE(a);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 3, 102, 24, 1234, NULL);
    REQUIRE_HANDLE(b);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 4, 1024, 1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_OUTBOUND, PIPE_TYPE_MESSAGE, 3, 102, 24, 1234, NULL),
                  INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CloseHandle(a);
    CloseHandle(b);
}

/* The second instance asked for a message pipe, a limit of 3 and its own sizes: it is a byte
 * instance of the pipe, under the pipe's limit of 4, with the sizes it asked for - as its server
 * and its client both see. */
TEST(further_instance_is_of_the_pipes_type_with_its_own_sizes) {
    char name[128];
    pipe_name(name, "pipetype");
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 4, 1024, 1024, 0, NULL);
    REQUIRE_HANDLE(a);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 3, 102, 24, 1234, NULL);
    REQUIRE_HANDLE(b);
    check_info(a, PIPE_SERVER_END | PIPE_TYPE_BYTE, 1024, 1024, 4);
    check_info(b, PIPE_SERVER_END | PIPE_TYPE_BYTE, 102, 24, 4);
    HANDLE ca = connect_client(name); /* the first instance listens longest */
    HANDLE cb = connect_client(name);
    check_info(ca, PIPE_CLIENT_END | PIPE_TYPE_BYTE, 1024, 1024, 4);
    check_info(cb, PIPE_CLIENT_END | PIPE_TYPE_BYTE, 102, 24, 4);
    /* A byte pipe: two writes arrive as one stream, and message read mode is refused. */
    write_all(b, "ab", 2);
    write_all(b, "cd", 2);
    char buf[8];
    read_exact(cb, buf, 4);
    CHECK_MEM(buf, "abcd", 4);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_FAILS(SetNamedPipeHandleState(cb, &mode, NULL, NULL), ERROR_INVALID_PARAMETER);
    CHECK_FAILS(SetNamedPipeHandleState(b, &mode, NULL, NULL), ERROR_INVALID_PARAMETER);
    CloseHandle(ca);
    CloseHandle(cb);
    CloseHandle(a);
    CloseHandle(b);
}

/* The other way round: a byte instance of a message pipe carries messages. */
TEST(further_byte_instance_of_a_message_pipe_carries_messages) {
    char name[128];
    pipe_name(name, "msgtype");
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 2,
                                4096, 4096, 0, NULL);
    REQUIRE_HANDLE(a);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 512, 512, 0, NULL);
    REQUIRE_HANDLE(b);
    check_info(b, PIPE_SERVER_END | PIPE_TYPE_MESSAGE, 512, 512, 2);
    HANDLE ca = connect_client(name);
    HANDLE cb = connect_client(name);
    check_info(cb, PIPE_CLIENT_END | PIPE_TYPE_MESSAGE, 512, 512, 2);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(cb, &mode, NULL, NULL));
    write_all(b, "one", 3);
    write_all(b, "two", 3);
    char buf[16];
    DWORD n = 0;
    CHECK_OK(ReadFile(cb, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "one", 3);
    /* The instance reads in byte read mode, as it asked; it may switch to message read mode. */
    write_all(cb, "xy", 2);
    write_all(cb, "z", 1);
    read_exact(b, buf, 3);
    CHECK_MEM(buf, "xyz", 3);
    CHECK_OK(SetNamedPipeHandleState(b, &mode, NULL, NULL));
    CloseHandle(ca);
    CloseHandle(cb);
    CloseHandle(a);
    CloseHandle(b);
}

/* Message read mode needs a message pipe; a further instance is of the pipe's type, so asking for
 * it on a byte pipe fails as for a first instance (npipe's choice where Windows is not known). */
TEST(further_instance_in_message_read_mode_of_a_byte_pipe_is_invalid_parameter) {
    char name[128];
    pipe_name(name, "msgread");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 4);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 4,
                                   4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    DWORD cur = 0;
    CHECK_OK(GetNamedPipeHandleStateA(a, NULL, &cur, NULL, NULL, NULL, 0));
    CHECK_EQ(cur, 1);
    CloseHandle(a);
}

/* The pipe's limit counts, whatever a further instance asks for (Wine's test: a second instance
 * of a pipe limited to one is ERROR_PIPE_BUSY). */
TEST(the_pipes_instance_limit_counts) {
    char name[128];
    pipe_name(name, "limit");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, 4096, 4096,
                                0, NULL);
    REQUIRE_HANDLE(b);
    check_info(b, PIPE_SERVER_END | PIPE_TYPE_BYTE, 4096, 4096, 2);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, PIPE_UNLIMITED_INSTANCES, 4096,
                                   4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY);
    CloseHandle(b);
    /* A further instance that asks for fewer than there are is under the pipe's limit. */
    b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
    REQUIRE_HANDLE(b);
    check_info(b, PIPE_SERVER_END | PIPE_TYPE_BYTE, 4096, 4096, 2);
    CloseHandle(a);
    CloseHandle(b);
}

/* A full pipe refuses a further instance as busy before it looks at FILE_FLAG_FIRST_PIPE_INSTANCE
 * or the access mode (Wine's ntdll test_pipe_local_info, run on Windows). */
TEST(a_full_pipe_is_busy_before_anything_else) {
    char name[128];
    pipe_name(name, "fullfirst");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE, PIPE_TYPE_BYTE, 1,
                                   4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY);
    CloseHandle(a);
}

/* WaitNamedPipe's default wait is the pipe's, set by its first instance. */
TEST(the_pipes_default_timeout_counts) {
    char name[128];
    pipe_name(name, "timeout");
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 4096, 4096, 100, NULL);
    REQUIRE_HANDLE(a);
    HANDLE b = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 4096, 4096, 60000, NULL);
    REQUIRE_HANDLE(b);
    HANDLE ca = connect_client(name);
    HANDLE cb = connect_client(name);
    unsigned long long start = now_ms();
    CHECK_FAILS(WaitNamedPipeA(name, NMPWAIT_USE_DEFAULT_WAIT), ERROR_SEM_TIMEOUT);
    unsigned long long took = now_ms() - start;
    CHECK(took >= 90);
    CHECK(took < 10000);
    CloseHandle(ca);
    CloseHandle(cb);
    CloseHandle(a);
    CloseHandle(b);
}

/* argv: pipe name. Adds a message instance (with its own sizes) to the byte pipe the test made
 * and reports what the instance is through the exit code: 0 when it is a byte instance under
 * the pipe's limit with its own sizes. */
static int role_add_instance(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    HANDLE s = CreateNamedPipeA(argv[1], PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE, 1, 300, 200, 10, NULL);
    REQUIRE_HANDLE(s);
    check_info(s, PIPE_SERVER_END | PIPE_TYPE_BYTE, 300, 200, 3);
    write_all(GetStdHandle(STD_OUTPUT_HANDLE), "R", 1);
    BOOL r = ConnectNamedPipe(s, NULL);
    DWORD e = GetLastError();
    CHECK(r || e == ERROR_PIPE_CONNECTED);
    write_all(s, "ab", 2);
    write_all(s, "cd", 2);
    CHECK_OK(FlushFileBuffers(s));
    CloseHandle(s);
    return 0;
}

/* The same across processes: another process's instance of the pipe is of the pipe's type. */
/* ConnectNamedPipe on an overlapped instance, with its own event; the last error (0: TRUE). */
static DWORD start_connect(HANDLE server, OVERLAPPED* ov) {
    memset(ov, 0, sizeof *ov);
    ov->hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    if (ConnectNamedPipe(server, ov)) return 0;
    return GetLastError();
}

/* The pending connect has completed with a client (it waits at most 10 s for it). */
static int connect_completed(HANDLE server, OVERLAPPED* ov) {
    DWORD n = 0;
    return WaitForSingleObject(ov->hEvent, 10000) == WAIT_OBJECT_0 && GetOverlappedResult(server, ov, &n, FALSE);
}

/* A client goes to the instance that has listened longest: a new instance listens from its
 * creation, a disconnected one from its next ConnectNamedPipe, and a ConnectNamedPipe on one
 * already listening does not move it (Wine's test_multiple_instances, run on Windows). */
TEST(a_client_goes_to_the_instance_listening_longest) {
    char name[128];
    pipe_name(name, "queue");
    HANDLE s[4], c;
    OVERLAPPED s2_first, s0_again, s2_again;
    for (int i = 0; i < 4; ++i) {
        s[i] = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, PIPE_TYPE_BYTE | PIPE_WAIT, 4, 1024,
                                1024, NMPWAIT_USE_DEFAULT_WAIT, NULL);
        REQUIRE_HANDLE(s[i]);
    }
    OVERLAPPED ov;
    c = connect_client(name); /* the first created */
    CHECK_EQ(start_connect(s[2], &s2_first), ERROR_IO_PENDING);
    CHECK_EQ(start_connect(s[0], &ov), ERROR_PIPE_CONNECTED);
    CloseHandle(ov.hEvent);
    CloseHandle(c);
    c = connect_client(name); /* s[1]: s[2]'s ConnectNamedPipe did not move s[2] ahead */
    CHECK_EQ(start_connect(s[1], &ov), ERROR_PIPE_CONNECTED);
    CloseHandle(ov.hEvent);
    CloseHandle(c);
    c = connect_client(name);
    CHECK(connect_completed(s[2], &s2_first));
    CloseHandle(c);

    CHECK_OK(DisconnectNamedPipe(s[0]));
    CHECK_OK(DisconnectNamedPipe(s[2]));
    CHECK_EQ(start_connect(s[2], &s2_again), ERROR_IO_PENDING);
    /* Windows orders two re-listens by their calls; npipe by when the broker reads them (the
     * listen after a disconnect is not acknowledged): an open between the two orders them. */
    c = connect_client(name); /* s[3], listening since its creation, before s[2] listened again */
    CHECK_EQ(start_connect(s[0], &s0_again), ERROR_IO_PENDING);
    CHECK_EQ(start_connect(s[3], &ov), ERROR_PIPE_CONNECTED);
    CloseHandle(ov.hEvent);
    CloseHandle(c);
    c = connect_client(name); /* s[2], which listened again before s[0] */
    CHECK(connect_completed(s[2], &s2_again));
    CHECK(!HasOverlappedIoCompleted(&s0_again));
    CloseHandle(c);
    c = connect_client(name);
    CHECK(connect_completed(s[0], &s0_again));
    CloseHandle(c);

    CHECK_OK(DisconnectNamedPipe(s[0])); /* it does not listen: every instance is taken */
    CHECK_RET_ERR(CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY);
    for (int i = 0; i < 4; ++i) CloseHandle(s[i]);
    CloseHandle(s2_first.hEvent);
    CloseHandle(s2_again.hEvent);
    CloseHandle(s0_again.hEvent);
}

TEST(an_instance_from_another_process_is_of_the_pipes_type) {
    char name[128];
    pipe_name(name, "otherproc");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 3);
    HANDLE ca = connect_client(name); /* `a` is busy: the next client gets the other process's */
    HANDLE ready, child_out, child_err = NULL;
    SECURITY_ATTRIBUTES inherit = {sizeof inherit, NULL, TRUE};
    REQUIRE_OK(CreatePipe(&ready, &child_out, &inherit, 0));
    REQUIRE_OK(SetHandleInformation(ready, HANDLE_FLAG_INHERIT, 0));
    REQUIRE_OK(DuplicateHandle(GetCurrentProcess(), GetStdHandle(STD_ERROR_HANDLE), GetCurrentProcess(),
                               &child_err, 0, TRUE, DUPLICATE_SAME_ACCESS)); /* its checks speak here */
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdOutput = child_out;
    si.hStdInput = si.hStdError = child_err;
    char cmd[256];
    snprintf(cmd, sizeof cmd, "role_add_instance %s", name);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, TRUE, &si, &pi));
    CloseHandle(child_out);
    CloseHandle(child_err);
    char r = 0;
    read_exact(ready, &r, 1);
    CHECK_EQ(r, 'R');
    HANDLE cb = connect_client(name);
    check_info(cb, PIPE_CLIENT_END | PIPE_TYPE_BYTE, 300, 200, 3);
    char buf[8];
    read_exact(cb, buf, 4);
    CHECK_MEM(buf, "abcd", 4);
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(ready);
    CloseHandle(cb);
    CloseHandle(ca);
    CloseHandle(a);
}

TEST_TABLE{
    TEST_ENTRY(further_instance_may_differ_in_all_but_its_access),
    TEST_ENTRY(further_instance_is_of_the_pipes_type_with_its_own_sizes),
    TEST_ENTRY(further_byte_instance_of_a_message_pipe_carries_messages),
    TEST_ENTRY(further_instance_in_message_read_mode_of_a_byte_pipe_is_invalid_parameter),
    TEST_ENTRY(the_pipes_instance_limit_counts),
    TEST_ENTRY(a_full_pipe_is_busy_before_anything_else),
    TEST_ENTRY(the_pipes_default_timeout_counts),
    TEST_ENTRY(a_client_goes_to_the_instance_listening_longest),
    TEST_ENTRY(an_instance_from_another_process_is_of_the_pipes_type),
    TABLE_END,
};
ROLE_TABLE{
    ROLE_ENTRY(role_add_instance),
    TABLE_END,
};
