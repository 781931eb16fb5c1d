/* ConnectNamedPipe, DisconnectNamedPipe and I/O in each pipe state. */
#include "harness.h"

static DWORD WINAPI connect_thread(LPVOID arg) {
    BOOL r = ConnectNamedPipe((HANDLE)arg, NULL);
    return r ? 1u : 1000u + GetLastError();
}

TEST(connect_after_client_arrived_is_pipe_connected) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "early"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    /* Again: still connected, does not wait. */
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(connect_blocks_until_a_client_opens) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "blocking"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE t = start_thread(connect_thread, s);
    REQUIRE(wait_until_busy(s, 5000));
    CHECK_EQ(WaitForSingleObject(t, 0), WAIT_TIMEOUT);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_EQ(join_thread(t), 1);
    /* Data flows once connected. */
    write_all(c, "hi", 2);
    char buf[2];
    read_exact(s, buf, 2);
    CHECK_MEM(buf, "hi", 2);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(connect_after_client_closed_is_no_data) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "closed"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_NO_DATA);
    CloseHandle(s);
}

TEST(connect_and_disconnect_on_client_handle_are_invalid_function) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "clientfn"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_FAILS(ConnectNamedPipe(c, NULL), ERROR_INVALID_FUNCTION);
    CHECK_FAILS(DisconnectNamedPipe(c), ERROR_INVALID_FUNCTION);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(disconnect_twice_is_pipe_not_connected) {
    HANDLE s, c;
    make_pair("disc2", PIPE_TYPE_BYTE, &s, &c);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_FAILS(DisconnectNamedPipe(s), ERROR_PIPE_NOT_CONNECTED);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(disconnect_in_closing_state_succeeds) {
    HANDLE s, c;
    make_pair("discclosing", PIPE_TYPE_BYTE, &s, &c);
    write_all(c, "left", 4);
    CloseHandle(c);
    CHECK_OK(DisconnectNamedPipe(s));
    CloseHandle(s);
}

TEST(disconnect_discards_data_and_client_io_is_not_connected) {
    HANDLE s, c;
    make_pair("discdata", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "pending", 7);
    write_all(c, "pending", 7);
    CHECK_OK(DisconnectNamedPipe(s));
    char buf[16];
    DWORD n = 77;
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(n, 0);
    n = 77;
    CHECK_FAILS(WriteFile(c, "x", 1, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(n, 0);
    CHECK_FAILS(PeekNamedPipe(c, buf, sizeof buf, &n, NULL, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(FlushFileBuffers(c), ERROR_PIPE_NOT_CONNECTED);
    DWORD flags, state;
    CHECK_FAILS(GetNamedPipeInfo(c, &flags, NULL, NULL, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(GetNamedPipeHandleStateA(c, &state, NULL, NULL, NULL, NULL, 0),
                ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(TransactNamedPipe(c, "x", 1, buf, sizeof buf, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    /* The server end, disconnected. */
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(WriteFile(s, "x", 1, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_FAILS(PeekNamedPipe(s, buf, sizeof buf, &n, NULL, NULL), ERROR_BAD_PIPE);
    CHECK_OK(FlushFileBuffers(s));
    CloseHandle(c);
    CloseHandle(s);
}

/* Wine's kernel32 test_DisconnectNamedPipe, run on Windows: once the server has disconnected
 * it, the client's handle is not signaled. Nothing can make it signaled again: every call on it
 * fails from then on. */
TEST(client_handle_is_not_signaled_after_the_server_disconnects) {
    HANDLE s, c;
    make_pair("discsignal", PIPE_TYPE_BYTE, &s, &c);
    write_all(c, "x", 1);
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_OBJECT_0);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_TIMEOUT);
    CHECK_EQ(WaitForSingleObject(c, 30), WAIT_TIMEOUT);
    char buf[4];
    DWORD n;
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_TIMEOUT);
    HANDLE both[2] = {c, s};
    CHECK_EQ(WaitForMultipleObjects(2, both, TRUE, 0), WAIT_TIMEOUT);
    CloseHandle(c);
    CloseHandle(s);
}

/* A server that closes (rather than disconnects) leaves its data to be read: the client's
 * handle stays signaled. */
TEST(client_handle_stays_signaled_after_the_server_closes) {
    HANDLE s, c;
    make_pair("closesignal", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "x", 1);
    CHECK_OK(CloseHandle(s));
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_OBJECT_0);
    char buf[4];
    read_exact(c, buf, 1);
    CHECK_EQ(WaitForSingleObject(c, 0), WAIT_OBJECT_0);
    CloseHandle(c);
}

TEST(io_on_listening_server_is_pipe_listening) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "listening"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    char buf[8];
    DWORD n = 5;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_PIPE_LISTENING);
    CHECK_EQ(n, 0);
    n = 5;
    CHECK_FAILS(WriteFile(s, "x", 1, &n, NULL), ERROR_PIPE_LISTENING);
    CHECK_EQ(n, 0);
    CHECK_FAILS(PeekNamedPipe(s, buf, sizeof buf, &n, NULL, NULL), ERROR_BAD_PIPE);
    CHECK_OK(FlushFileBuffers(s));
    CloseHandle(s);
}

TEST(disconnect_then_connect_serves_a_new_client) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "reuse"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c1 = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c1);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    write_all(c1, "one", 3);
    char buf[8];
    read_exact(s, buf, 3);
    CloseHandle(c1);
    CHECK_OK(DisconnectNamedPipe(s));
    HANDLE t = start_thread(connect_thread, s);
    REQUIRE(wait_until_busy(s, 5000));
    HANDLE c2 = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c2);
    CHECK_EQ(join_thread(t), 1);
    write_all(s, "two", 3);
    read_exact(c2, buf, 3);
    CHECK_MEM(buf, "two", 3);
    CloseHandle(c2);
    CloseHandle(s);
}

TEST(server_close_while_client_connected) {
    HANDLE s, c;
    make_pair("srvclose", PIPE_TYPE_BYTE, &s, &c);
    write_all(s, "bye", 3);
    CHECK_OK(CloseHandle(s));
    char buf[8];
    DWORD n = 0;
    CHECK_OK(ReadFile(c, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    n = 9;
    CHECK_FAILS(ReadFile(c, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(n, 0);
    CHECK_FAILS(WriteFile(c, "x", 1, &n, NULL), ERROR_NO_DATA);
    CloseHandle(c);
}

TEST(closing_state_client_flush_and_transact) {
    HANDLE s, c;
    make_pair("closingcli", PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, &s, &c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    REQUIRE_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    CHECK_OK(CloseHandle(s));
    /* Nothing queued: flush returns at once; a transaction is refused. */
    CHECK_OK(FlushFileBuffers(c));
    char buf[8];
    DWORD n;
    CHECK_FAILS(TransactNamedPipe(c, "x", 1, buf, sizeof buf, &n, NULL), ERROR_BAD_PIPE);
    CHECK_FAILS(PeekNamedPipe(c, buf, sizeof buf, &n, NULL, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(c);
}

TEST(client_close_while_server_connected) {
    HANDLE s, c;
    make_pair("cliclose", PIPE_TYPE_BYTE, &s, &c);
    write_all(c, "bye", 3);
    CHECK_OK(CloseHandle(c));
    char buf[8];
    DWORD n = 0;
    /* Writing into the closing pipe fails even with unread data queued. */
    CHECK_FAILS(WriteFile(s, "x", 1, &n, NULL), ERROR_NO_DATA);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "bye", 3);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_FAILS(ReadFile(s, buf, 0, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(nowait_connect_without_client_is_pipe_listening) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "nwlisten"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE | PIPE_NOWAIT, 1);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    CloseHandle(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_NO_DATA);
    CHECK_OK(DisconnectNamedPipe(s));
    /* After a disconnect, a nowait connect puts the instance back to listening. */
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING);
    c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_CONNECTED);
    CloseHandle(c);
    CloseHandle(s);
}

TEST_TABLE{
    TEST_ENTRY(connect_after_client_arrived_is_pipe_connected),
    TEST_ENTRY(connect_blocks_until_a_client_opens),
    TEST_ENTRY(connect_after_client_closed_is_no_data),
    TEST_ENTRY(connect_and_disconnect_on_client_handle_are_invalid_function),
    TEST_ENTRY(disconnect_twice_is_pipe_not_connected),
    TEST_ENTRY(disconnect_in_closing_state_succeeds),
    TEST_ENTRY(disconnect_discards_data_and_client_io_is_not_connected),
    TEST_ENTRY(client_handle_is_not_signaled_after_the_server_disconnects),
    TEST_ENTRY(client_handle_stays_signaled_after_the_server_closes),
    TEST_ENTRY(io_on_listening_server_is_pipe_listening),
    TEST_ENTRY(disconnect_then_connect_serves_a_new_client),
    TEST_ENTRY(server_close_while_client_connected),
    TEST_ENTRY(closing_state_client_flush_and_transact),
    TEST_ENTRY(client_close_while_server_connected),
    TEST_ENTRY(nowait_connect_without_client_is_pipe_listening),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
