/* CreateProcess with STARTUPINFO and handle inheritance, process handles, exit codes, named and
 * anonymous pipes across processes. The other process is this program, started with --role. */
#include "harness.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- roles (run in the child process) ----------------------------------------------------- */

/* Exit with the given code by returning from main. */
static int role_return_code(int argc, char** argv) { return argc > 1 ? atoi(argv[1]) : 0; }

/* Exit with ExitProcess. */
static int role_exit_process(int argc, char** argv) {
    ExitProcess(argc > 1 ? (UINT)atoi(argv[1]) : 0);
}

/* Copies stdin to stdout through the Win32 std handles; the end of stdin must be
 * ERROR_BROKEN_PIPE. Exit code: the number of bytes copied. */
static int role_echo_std(int argc, char** argv) {
    (void)argc;
    (void)argv;
    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
    REQUIRE(in != INVALID_HANDLE_VALUE && in != NULL);
    REQUIRE(out != INVALID_HANDLE_VALUE && out != NULL);
    char buf[256];
    DWORD total = 0, n = 0;
    BOOL ok;
    while ((ok = ReadFile(in, buf, sizeof buf, &n, NULL)) && n > 0) {
        write_all(out, buf, n);
        total += n;
    }
    CHECK_EQ(ok, FALSE);
    CHECK_ERR(ERROR_BROKEN_PIPE);
    return (int)total;
}

/* Uses the POSIX descriptors 0, 1 and 2 directly. Exit code: bytes read from fd 0. */
static int role_fd_std(int argc, char** argv) {
    (void)argc;
    (void)argv;
    CHECK_EQ(write(1, "fd1", 3), 3);
    CHECK_EQ(write(2, "fd2", 3), 3);
    char buf[64];
    ssize_t n, total = 0;
    while ((n = read(0, buf, sizeof buf)) > 0) total += n;
    return (int)total;
}

/* argv: inheritable write handle, non-inheritable write handle. */
static int role_inherit_check(int argc, char** argv) {
    REQUIRE_EQ(argc, 3);
    HANDLE a = parse_handle(argv[1]);
    HANDLE b = parse_handle(argv[2]);
    DWORD n = 0;
    CHECK_OK(WriteFile(a, "A", 1, &n, NULL));
    CHECK_EQ(n, 1);
    DWORD flags = 99;
    CHECK_OK(GetHandleInformation(a, &flags));
    CHECK_EQ(flags, HANDLE_FLAG_INHERIT);
    CHECK_FAILS(WriteFile(b, "B", 1, &n, NULL), ERROR_INVALID_HANDLE);
    return 0;
}

/* argv: a handle that must not exist here. */
static int role_no_handle(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    DWORD n;
    CHECK_FAILS(WriteFile(parse_handle(argv[1]), "A", 1, &n, NULL), ERROR_INVALID_HANDLE);
    return 0;
}

/* Blocks reading stdin until its writer closes; exit code 3. */
static int role_block(int argc, char** argv) {
    (void)argc;
    (void)argv;
    char b;
    DWORD n;
    while (ReadFile(GetStdHandle(STD_INPUT_HANDLE), &b, 1, &n, NULL) && n > 0) {
    }
    return 3;
}

/* Writes its process id (decimal) to stdout. */
static int role_report_pid(int argc, char** argv) {
    (void)argc;
    (void)argv;
    char text[32];
    int len = snprintf(text, sizeof text, "%lu", (unsigned long)GetCurrentProcessId());
    write_all(GetStdHandle(STD_OUTPUT_HANDLE), text, (DWORD)len);
    return 0;
}

/* argv: pipe name, parent pid. Opens the pipe, transacts, checks process ids. */
static int role_pipe_client(int argc, char** argv) {
    REQUIRE_EQ(argc, 3);
    HANDLE c = open_client(argv[1], GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    DWORD mode = PIPE_READMODE_MESSAGE;
    CHECK_OK(SetNamedPipeHandleState(c, &mode, NULL, NULL));
    ULONG pid = 0;
    CHECK_OK(GetNamedPipeServerProcessId(c, &pid));
    CHECK_EQ(pid, strtoul(argv[2], NULL, 10));
    CHECK_OK(GetNamedPipeClientProcessId(c, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    char reply[64];
    DWORD n = 0;
    CHECK_OK(TransactNamedPipe(c, "request", 7, reply, sizeof reply, &n, NULL));
    CHECK_EQ(n, 5);
    CHECK_MEM(reply, "reply", 5);
    CloseHandle(c);
    return 0;
}

/* argv: pipe name. Serves one message client; writes "R" to stdout once the pipe exists. */
static int role_pipe_server(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    HANDLE s = make_server(argv[1], PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    write_all(GetStdHandle(STD_OUTPUT_HANDLE), "R", 1);
    BOOL r = ConnectNamedPipe(s, NULL);
    DWORD e = GetLastError();
    CHECK(r || e == ERROR_PIPE_CONNECTED);
    char buf[64];
    DWORD n = 0;
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 4);
    write_all(s, "pong", 4);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_OK(DisconnectNamedPipe(s));
    CloseHandle(s);
    return 0;
}

/* argv: handle, text. Writes the text through an inherited handle. */
static int role_write_handle(int argc, char** argv) {
    REQUIRE_EQ(argc, 3);
    DWORD n = 0;
    CHECK_OK(WriteFile(parse_handle(argv[1]), argv[2], (DWORD)strlen(argv[2]), &n, NULL));
    CHECK_EQ(n, strlen(argv[2]));
    return 0;
}

/* argv: pipe name. Sends the messages "hello", "" and "bye", then closes. */
static int role_send_messages(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    HANDLE c = open_client(argv[1], GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    write_all(c, "hello", 5);
    write_all(c, "", 0);
    write_all(c, "bye", 3);
    CloseHandle(c);
    return 0;
}

/* argv: an inherited duplicate of this process's stdin. The two handles are one object: closing
 * one of them must not close descriptor 0 under the other (which a file opened in between would
 * then lose). */
static int role_std_and_inherited_share(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    HANDLE h = parse_handle(argv[1]);
    HANDLE std = GetStdHandle(STD_INPUT_HANDLE);
    CHECK_OK(CloseHandle(h));
    char path[] = "/tmp/npipe-conformance-share.XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    close(fd);
    HANDLE f = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    REQUIRE_HANDLE(f);
    if (std != h) CHECK_OK(CloseHandle(std));
    DWORD n = 0;
    CHECK_OK(WriteFile(f, "still open", 10, &n, NULL));
    CHECK_EQ(n, 10);
    CloseHandle(f);
    unlink(path);
    return 0;
}

/* argv: pipe name. Opens it (a client of the parent's broker) and closes it again. */
static int role_open_pipe(int argc, char** argv) {
    REQUIRE_EQ(argc, 2);
    HANDLE c = open_client(argv[1], GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(c);
    CloseHandle(c);
    return 0;
}

/* CreateProcessA with an empty STARTUPINFO and no inheritance. */
static BOOL create_plain(const char* app, char* cmd, LPVOID env, const char* dir, PROCESS_INFORMATION* pi) {
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(pi, 0, sizeof *pi);
    return CreateProcessA(app, cmd, NULL, NULL, FALSE, 0, env, dir, &si, pi);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Parent-side end non-inheritable, child-side end inheritable. */
static void child_pipe(HANDLE* parent_end, HANDLE* child_end, BOOL child_reads) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, &sa, 0));
    *parent_end = child_reads ? w : r;
    *child_end = child_reads ? r : w;
    REQUIRE_OK(SetHandleInformation(*parent_end, HANDLE_FLAG_INHERIT, 0));
}

/* An inheritable duplicate of this process's stderr, for a child's unused std handles. */
static HANDLE inheritable_stderr(void) {
    HANDLE d = NULL;
    REQUIRE_OK(DuplicateHandle(GetCurrentProcess(), GetStdHandle(STD_ERROR_HANDLE),
                               GetCurrentProcess(), &d, 0, TRUE, DUPLICATE_SAME_ACCESS));
    return d;
}

/* Reads until the pipe breaks; returns the byte count (the text is NUL-terminated). */
static DWORD read_to_end(HANDLE h, char* buf, DWORD size) {
    DWORD total = 0, n = 0;
    while (total + 1 < size && ReadFile(h, buf + total, size - 1 - total, &n, NULL) && n > 0)
        total += n;
    buf[total] = 0;
    DWORD n2 = 0;
    CHECK_FAILS(ReadFile(h, buf + total, 1, &n2, NULL), ERROR_BROKEN_PIPE);
    return total;
}

TEST(exit_code_from_main_return) {
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_return_code 17", FALSE, NULL, &pi));
    CHECK(pi.hProcess != NULL);
    CHECK(pi.dwProcessId != 0);
    CHECK_EQ(join_process(&pi), 17);
}

TEST(exit_code_from_exit_process) {
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_exit_process 42", FALSE, NULL, &pi));
    CHECK_EQ(join_process(&pi), 42);
}

TEST(process_handle_signals_on_exit_and_still_active_before) {
    HANDLE mine, theirs;
    child_pipe(&mine, &theirs, TRUE);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = theirs;
    si.hStdOutput = si.hStdError = inheritable_stderr();
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_block", TRUE, &si, &pi));
    CloseHandle(theirs);
    DWORD code = 0;
    CHECK_OK(GetExitCodeProcess(pi.hProcess, &code));
    CHECK_EQ(code, STILL_ACTIVE);
    CHECK_EQ(WaitForSingleObject(pi.hProcess, 50), WAIT_TIMEOUT);
    CloseHandle(mine); /* the child's read breaks, it exits */
    CHECK_EQ(WaitForSingleObject(pi.hProcess, 10000), WAIT_OBJECT_0);
    CHECK_EQ(WaitForSingleObject(pi.hProcess, 0), WAIT_OBJECT_0);
    CHECK_OK(GetExitCodeProcess(pi.hProcess, &code));
    CHECK_EQ(code, 3);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
}

TEST(std_handles_reach_the_child) {
    HANDLE to_child, child_in, from_child, child_out;
    child_pipe(&to_child, &child_in, TRUE);
    child_pipe(&from_child, &child_out, FALSE);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = child_in;
    si.hStdOutput = child_out;
    si.hStdError = inheritable_stderr();
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_echo_std", TRUE, &si, &pi));
    CloseHandle(child_in);
    CloseHandle(child_out);
    write_all(to_child, "hello child", 11);
    CloseHandle(to_child);
    char buf[64];
    CHECK_EQ(read_to_end(from_child, buf, sizeof buf), 11);
    CHECK_MEM(buf, "hello child", 11);
    CHECK_EQ(join_process(&pi), 11);
    CloseHandle(from_child);
}

TEST(std_handles_are_descriptors_0_1_2) {
    HANDLE to_child, child_in, from_child, child_out, err_from_child, child_err;
    child_pipe(&to_child, &child_in, TRUE);
    child_pipe(&from_child, &child_out, FALSE);
    child_pipe(&err_from_child, &child_err, FALSE);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = child_in;
    si.hStdOutput = child_out;
    si.hStdError = child_err;
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_fd_std", TRUE, &si, &pi));
    CloseHandle(child_in);
    CloseHandle(child_out);
    CloseHandle(child_err);
    write_all(to_child, "12345", 5);
    CloseHandle(to_child);
    char buf[64];
    CHECK_EQ(read_to_end(from_child, buf, sizeof buf), 3);
    CHECK_MEM(buf, "fd1", 3);
    CHECK_EQ(read_to_end(err_from_child, buf, sizeof buf), 3);
    CHECK_MEM(buf, "fd2", 3);
    CHECK_EQ(join_process(&pi), 5);
    CloseHandle(from_child);
    CloseHandle(err_from_child);
}

TEST(child_gets_exactly_the_inheritable_handles) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE ra, wa, rb, wb;
    REQUIRE_OK(CreatePipe(&ra, &wa, &sa, 0));
    REQUIRE_OK(CreatePipe(&rb, &wb, NULL, 0));
    REQUIRE_OK(SetHandleInformation(ra, HANDLE_FLAG_INHERIT, 0));
    char cmd[128], ta[32], tb[32];
    handle_text(wa, ta);
    handle_text(wb, tb);
    snprintf(cmd, sizeof cmd, "role_inherit_check %s %s", ta, tb);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, TRUE, NULL, &pi));
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(wa);
    CloseHandle(wb);
    char buf[8];
    DWORD n = 0;
    /* What the child wrote through its inherited copy. */
    CHECK_OK(ReadFile(ra, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 1);
    CHECK_EQ(buf[0], 'A');
    CHECK_FAILS(ReadFile(ra, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    /* The child never had the other write end: closing ours breaks the pipe at once. */
    CHECK_FAILS(ReadFile(rb, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(ra);
    CloseHandle(rb);
}

TEST(no_inheritance_without_binherithandles) {
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE r, w;
    REQUIRE_OK(CreatePipe(&r, &w, &sa, 0));
    char cmd[128], tw[32];
    handle_text(w, tw);
    snprintf(cmd, sizeof cmd, "role_no_handle %s", tw);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, FALSE, NULL, &pi));
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(w);
    char buf[4];
    DWORD n;
    CHECK_FAILS(ReadFile(r, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(r);
}

TEST(process_ids_agree) {
    HANDLE from_child, child_out;
    child_pipe(&from_child, &child_out, FALSE);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = si.hStdError = inheritable_stderr();
    si.hStdOutput = child_out;
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role("role_report_pid", TRUE, &si, &pi));
    CloseHandle(child_out);
    char buf[32];
    read_to_end(from_child, buf, sizeof buf);
    CHECK_EQ(strtoul(buf, NULL, 10), pi.dwProcessId);
    CHECK_EQ(GetProcessId(pi.hProcess), pi.dwProcessId);
    CHECK(pi.dwProcessId != GetCurrentProcessId());
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(from_child);
}

TEST(named_pipe_with_a_client_process) {
    char name[128], cmd[256];
    pipe_name(name, "xproc-client");
    HANDLE s = make_server(name, PIPE_ACCESS_DUPLEX, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    snprintf(cmd, sizeof cmd, "role_pipe_client %s %lu", name, (unsigned long)GetCurrentProcessId());
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, FALSE, NULL, &pi));
    BOOL r = ConnectNamedPipe(s, NULL);
    DWORD e = GetLastError();
    CHECK(r || e == ERROR_PIPE_CONNECTED);
    ULONG pid = 0;
    CHECK_OK(GetNamedPipeClientProcessId(s, &pid));
    CHECK_EQ(pid, pi.dwProcessId);
    CHECK_OK(GetNamedPipeServerProcessId(s, &pid));
    CHECK_EQ(pid, GetCurrentProcessId());
    char buf[64];
    DWORD n = 0;
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 7);
    CHECK_MEM(buf, "request", 7);
    write_all(s, "reply", 5);
    CHECK_EQ(join_process(&pi), 0);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(named_pipe_with_a_server_process) {
    char name[128], cmd[256];
    pipe_name(name, "xproc-server");
    HANDLE ready, child_out;
    child_pipe(&ready, &child_out, FALSE);
    STARTUPINFOA si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = si.hStdError = inheritable_stderr();
    si.hStdOutput = child_out;
    snprintf(cmd, sizeof cmd, "role_pipe_server %s", name);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, TRUE, &si, &pi));
    CloseHandle(child_out);
    char r = 0;
    read_exact(ready, &r, 1);
    CHECK_EQ(r, 'R');
    char out[16];
    DWORD n = 0;
    CHECK_OK(CallNamedPipeA(name, "ping", 4, out, sizeof out, &n, 5000));
    CHECK_EQ(n, 4);
    CHECK_MEM(out, "pong", 4);
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(ready);
}

TEST(inherited_named_pipe_handle_keeps_its_value) {
    char name[128], cmd[256], th[32];
    pipe_name(name, "inherit-named");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_BYTE, 1);
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    HANDLE c = CreateFileA(name, GENERIC_WRITE, 0, &sa, OPEN_EXISTING, 0, NULL);
    REQUIRE_HANDLE(c);
    handle_text(c, th);
    snprintf(cmd, sizeof cmd, "role_write_handle %s from-child", th);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, TRUE, NULL, &pi));
    char buf[32];
    read_exact(s, buf, 10);
    CHECK_MEM(buf, "from-child", 10);
    CHECK_EQ(join_process(&pi), 0);
    /* The child's copy went with it; closing ours leaves no client. */
    CloseHandle(c);
    DWORD n;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(message_boundaries_across_processes) {
    char name[128], cmd[256];
    pipe_name(name, "xproc-msg");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    snprintf(cmd, sizeof cmd, "role_send_messages %s", name);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, FALSE, NULL, &pi));
    /* Any of Windows' three answers, depending on how far the child got: TRUE (it connected while
     * we waited), ERROR_PIPE_CONNECTED (it is connected), ERROR_NO_DATA (it has already closed;
     * what it wrote is still there to read). */
    BOOL r = ConnectNamedPipe(s, NULL);
    DWORD e = GetLastError();
    CHECK(r || e == ERROR_PIPE_CONNECTED || e == ERROR_NO_DATA);
    char buf[32];
    DWORD n = 99;
    CHECK_FAILS(ReadFile(s, buf, 2, &n, NULL), ERROR_MORE_DATA);
    CHECK_EQ(n, 2);
    CHECK_OK(ReadFile(s, buf + 2, sizeof buf - 2, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "hello", 5);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 0);
    CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
    CHECK_EQ(n, 3);
    CHECK_MEM(buf, "bye", 3);
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(s);
}

TEST(client_that_left_before_connect_leaves_its_messages) {
    char name[128], cmd[256];
    pipe_name(name, "xproc-left");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND, PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE, 1);
    snprintf(cmd, sizeof cmd, "role_send_messages %s", name);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, FALSE, NULL, &pi));
    CHECK_EQ(join_process(&pi), 0);
    /* The client connected, wrote and closed: the instance is closing, not listening. */
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_NO_DATA);
    const char* expect[3] = {"hello", "", "bye"};
    for (int i = 0; i < 3; ++i) {
        char buf[16];
        DWORD n = 99;
        CHECK_OK(ReadFile(s, buf, sizeof buf, &n, NULL));
        CHECK_EQ(n, strlen(expect[i]));
        CHECK_MEM(buf, expect[i], n);
    }
    DWORD n;
    char buf[4];
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_NO_DATA);
    /* Only DisconnectNamedPipe ends the closing state. */
    CHECK_OK(DisconnectNamedPipe(s));
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_PIPE_NOT_CONNECTED);
    CloseHandle(s);
}

TEST(nowait_server_with_a_client_process) {
    char name[128], cmd[256];
    pipe_name(name, "xproc-nowait");
    HANDLE s = make_server(name, PIPE_ACCESS_INBOUND,
                           PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE | PIPE_NOWAIT, 1);
    CHECK_FAILS(ConnectNamedPipe(s, NULL), ERROR_PIPE_LISTENING);
    snprintf(cmd, sizeof cmd, "role_send_messages %s", name);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(cmd, FALSE, NULL, &pi));
    /* Poll the nowait connect until the client is there (it may already have left: NO_DATA). */
    unsigned long long deadline = now_ms() + 10000;
    DWORD e = 0;
    for (;;) {
        BOOL r = ConnectNamedPipe(s, NULL);
        e = GetLastError();
        REQUIRE(!r);
        if (e != ERROR_PIPE_LISTENING || now_ms() > deadline) break;
        Sleep(1);
    }
    CHECK(e == ERROR_PIPE_CONNECTED || e == ERROR_NO_DATA);
    /* The three messages, polling past ERROR_NO_DATA. */
    const char* expect[3] = {"hello", "", "bye"};
    for (int i = 0; i < 3; ++i) {
        char buf[16];
        DWORD n = 0;
        BOOL ok;
        while (!(ok = ReadFile(s, buf, sizeof buf, &n, NULL)) && GetLastError() == ERROR_NO_DATA &&
               now_ms() < deadline)
            Sleep(1);
        CHECK(ok);
        CHECK_EQ(n, strlen(expect[i]));
        CHECK_MEM(buf, expect[i], n);
    }
    CHECK_EQ(join_process(&pi), 0);
    char buf[4];
    DWORD n;
    CHECK_FAILS(ReadFile(s, buf, sizeof buf, &n, NULL), ERROR_BROKEN_PIPE);
    CloseHandle(s);
}

TEST(missing_directory_is_path_not_found) {
    char cmd[] = "/nonexistent/npipe-conformance-no-such-program";
    PROCESS_INFORMATION pi;
    CHECK_FAILS(create_plain(NULL, cmd, NULL, NULL, &pi),
                ERROR_PATH_NOT_FOUND);
}

static void run_by_short_name(const char* suffix, int code) {
    const char* exe = self_exe();
    const char* base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s%s --role role_return_code %d", base, suffix, code);
    PROCESS_INFORMATION pi;
    /* The current directory is elsewhere: the program is found next to this executable. */
    REQUIRE_EQ(chdir("/"), 0);
    REQUIRE_OK(create_plain(NULL, cmd, NULL, NULL, &pi));
    CHECK_EQ(join_process(&pi), (DWORD)code);
}

TEST(program_without_slash_is_found_next_to_the_executable) { run_by_short_name("", 23); }

TEST(program_with_exe_suffix_is_found_without_it) { run_by_short_name(".exe", 24); }

TEST(wait_for_several_processes) {
    PROCESS_INFORMATION a, b;
    REQUIRE_OK(spawn_role("role_return_code 1", FALSE, NULL, &a));
    REQUIRE_OK(spawn_role("role_exit_process 2", FALSE, NULL, &b));
    HANDLE h[2] = {a.hProcess, b.hProcess};
    CHECK_EQ(WaitForMultipleObjects(2, h, TRUE, 15000), WAIT_OBJECT_0);
    CHECK_EQ(join_process(&a), 1);
    CHECK_EQ(join_process(&b), 2);
}

TEST(invalid_process_handle) {
    DWORD code;
    CHECK_FAILS(GetExitCodeProcess(BOGUS_HANDLE, &code), ERROR_INVALID_HANDLE);
}

TEST(standard_handles_are_inheritable) {
    DWORD flags = 0;
    CHECK_OK(GetHandleInformation(GetStdHandle(STD_OUTPUT_HANDLE), &flags));
    CHECK_EQ(flags & HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
}

TEST(inherited_std_stream_and_std_handle_are_one_object) {
    HANDLE d = NULL;
    REQUIRE_OK(DuplicateHandle(GetCurrentProcess(), GetStdHandle(STD_INPUT_HANDLE), GetCurrentProcess(), &d, 0,
                               TRUE, DUPLICATE_SAME_ACCESS));
    char args[64];
    snprintf(args, sizeof args, "role_std_and_inherited_share %llx", U64(d));
    PROCESS_INFORMATION pi;
    REQUIRE_OK(spawn_role(args, TRUE, NULL, &pi));
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(d);
}

TEST(an_environment_block_keeps_the_pipe_namespace) {
    char name[128];
    HANDLE s = make_server(pipe_name(name, "envblock"), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "\"%s\" --role role_open_pipe %s", self_exe(), name);
    /* The child's environment is only this: no NPIPE_RUNTIME_DIR, no XDG_RUNTIME_DIR. */
    static char env[] = "LANG=C\0NPIPE_CONFORMANCE_CHILD=1\0";
    PROCESS_INFORMATION pi;
    REQUIRE_OK(create_plain(NULL, cmd, env, NULL, &pi));
    CHECK_EQ(join_process(&pi), 0);
    CloseHandle(s);
}

TEST(relative_program_with_a_current_directory_is_found_from_ours) {
    const char* exe = self_exe();
    const char* slash = strrchr(exe, '/');
    REQUIRE(slash != NULL);
    char dir[512];
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - exe), exe);
    REQUIRE_EQ(chdir(dir), 0);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "./%s --role role_return_code 7", slash + 1);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(create_plain(NULL, cmd, NULL, "/", &pi));
    CHECK_EQ(join_process(&pi), 7);
}

TEST(a_file_that_is_no_program_is_bad_exe_format) {
    char dir[] = "/tmp/npipe-conformance-exe.XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/garbage", dir);
    HANDLE f = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
    REQUIRE_HANDLE(f);
    DWORD n;
    CHECK_OK(WriteFile(f, "\x01\x02 not a program\n", 17, &n, NULL));
    CloseHandle(f);
    REQUIRE_EQ(chmod(path, 0755), 0);
    PROCESS_INFORMATION pi;
    CHECK_FAILS(create_plain(path, NULL, NULL, NULL, &pi), ERROR_BAD_EXE_FORMAT);
    unlink(path);
    rmdir(dir);
}

TEST(missing_program_in_an_existing_directory_is_file_not_found) {
    char cmd[] = "/tmp/npipe-conformance-no-such-program";
    PROCESS_INFORMATION pi;
    CHECK_FAILS(create_plain(NULL, cmd, NULL, NULL, &pi), ERROR_FILE_NOT_FOUND);
}

/* The Microsoft C runtime's rule for the program name: quotes only switch quoting, so
 * "a"b is the name ab. Here the quoted part is this program's directory. */
TEST(quotes_in_the_program_name_only_switch_quoting) {
    const char* exe = self_exe();
    const char* slash = strrchr(exe, '/');
    REQUIRE(slash != NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "\"%.*s/\"%s --role role_return_code 9", (int)(slash - exe), exe, slash + 1);
    PROCESS_INFORMATION pi;
    REQUIRE_OK(create_plain(NULL, cmd, NULL, NULL, &pi));
    CHECK_EQ(join_process(&pi), 9);
}

TEST_TABLE{
    TEST_ENTRY(exit_code_from_main_return),
    TEST_ENTRY(exit_code_from_exit_process),
    TEST_ENTRY(process_handle_signals_on_exit_and_still_active_before),
    TEST_ENTRY(std_handles_reach_the_child),
    TEST_ENTRY(std_handles_are_descriptors_0_1_2),
    TEST_ENTRY(child_gets_exactly_the_inheritable_handles),
    TEST_ENTRY(no_inheritance_without_binherithandles),
    TEST_ENTRY(process_ids_agree),
    TEST_ENTRY(named_pipe_with_a_client_process),
    TEST_ENTRY(named_pipe_with_a_server_process),
    TEST_ENTRY(inherited_named_pipe_handle_keeps_its_value),
    TEST_ENTRY(message_boundaries_across_processes),
    TEST_ENTRY(client_that_left_before_connect_leaves_its_messages),
    TEST_ENTRY(nowait_server_with_a_client_process),
    TEST_ENTRY(missing_directory_is_path_not_found),
    TEST_ENTRY(missing_program_in_an_existing_directory_is_file_not_found),
    TEST_ENTRY(standard_handles_are_inheritable),
    TEST_ENTRY(inherited_std_stream_and_std_handle_are_one_object),
    TEST_ENTRY(an_environment_block_keeps_the_pipe_namespace),
    TEST_ENTRY(relative_program_with_a_current_directory_is_found_from_ours),
    TEST_ENTRY(a_file_that_is_no_program_is_bad_exe_format),
    TEST_ENTRY(quotes_in_the_program_name_only_switch_quoting),
    TEST_ENTRY(program_without_slash_is_found_next_to_the_executable),
    TEST_ENTRY(program_with_exe_suffix_is_found_without_it),
    TEST_ENTRY(wait_for_several_processes),
    TEST_ENTRY(invalid_process_handle),
    TABLE_END,
};
ROLE_TABLE{
    ROLE_ENTRY(role_return_code),
    ROLE_ENTRY(role_std_and_inherited_share),
    ROLE_ENTRY(role_open_pipe),
    ROLE_ENTRY(role_exit_process),
    ROLE_ENTRY(role_echo_std),
    ROLE_ENTRY(role_fd_std),
    ROLE_ENTRY(role_inherit_check),
    ROLE_ENTRY(role_no_handle),
    ROLE_ENTRY(role_block),
    ROLE_ENTRY(role_report_pid),
    ROLE_ENTRY(role_pipe_client),
    ROLE_ENTRY(role_pipe_server),
    ROLE_ENTRY(role_write_handle),
    ROLE_ENTRY(role_send_messages),
    TABLE_END,
};
