/* CreateNamedPipe, CreateFile on pipe names, GetNamedPipeInfo, GetNamedPipeHandleState,
 * GetNamedPipeClient/Server ProcessId and SessionId. */
#include "harness.h"

#include <unistd.h>

TEST(create_returns_valid_handle) {
    char name[128];
    HANDLE h = CreateNamedPipeA(pipe_name(name, "basic"), PIPE_ACCESS_DUPLEX,
                                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT, 1, 4096, 4096, 0,
                                NULL);
    REQUIRE_HANDLE(h);
    CHECK_OK(CloseHandle(h));
}

TEST(create_name_without_pipe_prefix_is_invalid_name) {
    CHECK_RET_ERR(CreateNamedPipeA("not a named pipe", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 1024,
                                   1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_NAME);
}

TEST(create_null_name_is_path_not_found) {
    CHECK_RET_ERR(CreateNamedPipeA(NULL, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 1024, 1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PATH_NOT_FOUND);
}

TEST(create_empty_name_is_invalid_name) {
    CHECK_RET_ERR(CreateNamedPipeA("\\\\.\\pipe\\", PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 1024,
                                   1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_NAME);
}

TEST(create_byte_type_with_message_read_mode_is_invalid_parameter) {
    char name[128];
    CHECK_RET_ERR(CreateNamedPipeA(pipe_name(name, "bytemsg"), PIPE_ACCESS_DUPLEX,
                                   PIPE_TYPE_BYTE | PIPE_READMODE_MESSAGE, 1, 1024, 1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
}

TEST(create_max_instances_out_of_range_is_invalid_parameter) {
    char name[128];
    pipe_name(name, "range");
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 0, 1024, 1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 256, 1024, 1024, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_INVALID_PARAMETER);
}

TEST(create_beyond_instance_limit_is_pipe_busy) {
    char name[128];
    pipe_name(name, "limit");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2);
    HANDLE b = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_PIPE_BUSY);
    /* Closing one instance frees a slot. */
    CHECK_OK(CloseHandle(b));
    HANDLE c = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2, 4096, 4096, 0, NULL);
    REQUIRE_HANDLE(c);
    CloseHandle(a);
    CloseHandle(c);
}

TEST(create_second_instance_with_other_access_is_access_denied) {
    char name[128];
    pipe_name(name, "access");
    HANDLE a = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 3);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 3, 4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CloseHandle(a);
}

TEST(create_first_pipe_instance_flag) {
    char name[128];
    pipe_name(name, "first");
    HANDLE a = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                PIPE_TYPE_BYTE, 2, 4096, 4096, 0, NULL);
    REQUIRE_HANDLE(a);
    CHECK_RET_ERR(CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                   PIPE_TYPE_BYTE, 2, 4096, 4096, 0, NULL),
                  INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CloseHandle(a);
}

TEST(closed_instance_is_gone_when_close_handle_returns) {
    /* A server that closes its only instance and creates the pipe again at once, with
     * FILE_FLAG_FIRST_PIPE_INSTANCE and a limit of one: CloseHandle is complete when it
     * returns, so the old instance never counts against the new one. */
    char name[128];
    pipe_name(name, "reopen");
    for (int i = 0; i < 300; ++i) {
        HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                    PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
        REQUIRE_HANDLE(s);
        if (i % 3 == 0) { /* sometimes with a client that is still there */
            HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
            REQUIRE_HANDLE(c);
            CHECK_OK(CloseHandle(s));
            DWORD n;
            char b;
            CHECK_FAILS(ReadFile(c, &b, 1, &n, NULL), ERROR_BROKEN_PIPE);
            CloseHandle(c);
        } else if (i % 3 == 1) { /* a connected instance closed, the next created at once */
            HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
            REQUIRE_HANDLE(c);
            CHECK(ConnectNamedPipe(s, NULL) || GetLastError() == ERROR_PIPE_CONNECTED);
            CHECK_OK(CloseHandle(s));
            HANDLE next = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                                           PIPE_TYPE_BYTE, 1, 4096, 4096, 0, NULL);
            REQUIRE_HANDLE(next);
            CHECK_OK(CloseHandle(next));
            DWORD n;
            char b;
            CHECK_FAILS(ReadFile(c, &b, 1, &n, NULL), ERROR_BROKEN_PIPE);
            CloseHandle(c);
        } else {
            CHECK_OK(CloseHandle(s));
        }
    }
    /* And gone for clients too. */
    CHECK_RET_ERR(open_client(name, GENERIC_READ), INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND);
}

TEST(create_wide_name_opened_with_narrow_name) {
    char name[128];
    WCHAR wname[128];
    pipe_name(name, "wide");
    HANDLE s = CreateNamedPipeW(widen(name, wname), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096,
                                4096, 0, NULL);
    REQUIRE_HANDLE(s);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
    /* And the other way round: CreateFileW on a name made with CreateNamedPipeA. */
    pipe_name(name, "wide2");
    s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    c = CreateFileW(widen(name, wname), GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(names_are_case_insensitive) {
    char name[128], other[128];
    snprintf(name, sizeof name, "\\\\.\\pipe\\npipe-conf-%ld-CaseTest", (long)getpid());
    snprintf(other, sizeof other, "\\\\.\\PiPe\\NPIPE-CONF-%ld-casetest", (long)getpid());
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(other, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(names_allow_special_characters) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "a<>*?|\"/b"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(open_missing_name_is_file_not_found) {
    char name[128];
    CHECK_RET_ERR(open_client(pipe_name(name, "nobody"), GENERIC_READ | GENERIC_WRITE),
                  INVALID_HANDLE_VALUE, ERROR_FILE_NOT_FOUND);
}

TEST(open_connected_instance_is_pipe_busy) {
    char name[128];
    pipe_name(name, "busy");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_RET_ERR(open_client(name, GENERIC_READ | GENERIC_WRITE), INVALID_HANDLE_VALUE,
                  ERROR_PIPE_BUSY);
    /* The client closed but the server did not disconnect: still busy. */
    CloseHandle(c);
    CHECK_RET_ERR(open_client(name, GENERIC_READ | GENERIC_WRITE), INVALID_HANDLE_VALUE,
                  ERROR_PIPE_BUSY);
    /* Disconnected, no new ConnectNamedPipe: still busy. */
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_RET_ERR(open_client(name, GENERIC_READ | GENERIC_WRITE), INVALID_HANDLE_VALUE,
                  ERROR_PIPE_BUSY);
    CloseHandle(s);
}

TEST(open_against_pipe_direction_is_access_denied) {
    char name[128];
    pipe_name(name, "inbound");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1);
    CHECK_RET_ERR(open_client(name, GENERIC_READ), INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CloseHandle(s);
    pipe_name(name, "outbound");
    s = make_server(name, PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE, 1);
    CHECK_RET_ERR(open_client(name, GENERIC_WRITE), INVALID_HANDLE_VALUE, ERROR_ACCESS_DENIED);
    CloseHandle(s);
}

TEST(open_with_matching_direction_moves_data) {
    char name[128];
    pipe_name(name, "inbound-ok");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    write_all(c, "in", 2);
    char buf[8];
    read_exact(s, buf, 2);
    CHECK_MEM(buf, "in", 2);
    CloseHandle(c);
    CloseHandle(s);
    pipe_name(name, "outbound-ok");
    s = make_server(name, PIPE_ACCESS_OUTBOUND, PIPE_TYPE_BYTE, 1);
    c = open_client(name, GENERIC_READ);
    REQUIRE_HANDLE(c);
    write_all(s, "out", 3);
    read_exact(c, buf, 3);
    CHECK_MEM(buf, "out", 3);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(open_with_access_zero_succeeds) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "access0"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, 0);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(named_pipe_info_reports_what_was_created) {
    char name[128];
    pipe_name(name, "info");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE,
                                3, 1024, 1024, 0, NULL);
    REQUIRE_HANDLE(s);
    DWORD flags = 99, out = 99, in = 99, max = 99;
    CHECK_OK(GetNamedPipeInfo(s, &flags, &out, &in, &max));
    CHECK_EQ(flags, PIPE_SERVER_END | PIPE_TYPE_MESSAGE);
    CHECK_EQ(out, 1024);
    CHECK_EQ(in, 1024);
    CHECK_EQ(max, 3);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    flags = out = in = max = 99;
    CHECK_OK(GetNamedPipeInfo(c, &flags, &out, &in, &max));
    CHECK_EQ(flags, PIPE_CLIENT_END | PIPE_TYPE_MESSAGE);
    CHECK_EQ(out, 1024);
    CHECK_EQ(in, 1024);
    CHECK_EQ(max, 3);
    /* Every out-parameter may be NULL. */
    CHECK_OK(GetNamedPipeInfo(s, NULL, NULL, NULL, NULL));
    CloseHandle(c);
    CloseHandle(s);
}

TEST(named_pipe_info_sizes_are_not_rounded) {
    char name[128];
    pipe_name(name, "info0");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1, 0, 0, 0, NULL);
    REQUIRE_HANDLE(s);
    DWORD flags = 99, out = 99, in = 99, max = 99;
    CHECK_OK(GetNamedPipeInfo(s, &flags, &out, &in, &max));
    CHECK_EQ(flags, PIPE_SERVER_END);
    CHECK_EQ(out, 0);
    CHECK_EQ(in, 0);
    CHECK_EQ(max, 1);
    CloseHandle(s);
    pipe_name(name, "infof000");
    s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 0xf000, 0xf000, 0, NULL);
    REQUIRE_HANDLE(s);
    CHECK_OK(GetNamedPipeInfo(s, &flags, &out, &in, &max));
    CHECK_EQ(out, 0xf000);
    CHECK_EQ(in, 0xf000);
    CloseHandle(s);
}

TEST(handle_state_of_server_and_client) {
    char name[128];
    pipe_name(name, "state");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 4);
    DWORD state = 99, cur = 99;
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, &cur, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_MESSAGE | PIPE_WAIT);
    CHECK_EQ(cur, 1);
    HANDLE s2 = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_NOWAIT, 4);
    CHECK_OK(GetNamedPipeHandleStateA(s2, &state, &cur, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_BYTE | PIPE_NOWAIT);
    CHECK_EQ(cur, 2);
    /* The client starts in byte read mode, blocking, whatever the server's mode. */
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    state = cur = 99;
    CHECK_OK(GetNamedPipeHandleStateA(c, &state, &cur, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_BYTE | PIPE_WAIT);
    CHECK_EQ(cur, 2);
    CHECK_OK(GetNamedPipeHandleStateA(c, NULL, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(GetNamedPipeHandleStateW(s, &state, NULL, NULL, NULL, NULL, 0));
    CHECK_EQ(state, PIPE_READMODE_MESSAGE | PIPE_WAIT);
    CloseHandle(c);
    CloseHandle(s);
    CloseHandle(s2);
}

TEST(handle_state_client_sees_zero_instances_after_server_closed) {
    char name[128];
    pipe_name(name, "state0");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(s);
    DWORD state = 99, cur = 99;
    CHECK_OK(GetNamedPipeHandleStateA(c, &state, &cur, NULL, NULL, NULL, 0));
    CHECK_EQ(cur, 0);
    CloseHandle(c);
}

TEST(process_ids_within_one_process) {
    HANDLE s, c;
    make_pair("pids", PIPE_TYPE_BYTE, &s, &c);
    ULONG pid = 0;
    CHECK_OK(GetNamedPipeClientProcessId(s, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    pid = 0;
    CHECK_OK(GetNamedPipeServerProcessId(s, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    pid = 0;
    CHECK_OK(GetNamedPipeServerProcessId(c, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    pid = 0;
    CHECK_OK(GetNamedPipeClientProcessId(c, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    CHECK_EQ(GetCurrentProcessId(), (DWORD)getpid());
    ULONG s1 = 12345, s2 = 54321;
    CHECK_OK(GetNamedPipeClientSessionId(s, &s1));
    CHECK_OK(GetNamedPipeServerSessionId(c, &s2));
    CHECK_EQ(s1, s2);
    CloseHandle(c);
    CloseHandle(s);
}

/* Collection settings exist only for a client end of a pipe to another machine: asked of a
 * local server end, the call fails whole (Wine's test_NamedPipeHandleState, run on Windows). */
TEST(handle_state_of_a_server_has_no_collection_settings) {
    char name[128];
    pipe_name(name, "collect");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_WAIT, 1, 1024, 1024,
                                NMPWAIT_USE_DEFAULT_WAIT, NULL);
    REQUIRE_HANDLE(s);
    DWORD state = 99, instances = 99, count = 99, timeout = 99;
    char user[260];
    CHECK_OK(GetNamedPipeHandleStateA(s, NULL, NULL, NULL, NULL, NULL, 0));
    CHECK_OK(GetNamedPipeHandleStateA(s, &state, &instances, NULL, NULL, NULL, 0));
    CHECK_EQ(state, 0);
    CHECK_EQ(instances, 1);
    CHECK_FAILS(GetNamedPipeHandleStateA(s, &state, &instances, &count, &timeout, user, sizeof user),
                ERROR_INVALID_PARAMETER);
    CloseHandle(s);
}

/* The ids outlive a close of either end but not a disconnect, and a missing output is
 * ERROR_INSUFFICIENT_BUFFER (Wine's test_namedpipe_process_id and _session_id, run on Windows). */
TEST(process_ids_follow_the_connection) {
    HANDLE s, c;
    ULONG id = 0, me = GetCurrentProcessId();
    make_pair("pidlife", PIPE_TYPE_BYTE, &s, &c);
    CHECK_FAILS(GetNamedPipeClientProcessId(s, NULL), ERROR_INSUFFICIENT_BUFFER);
    CHECK_FAILS(GetNamedPipeServerProcessId(s, NULL), ERROR_INSUFFICIENT_BUFFER);
    CHECK_FAILS(GetNamedPipeServerSessionId(s, NULL), ERROR_INSUFFICIENT_BUFFER);
    CloseHandle(c); /* a closed client: the server still knows it */
    CHECK_OK(GetNamedPipeClientProcessId(s, &id));
    CHECK_EQ(id, me);
    CloseHandle(s);

    make_pair("pidlife", PIPE_TYPE_BYTE, &s, &c);
    CloseHandle(s); /* a closed server: the client still knows both */
    id = 0;
    CHECK_OK(GetNamedPipeServerProcessId(c, &id));
    CHECK_EQ(id, me);
    id = 0;
    CHECK_OK(GetNamedPipeClientProcessId(c, &id));
    CHECK_EQ(id, me);
    CloseHandle(c);

    make_pair("pidlife", PIPE_TYPE_BYTE, &s, &c);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_FAILS(GetNamedPipeClientProcessId(s, &id), ERROR_NOT_FOUND);
    CHECK_FAILS(GetNamedPipeClientSessionId(s, &id), ERROR_NOT_FOUND);
    id = 0;
    CHECK_OK(GetNamedPipeServerProcessId(s, &id));
    CHECK_EQ(id, me);
    CHECK_FAILS(GetNamedPipeClientProcessId(c, &id), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(GetNamedPipeServerProcessId(c, &id), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(GetNamedPipeServerSessionId(c, &id), ERROR_PIPE_NOT_CONNECTED);
    CloseHandle(c);
    CloseHandle(s);
}

/* Windows keeps a client computer name only for clients its SMB server brought: a local client,
 * a client end and an anonymous pipe are ERROR_PIPE_LOCAL (firehazard's doc tests, run on
 * Windows, for the last two and for unconnected server ends). */
TEST(client_computer_name_of_a_local_client_is_pipe_local) {
    HANDLE s, c, r, w;
    char name[64] = "untouched";
    WCHAR wide[64] = {0};
    make_pair("computer", PIPE_TYPE_BYTE, &s, &c);
    CHECK_FAILS(GetNamedPipeClientComputerNameA(s, name, sizeof name), ERROR_PIPE_LOCAL);
    CHECK_EQ(strcmp(name, "untouched"), 0);
    CHECK_FAILS(GetNamedPipeClientComputerNameW(s, wide, sizeof wide), ERROR_PIPE_LOCAL);
    CHECK_FAILS(GetNamedPipeClientComputerNameA(c, name, sizeof name), ERROR_PIPE_LOCAL);
    CHECK_OK(CreatePipe(&r, &w, NULL, 0));
    CHECK_FAILS(GetNamedPipeClientComputerNameA(r, name, sizeof name), ERROR_PIPE_LOCAL);
    CHECK_FAILS(GetNamedPipeClientComputerNameW(w, wide, sizeof wide), ERROR_PIPE_LOCAL);
    CHECK_FAILS(GetNamedPipeClientComputerNameA(BOGUS_HANDLE, name, sizeof name), ERROR_INVALID_HANDLE);
    CloseHandle(r);
    CloseHandle(w);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(invalid_handles_are_rejected) {
    DWORD flags, state;
    ULONG pid;
    CHECK_FAILS(GetNamedPipeInfo(BOGUS_HANDLE, &flags, NULL, NULL, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GetNamedPipeInfo(NULL, &flags, NULL, NULL, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(GetNamedPipeHandleStateA(BOGUS_HANDLE, &state, NULL, NULL, NULL, NULL, 0),
                ERROR_INVALID_HANDLE);
    CHECK_FAILS(GetNamedPipeClientProcessId(BOGUS_HANDLE, &pid), ERROR_INVALID_HANDLE);
    CHECK_FAILS(ConnectNamedPipe(BOGUS_HANDLE, NULL), ERROR_INVALID_HANDLE);
    CHECK_FAILS(DisconnectNamedPipe(BOGUS_HANDLE), ERROR_INVALID_HANDLE);
}

TEST_TABLE{
    TEST_ENTRY(create_returns_valid_handle),
    TEST_ENTRY(client_computer_name_of_a_local_client_is_pipe_local),
    TEST_ENTRY(create_name_without_pipe_prefix_is_invalid_name),
    TEST_ENTRY(create_null_name_is_path_not_found),
    TEST_ENTRY(create_empty_name_is_invalid_name),
    TEST_ENTRY(create_byte_type_with_message_read_mode_is_invalid_parameter),
    TEST_ENTRY(create_max_instances_out_of_range_is_invalid_parameter),
    TEST_ENTRY(create_beyond_instance_limit_is_pipe_busy),
    TEST_ENTRY(create_second_instance_with_other_access_is_access_denied),
    TEST_ENTRY(create_first_pipe_instance_flag),
    TEST_ENTRY(closed_instance_is_gone_when_close_handle_returns),
    TEST_ENTRY(create_wide_name_opened_with_narrow_name),
    TEST_ENTRY(names_are_case_insensitive),
    TEST_ENTRY(names_allow_special_characters),
    TEST_ENTRY(open_missing_name_is_file_not_found),
    TEST_ENTRY(open_connected_instance_is_pipe_busy),
    TEST_ENTRY(open_against_pipe_direction_is_access_denied),
    TEST_ENTRY(open_with_matching_direction_moves_data),
    TEST_ENTRY(open_with_access_zero_succeeds),
    TEST_ENTRY(named_pipe_info_reports_what_was_created),
    TEST_ENTRY(named_pipe_info_sizes_are_not_rounded),
    TEST_ENTRY(handle_state_of_server_and_client),
    TEST_ENTRY(handle_state_client_sees_zero_instances_after_server_closed),
    TEST_ENTRY(process_ids_within_one_process),
    TEST_ENTRY(process_ids_follow_the_connection),
    TEST_ENTRY(handle_state_of_a_server_has_no_collection_settings),
    TEST_ENTRY(invalid_handles_are_rejected),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
