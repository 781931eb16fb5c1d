/* WaitNamedPipe: free instances, busy instances, timeouts, wake-ups. */
#include "harness.h"

TEST(wait_on_free_instance_returns_true_at_once) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "free"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    unsigned long long start = now_ms();
    CHECK_OK(WaitNamedPipeA(name, 1));
    CHECK_OK(WaitNamedPipeA(name, NMPWAIT_WAIT_FOREVER));
    CHECK(now_ms() - start < 1000);
    CloseHandle(s);
}

TEST(wait_on_missing_name_is_file_not_found_at_once) {
    char name[128];
    pipe_name(name, "missing");
    unsigned long long start = now_ms();
    CHECK_FAILS(WaitNamedPipeA(name, 5000), ERROR_FILE_NOT_FOUND);
    CHECK_FAILS(WaitNamedPipeA(name, NMPWAIT_USE_DEFAULT_WAIT), ERROR_FILE_NOT_FOUND);
    CHECK_FAILS(WaitNamedPipeA(name, NMPWAIT_WAIT_FOREVER), ERROR_FILE_NOT_FOUND);
    CHECK(now_ms() - start < 1000);
}

TEST(wait_on_busy_pipe_times_out_with_sem_timeout) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "busy"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    unsigned long long start = now_ms();
    CHECK_FAILS(WaitNamedPipeA(name, 100), ERROR_SEM_TIMEOUT);
    unsigned long long elapsed = now_ms() - start;
    CHECK(elapsed >= 90);
    CHECK(elapsed < 5000);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(wait_default_timeout_is_the_servers) {
    char name[128];
    pipe_name(name, "deftimeout");
    HANDLE s = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 300, NULL);
    REQUIRE_HANDLE(s);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    unsigned long long start = now_ms();
    CHECK_FAILS(WaitNamedPipeA(name, NMPWAIT_USE_DEFAULT_WAIT), ERROR_SEM_TIMEOUT);
    unsigned long long elapsed = now_ms() - start;
    CHECK(elapsed >= 280);
    CHECK(elapsed < 5000);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(disconnected_instance_is_not_free) {
    HANDLE s, c;
    make_pair("disc", PIPE_TYPE_BYTE, &s, &c);
    char name[128];
    pipe_name(name, "disc");
    CloseHandle(c);
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_FAILS(WaitNamedPipeA(name, 50), ERROR_SEM_TIMEOUT);
    CHECK_RET_ERR(open_client(name, GENERIC_READ | GENERIC_WRITE), INVALID_HANDLE_VALUE,
                  ERROR_PIPE_BUSY);
    CloseHandle(s);
}

struct waiter {
    const char* name;
    DWORD timeout;
    BOOL ok;
    DWORD err;
};

static DWORD WINAPI waiter_thread(LPVOID p) {
    struct waiter* w = p;
    w->ok = WaitNamedPipeA(w->name, w->timeout);
    w->err = GetLastError();
    return 0;
}

TEST(new_instance_wakes_a_waiter) {
    char name[128];
    pipe_name(name, "wake-new");
    HANDLE s1 = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2);
    HANDLE c1 = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c1);
    struct waiter w = {name, NMPWAIT_WAIT_FOREVER, FALSE, 0};
    HANDLE t = start_thread(waiter_thread, &w);
    CHECK_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT);
    HANDLE s2 = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 2);
    CHECK_EQ(join_thread(t), 0);
    CHECK(w.ok);
    HANDLE c2 = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c2);
    CloseHandle(c1);
    CloseHandle(c2);
    CloseHandle(s1);
    CloseHandle(s2);
}

static DWORD WINAPI connect_thread(LPVOID arg) {
    BOOL r = ConnectNamedPipe((HANDLE)arg, NULL);
    return r ? 1u : 1000u + GetLastError();
}

TEST(connect_after_disconnect_wakes_a_waiter) {
    char name[128];
    pipe_name(name, "wake-connect");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    HANDLE c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    CHECK_OK(DisconnectNamedPipe(s));
    struct waiter w = {name, 10000, FALSE, 0};
    HANDLE t = start_thread(waiter_thread, &w);
    CHECK_EQ(WaitForSingleObject(t, 100), WAIT_TIMEOUT);
    HANDLE ct = start_thread(connect_thread, s);
    CHECK_EQ(join_thread(t), 0);
    CHECK(w.ok);
    c = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CHECK_EQ(join_thread(ct), 1);
    CloseHandle(c);
    CloseHandle(s);
}

TEST(wait_wide_name) {
    char name[128];
    WCHAR wname[128];
    HANDLE s = make_server(pipe_name(name, "wide"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    CHECK_OK(WaitNamedPipeW(widen(name, wname), 1000));
    CloseHandle(s);
    CHECK_FAILS(WaitNamedPipeW(wname, 1000), ERROR_FILE_NOT_FOUND);
}

TEST_TABLE{
    TEST_ENTRY(wait_on_free_instance_returns_true_at_once),
    TEST_ENTRY(wait_on_missing_name_is_file_not_found_at_once),
    TEST_ENTRY(wait_on_busy_pipe_times_out_with_sem_timeout),
    TEST_ENTRY(wait_default_timeout_is_the_servers),
    TEST_ENTRY(disconnected_instance_is_not_free),
    TEST_ENTRY(new_instance_wakes_a_waiter),
    TEST_ENTRY(connect_after_disconnect_wakes_a_waiter),
    TEST_ENTRY(wait_wide_name),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
