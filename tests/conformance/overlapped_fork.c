/* fork() in a process whose overlapped I/O has started the reactor thread: the child's own
 * overlapped operations complete (it starts a reactor of its own), and the parent's go on. */
#include "harness.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* An overlapped server instance and a synchronous client connected to it. */
static int overlapped_pair(const char* tag, HANDLE* server, HANDLE* client) {
    char name[128];
    pipe_name(name, tag);
    *server = CreateNamedPipeA(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED, PIPE_TYPE_BYTE, 1, 4096, 4096, 0,
                               NULL);
    if (*server == INVALID_HANDLE_VALUE) return 0;
    *client = CreateFileA(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    return *client != INVALID_HANDLE_VALUE;
}

/* Starts a read that waits (so the reactor drives it); 1 when it is pending. */
static int start_pending_read(HANDLE server, OVERLAPPED* ov, char* buf) {
    memset(ov, 0, sizeof *ov);
    ov->hEvent = CreateEventA(NULL, TRUE, FALSE, NULL);
    return !ReadFile(server, buf, 1, NULL, ov) && GetLastError() == ERROR_IO_PENDING;
}

/* Writes one byte from the client; 1 when the pending read then completes with it. */
static int completes_with(HANDLE client, HANDLE server, OVERLAPPED* ov, const char* buf, char b) {
    DWORD n = 0;
    if (!WriteFile(client, &b, 1, &n, NULL)) return 0;
    if (WaitForSingleObject(ov->hEvent, 10000) != WAIT_OBJECT_0) return 0;
    return GetOverlappedResult(server, ov, &n, FALSE) && n == 1 && buf[0] == b;
}

/* The child: a pipe of its own, a read that has to wait for its data. */
static int child_io(void) {
    HANDLE s, c;
    OVERLAPPED ov;
    char buf[1];
    if (!overlapped_pair("fork-child", &s, &c)) return 2;
    if (!start_pending_read(s, &ov, buf)) return 3;
    if (!completes_with(c, s, &ov, buf, 'c')) return 4;
    return 0;
}

TEST(a_forked_child_runs_its_own_overlapped_io) {
    HANDLE s, c;
    OVERLAPPED ov;
    char buf[1];
    REQUIRE(overlapped_pair("fork-parent", &s, &c));
    /* One read through the reactor, then one left pending across the fork. */
    REQUIRE(start_pending_read(s, &ov, buf));
    CHECK(completes_with(c, s, &ov, buf, 'a'));
    CloseHandle(ov.hEvent);
    REQUIRE(start_pending_read(s, &ov, buf));

    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(child_io());

    int status = 0;
    unsigned long long deadline = now_ms() + 15000;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && now_ms() < deadline) Sleep(5);
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    CHECK_EQ(done, pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    /* The parent's pending read was not the child's to take. */
    CHECK(completes_with(c, s, &ov, buf, 'b'));
    CloseHandle(ov.hEvent);
    CloseHandle(c);
    CloseHandle(s);
}

TEST_TABLE{
    TEST_ENTRY(a_forked_child_runs_its_own_overlapped_io),
    TABLE_END,
};

ROLE_TABLE{
    TABLE_END,
};
