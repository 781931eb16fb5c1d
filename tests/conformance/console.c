/* A console program's user interface: <conio.h>'s _getch, _getche and _kbhit on a pipe and on a
 * pseudo-terminal, and MessageBox, which writes to stderr. Each test runs in its own process, so
 * it may put what it likes on descriptors 0, 1 and 2. */
#include "harness.h"

#include <conio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

/* ---- capturing stderr and stdout --------------------------------------------------------- */
struct capture {
    int fd;    /* the descriptor captured */
    int saved; /* its original */
    int rd;    /* what was written to it */
};

static struct capture capture_start(int fd) {
    struct capture c;
    int p[2];
    REQUIRE(pipe(p) == 0);
    fflush(fd == 1 ? stdout : stderr);
    c.fd = fd;
    c.saved = dup(fd);
    REQUIRE(c.saved >= 0 && dup2(p[1], fd) == fd);
    close(p[1]);
    c.rd = p[0];
    return c;
}

/* Puts the descriptor back and returns what was written to it meanwhile (NUL-terminated). */
static char* capture_end(struct capture* c, char* out, size_t size) {
    size_t got = 0;
    ssize_t n;
    fflush(c->fd == 1 ? stdout : stderr);
    dup2(c->saved, c->fd);
    close(c->saved);
    while (got + 1 < size && (n = read(c->rd, out + got, size - 1 - got)) > 0) got += (size_t)n;
    out[got] = 0;
    close(c->rd);
    return out;
}

/* ---- MessageBox -------------------------------------------------------------------------- */
TEST(message_box_writes_caption_and_text_to_stderr) {
    char out[256];
    struct capture c = capture_start(2);
    int a = MessageBoxA(NULL, "CreatePipe failed with error 5", "Error", MB_OK);
    int b = MessageBoxA(NULL, "no caption", NULL, MB_OK | MB_ICONERROR);
    int d = MessageBox(NULL, TEXT("generic"), TEXT("Sample"), MB_OK | MB_ICONINFORMATION);
    capture_end(&c, out, sizeof out);
    CHECK_EQ(a, IDOK);
    CHECK_EQ(b, IDOK);
    CHECK_EQ(d, IDOK);
    CHECK(strcmp(out, "Error: CreatePipe failed with error 5\n"
                      "Error: no caption\n" /* NULL: Windows' default title */
                      "Sample: generic\n") == 0);
    note("stderr: %s", out);
}

/* The text of the sample's ErrorExit ends in FormatMessage's CR LF: one line on the terminal. */
TEST(message_box_text_is_lines_for_a_terminal) {
    char out[256];
    struct capture c = capture_start(2);
    MessageBoxA(NULL, "first\r\nsecond\r\n", "Two lines", MB_OK);
    MessageBoxA(NULL, "", "", MB_OK);
    MessageBoxA(NULL, NULL, "Empty", MB_OK);
    capture_end(&c, out, sizeof out);
    CHECK(strcmp(out, "Two lines: first\nsecond\n\nEmpty: \n") == 0);
    note("stderr: %s", out);
}

/* No one can press a button: the answer is the default button's, as if Enter was pressed. */
TEST(message_box_answers_with_the_default_button) {
    static const struct {
        UINT type;
        int answer;
    } cases[] = {
        {MB_OKCANCEL, IDOK},
        {MB_OKCANCEL | MB_DEFBUTTON2, IDCANCEL},
        {MB_ABORTRETRYIGNORE, IDABORT},
        {MB_ABORTRETRYIGNORE | MB_DEFBUTTON3, IDIGNORE},
        {MB_YESNOCANCEL | MB_DEFBUTTON2, IDNO},
        {MB_YESNOCANCEL | MB_DEFBUTTON3, IDCANCEL},
        {MB_YESNO | MB_ICONQUESTION, IDYES},
        {MB_YESNO | MB_DEFBUTTON2, IDNO},
        {MB_RETRYCANCEL, IDRETRY},
        {MB_CANCELTRYCONTINUE | MB_DEFBUTTON2, IDTRYAGAIN},
        {MB_CANCELTRYCONTINUE | MB_DEFBUTTON3, IDCONTINUE},
        /* A default button the box does not have: the first. */
        {MB_OK | MB_DEFBUTTON2, IDOK},
        {MB_YESNO | MB_DEFBUTTON4, IDYES},
        {MB_OK | MB_TOPMOST | MB_SETFOREGROUND | MB_SYSTEMMODAL, IDOK},
    };
    enum { count = sizeof cases / sizeof cases[0] };
    int answers[count];
    char out[1024];
    struct capture c = capture_start(2);
    for (int i = 0; i < count; ++i) answers[i] = MessageBoxA(NULL, "t", "c", cases[i].type);
    capture_end(&c, out, sizeof out);
    for (int i = 0; i < count; ++i) {
        if (answers[i] != cases[i].answer) note("case %d: uType 0x%x", i, cases[i].type);
        CHECK_EQ(answers[i], cases[i].answer);
    }
}

TEST(message_box_refuses_an_unknown_type) {
    char out[64];
    struct capture c = capture_start(2);
    SetLastError(0xDEADBEEFu);
    int a = MessageBoxA(NULL, "t", "c", 7);
    DWORD a_error = GetLastError();
    SetLastError(0xDEADBEEFu);
    int w = MessageBoxW(NULL, NULL, NULL, 0xF);
    DWORD w_error = GetLastError();
    capture_end(&c, out, sizeof out);
    CHECK_EQ(a, 0);
    CHECK_EQ(a_error, ERROR_INVALID_MSGBOX_STYLE);
    CHECK_EQ(w, 0);
    CHECK_EQ(w_error, ERROR_INVALID_MSGBOX_STYLE);
    CHECK_EQ(out[0], 0); /* nothing shown */
}

TEST(message_box_w_writes_utf8) {
    char out[128];
    WCHAR text[] = {'g', 'r', 0x00FC, 0x00DF, 'e', ' ', 0xD83D, 0xDE00, 0}; /* "grüße 😀" */
    WCHAR lone[] = {'x', 0xD800, 'y', 0};                                    /* an unpaired surrogate */
    WCHAR caption[] = {'C', 0};
    struct capture c = capture_start(2);
    CHECK_EQ(MessageBoxW(NULL, text, caption, MB_OK), IDOK);
    CHECK_EQ(MessageBoxW(NULL, lone, NULL, MB_OK), IDOK);
    capture_end(&c, out, sizeof out);
    CHECK(strcmp(out, "C: gr\xc3\xbc\xc3\x9f" "e \xf0\x9f\x98\x80\nError: x\xef\xbf\xbdy\n") == 0);
}

/* ---- _getch and _kbhit on a pipe --------------------------------------------------------- */
/* Makes a new pipe standard input; returns its write end. */
static int pipe_as_stdin(void) {
    int p[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(dup2(p[0], 0) == 0);
    close(p[0]);
    return p[1];
}

TEST(getch_reads_bytes_of_a_pipe) {
    int wr = pipe_as_stdin();
    REQUIRE(write(wr, "a\n\xc3\xa9", 4) == 4);
    close(wr);
    CHECK_EQ(_getch(), 'a');
    CHECK_EQ(_getch(), '\n'); /* not a terminal: the bytes as they are */
    CHECK_EQ(_getch(), 0xC3); /* bytes, not characters: 0..255 */
    CHECK_EQ(_getch(), 0xA9);
    CHECK_EQ(_getch(), EOF); /* the end */
    CHECK_EQ(_getch(), EOF);
}

TEST(kbhit_polls_a_pipe) {
    int wr = pipe_as_stdin();
    CHECK_EQ(_kbhit(), 0); /* nothing yet, and it does not wait */
    CHECK_EQ(_kbhit(), 0);
    REQUIRE(write(wr, "k", 1) == 1);
    CHECK(_kbhit() != 0);
    CHECK(_kbhit() != 0); /* looking takes nothing */
    CHECK_EQ(getch(), 'k'); /* the older name */
    CHECK_EQ(kbhit(), 0);
    close(wr);
    CHECK(_kbhit() != 0); /* the end: _getch would return at once */
    CHECK_EQ(_getch(), EOF);
}

TEST(getche_echoes_to_stdout_when_stdin_is_not_a_terminal) {
    char out[64];
    int wr = pipe_as_stdin();
    REQUIRE(write(wr, "xy", 2) == 2);
    close(wr);
    struct capture c = capture_start(1);
    int x = _getche();
    int y = getche();
    capture_end(&c, out, sizeof out);
    CHECK_EQ(x, 'x');
    CHECK_EQ(y, 'y');
    CHECK(strcmp(out, "xy") == 0);
}

/* "press any key": the prompt has no newline and must show before the wait. */
TEST(getch_flushes_stdout_first) {
    char out[64];
    int wr = pipe_as_stdin();
    struct capture c = capture_start(1);
    printf("press a key"); /* no newline: it stays in stdout's buffer, line-buffered or not */
    REQUIRE(write(wr, "q", 1) == 1);
    CHECK_EQ(_getch(), 'q');
    struct pollfd p = {c.rd, POLLIN, 0};
    CHECK_EQ(poll(&p, 1, 0), 1); /* already written, not still in stdout's buffer */
    capture_end(&c, out, sizeof out);
    CHECK(strcmp(out, "press a key") == 0);
    close(wr);
}

/* ---- on a terminal ------------------------------------------------------------------------ */
struct pty {
    int master;
    int slave;
};

/* A pseudo-terminal in its default (cooked) mode; master -1 when the system has none. */
static struct pty open_pty(void) {
    struct pty t = {-1, -1};
    t.master = posix_openpt(O_RDWR | O_NOCTTY);
    if (t.master < 0 || grantpt(t.master) != 0 || unlockpt(t.master) != 0) {
        note("no pseudo-terminal: %s", strerror(errno));
        if (t.master >= 0) close(t.master);
        t.master = -1;
        return t;
    }
    t.slave = open(ptsname(t.master), O_RDWR | O_NOCTTY);
    REQUIRE(t.slave >= 0);
    return t;
}

static tcflag_t local_flags(int fd) {
    struct termios t;
    REQUIRE(tcgetattr(fd, &t) == 0);
    return t.c_lflag;
}

/* Waits (up to 10 s) until the terminal reads key by key: _getch has switched it. */
static int wait_for_key_mode(int fd) {
    for (int i = 0; i < 10000; ++i) {
        if (!(local_flags(fd) & ICANON)) return 1;
        Sleep(1);
    }
    return 0;
}

/* Waits (up to 10 s) until process `pid` sleeps in the kernel: a _getch blocked in its read. */
static int wait_until_asleep(pid_t pid) {
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    for (int i = 0; i < 10000; ++i) {
        FILE* f = fopen(path, "r");
        if (!f) return 0;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        const char* state = strrchr(stat, ')'); /* "pid (name) S ..." */
        if (state && state[1] == ' ' && state[2] == 'S') return 1;
        Sleep(1);
    }
    return 0;
}

struct typist {
    struct pty* t;
    const char* keys;
};

/* Types `keys` on the terminal once it reads key by key. */
static DWORD WINAPI type_keys(LPVOID arg) {
    struct typist* ty = (struct typist*)arg;
    if (!wait_for_key_mode(ty->t->slave)) return 1;
    size_t n = strlen(ty->keys);
    return write(ty->t->master, ty->keys, n) == (ssize_t)n ? 0 : 2;
}

/* Bytes the terminal echoed (written to its master side) within `ms`. */
static size_t echoed(struct pty* t, char* out, size_t size, int ms) {
    struct pollfd p = {t->master, POLLIN, 0};
    size_t got = 0;
    while (got + 1 < size && poll(&p, 1, ms) == 1) {
        ssize_t n = read(t->master, out + got, size - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        ms = 50;
    }
    out[got] = 0;
    return got;
}

TEST(getch_on_a_terminal_reads_a_key_without_enter_or_echo) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    REQUIRE(dup2(t.slave, 0) == 0);
    struct termios before;
    REQUIRE(tcgetattr(t.slave, &before) == 0);
    REQUIRE((before.c_lflag & (ICANON | ECHO)) == (ICANON | ECHO));

    struct typist ty = {&t, "k"};
    HANDLE typing = start_thread(type_keys, &ty);
    CHECK_EQ(_getch(), 'k'); /* no Enter needed */
    CHECK_EQ(join_thread(typing), 0);
    char out[16];
    CHECK_EQ(echoed(&t, out, sizeof out, 200), 0); /* and no echo */

    /* Enter reads as '\r', as on a Windows console (not the '\n' a cooked terminal makes of it). */
    ty.keys = "\r";
    typing = start_thread(type_keys, &ty);
    CHECK_EQ(_getch(), '\r');
    CHECK_EQ(join_thread(typing), 0);

    /* The terminal is as it was. */
    struct termios after;
    REQUIRE(tcgetattr(t.slave, &after) == 0);
    CHECK_EQ(after.c_lflag, before.c_lflag);
    CHECK_EQ(after.c_iflag, before.c_iflag);
    CHECK_EQ(after.c_cc[VMIN], before.c_cc[VMIN]);
    CHECK_EQ(after.c_cc[VTIME], before.c_cc[VTIME]);
    close(t.master);
    close(t.slave);
}

TEST(getche_on_a_terminal_echoes) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    REQUIRE(dup2(t.slave, 0) == 0);
    struct typist ty = {&t, "e"};
    HANDLE typing = start_thread(type_keys, &ty);
    CHECK_EQ(_getche(), 'e');
    CHECK_EQ(join_thread(typing), 0);
    char out[16];
    echoed(&t, out, sizeof out, 1000);
    CHECK(strcmp(out, "e") == 0); /* the terminal echoed it */
    CHECK((local_flags(t.slave) & (ICANON | ECHO)) == (ICANON | ECHO));
    close(t.master);
    close(t.slave);
}

/* A key typed without Enter waits in the terminal's line; _kbhit sees it and _getch takes it. */
TEST(kbhit_on_a_terminal_sees_a_key_without_enter) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    REQUIRE(dup2(t.slave, 0) == 0);
    CHECK_EQ(_kbhit(), 0);
    REQUIRE(write(t.master, "z", 1) == 1);
    int seen = 0;
    for (int i = 0; i < 1000 && !seen; ++i) { /* the terminal takes the key in its own time */
        seen = _kbhit();
        if (!seen) Sleep(1);
    }
    CHECK(seen != 0);
    CHECK_EQ(_getch(), 'z');
    CHECK_EQ(_kbhit(), 0);
    CHECK((local_flags(t.slave) & (ICANON | ECHO)) == (ICANON | ECHO)); /* put back */
    close(t.master);
    close(t.slave);
}

/* Ctrl+C (here: SIGINT) during _getch ends the program as on Windows, and the terminal is left
 * as it was, not without echo and line editing for the shell. */
TEST(a_signal_during_getch_restores_the_terminal) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    tcflag_t before = local_flags(t.slave);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        signal(SIGINT, SIG_DFL); /* whatever started the suite may have ignored it */
        dup2(t.slave, 0);
        _getch();
        _exit(0); /* not reached: SIGINT ends it */
    }
    CHECK(wait_for_key_mode(t.slave));
    /* Ctrl+C while it waits for the key. (Also what ThreadSanitizer needs: it runs the handler of
     * a signal that comes between the mode change and the read only after that read.) */
    CHECK(wait_until_asleep(child));
    CHECK_EQ(kill(child, SIGINT), 0);
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGINT);
    CHECK_EQ(local_flags(t.slave), before);
    close(t.master);
    close(t.slave);
}

/* Waits until _getch waits, then ends the process as a pipe program's worker thread may. */
static DWORD WINAPI exit_once_waiting(LPVOID arg) {
    struct pty* t = (struct pty*)arg;
    if (wait_for_key_mode(t->slave)) ExitProcess(7);
    return 1;
}

/* Another thread ending the process (ExitProcess) while _getch waits leaves the terminal as it
 * was, too. */
TEST(exit_during_getch_restores_the_terminal) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    tcflag_t before = local_flags(t.slave);
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        dup2(t.slave, 0);
        CreateThread(NULL, 0, exit_once_waiting, &t, 0, NULL);
        _getch();
        _exit(0); /* not reached: the other thread exits with 7 */
    }
    int status = 0;
    CHECK_EQ(waitpid(child, &status, 0), child);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 7);
    CHECK_EQ(local_flags(t.slave), before);
    close(t.master);
    close(t.slave);
}

/* A background job that polls its terminal must not be stopped for it (SIGTTOU, which changing
 * the terminal's mode from the background brings): _kbhit looks without touching the mode. */
TEST(kbhit_in_the_background_leaves_the_terminal_alone) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    tcflag_t before = local_flags(t.slave);
    fflush(stdout);
    fflush(stderr);
    pid_t leader = fork();
    REQUIRE(leader >= 0);
    if (leader == 0) {
        /* A session whose controlling terminal is the pty, this process in the foreground... */
        if (setsid() < 0 || ioctl(t.slave, TIOCSCTTY, 0) != 0) _exit(10);
        pid_t job = fork();
        if (job == 0) {
            setpgid(0, 0); /* ...and a background job of it. */
            signal(SIGTTOU, SIG_DFL);
            dup2(t.slave, 0);
            _exit(_kbhit() == 0 ? 0 : 1);
        }
        int status = 0;
        if (job < 0 || waitpid(job, &status, WUNTRACED) != job) _exit(11);
        if (WIFSTOPPED(status)) { /* stopped by SIGTTOU */
            kill(job, SIGKILL);
            waitpid(job, &status, 0);
            _exit(12);
        }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 13);
    }
    int status = 0;
    CHECK_EQ(waitpid(leader, &status, 0), leader);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_EQ(local_flags(t.slave), before);
    close(t.master);
    close(t.slave);
}

/* A program's own SIGINT handler stays in charge during _getch. */
static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Once _getch waits: SIGINT to the process, then a key. */
static DWORD WINAPI interrupt_then_type(LPVOID arg) {
    struct pty* t = (struct pty*)arg;
    if (!wait_for_key_mode(t->slave)) return 1;
    if (kill(getpid(), SIGINT) != 0) return 2;
    Sleep(50);
    return write(t->master, "k", 1) == 1 ? 0 : 3;
}

TEST(getch_leaves_a_programs_signal_handler_alone) {
    struct pty t = open_pty();
    if (t.master < 0) return;
    REQUIRE(dup2(t.slave, 0) == 0);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    REQUIRE(sigaction(SIGINT, &sa, NULL) == 0);
    HANDLE typing = start_thread(interrupt_then_type, &t);
    CHECK_EQ(_getch(), 'k'); /* the signal was handled, and the key still came */
    CHECK_EQ(join_thread(typing), 0);
    CHECK_EQ(interrupted, 1);
    REQUIRE(sigaction(SIGINT, NULL, &old) == 0);
    CHECK(old.sa_handler == on_interrupt);
    close(t.master);
    close(t.slave);
}

TEST_TABLE{
    TEST_ENTRY(message_box_writes_caption_and_text_to_stderr),
    TEST_ENTRY(message_box_text_is_lines_for_a_terminal),
    TEST_ENTRY(message_box_answers_with_the_default_button),
    TEST_ENTRY(message_box_refuses_an_unknown_type),
    TEST_ENTRY(message_box_w_writes_utf8),
    TEST_ENTRY(getch_reads_bytes_of_a_pipe),
    TEST_ENTRY(kbhit_polls_a_pipe),
    TEST_ENTRY(getche_echoes_to_stdout_when_stdin_is_not_a_terminal),
    TEST_ENTRY(getch_flushes_stdout_first),
    TEST_ENTRY(getch_on_a_terminal_reads_a_key_without_enter_or_echo),
    TEST_ENTRY(getche_on_a_terminal_echoes),
    TEST_ENTRY(kbhit_on_a_terminal_sees_a_key_without_enter),
    TEST_ENTRY(a_signal_during_getch_restores_the_terminal),
    TEST_ENTRY(exit_during_getch_restores_the_terminal),
    TEST_ENTRY(kbhit_in_the_background_leaves_the_terminal_alone),
    TEST_ENTRY(getch_leaves_a_programs_signal_handler_alone),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
