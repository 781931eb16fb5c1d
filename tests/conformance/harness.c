/* harness.c - the runner of the conformance suite: a private broker, one fork()ed child per test
 * with an alarm() timeout, results and a summary. See harness.h. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef NPIPE_TEST_BINDIR
#error "NPIPE_TEST_BINDIR must name the directory of npiped"
#endif

#define TEST_TIMEOUT_SECONDS 20u

struct counters {
    unsigned long checks;
    unsigned long failures;
};
static struct counters local_counters;
static struct counters* counters = &local_counters; /* shared with the runner in a test child */
static const char* current_test = "";

/* ---- error names ------------------------------------------------------------------------- */
const char* error_name(DWORD err) {
    switch (err) {
#define E(x) case x: return #x;
        E(ERROR_SUCCESS) E(ERROR_INVALID_FUNCTION) E(ERROR_FILE_NOT_FOUND) E(ERROR_PATH_NOT_FOUND)
        E(ERROR_ACCESS_DENIED) E(ERROR_INVALID_HANDLE) E(ERROR_NOT_ENOUGH_MEMORY)
        E(ERROR_NOT_SUPPORTED) E(ERROR_INVALID_PARAMETER) E(ERROR_BROKEN_PIPE)
        E(ERROR_CALL_NOT_IMPLEMENTED) E(ERROR_SEM_TIMEOUT) E(ERROR_INSUFFICIENT_BUFFER)
        E(ERROR_INVALID_NAME) E(ERROR_BAD_PATHNAME) E(ERROR_ALREADY_EXISTS)
        E(ERROR_FILENAME_EXCED_RANGE) E(ERROR_BAD_EXE_FORMAT) E(ERROR_BAD_PIPE) E(ERROR_PIPE_BUSY)
        E(ERROR_NO_DATA) E(ERROR_PIPE_NOT_CONNECTED) E(ERROR_MORE_DATA) E(ERROR_PIPE_CONNECTED)
        E(ERROR_PIPE_LISTENING) E(ERROR_OPERATION_ABORTED) E(ERROR_IO_INCOMPLETE)
        E(ERROR_IO_PENDING) E(ERROR_NOACCESS) E(ERROR_INVALID_FLAGS) E(ERROR_NOT_FOUND)
        E(ERROR_TIMEOUT) E(ERROR_CANNOT_IMPERSONATE) E(ERROR_INTERNAL_ERROR)
        E(ERROR_DIRECTORY) E(ERROR_HANDLE_EOF) E(ERROR_BUSY) E(ERROR_FILE_EXISTS)
        E(ERROR_UNKNOWN_REVISION) E(ERROR_REVISION_MISMATCH) E(ERROR_INVALID_OWNER)
        E(ERROR_NONE_MAPPED) E(ERROR_INVALID_ACL) E(ERROR_INVALID_SID) E(ERROR_INVALID_SECURITY_DESCR)
        E(ERROR_ALLOTTED_SPACE_EXCEEDED) E(ERROR_BAD_IMPERSONATION_LEVEL) E(ERROR_NOT_ENOUGH_QUOTA)
        E(ERROR_SERVICE_NOT_ACTIVE) E(ERROR_MOD_NOT_FOUND) E(ERROR_DISCARDED) E(ERROR_NOT_LOCKED)
        E(ERROR_INVALID_MSGBOX_STYLE)
#undef E
    case 0xDEADBEEFu: return "(not set by the call)";
    default: return "?";
    }
}

/* ---- checks ------------------------------------------------------------------------------ */
static void record(int ok, int fatal) {
    __atomic_fetch_add(&counters->checks, 1ul, __ATOMIC_SEQ_CST);
    if (ok) return;
    __atomic_fetch_add(&counters->failures, 1ul, __ATOMIC_SEQ_CST);
    if (fatal) {
        fprintf(stderr, "    (fatal: test %s stops here)\n", current_test);
        fflush(stdout);
        fflush(stderr);
        _exit(1);
    }
}

void check_true_(int ok, const char* expr, const char* file, int line, int fatal) {
    if (!ok) fprintf(stderr, "  %s:%d: FAILED: %s\n", file, line, expr);
    record(ok, fatal);
}

void check_eq_(unsigned long long actual, unsigned long long expected, const char* actual_expr,
               const char* expected_expr, const char* file, int line, int fatal) {
    int ok = actual == expected;
    if (!ok)
        fprintf(stderr, "  %s:%d: FAILED: %s == %s\n    expected %llu (0x%llx), actual %llu (0x%llx)\n",
                file, line, actual_expr, expected_expr, expected, expected, actual, actual);
    record(ok, fatal);
}

void check_ok_(BOOL ret, DWORD err, const char* expr, const char* file, int line, int fatal) {
    int ok = ret != FALSE;
    if (!ok)
        fprintf(stderr, "  %s:%d: FAILED: %s\n    expected TRUE, actual FALSE with GetLastError() %lu %s\n",
                file, line, expr, (unsigned long)err, error_name(err));
    record(ok, fatal);
}

void check_ret_err_(unsigned long long ret, DWORD err, unsigned long long expected_ret,
                    DWORD expected_err, const char* expr, const char* file, int line) {
    int ok = ret == expected_ret && err == expected_err;
    if (!ok)
        fprintf(stderr,
                "  %s:%d: FAILED: %s\n    expected return 0x%llx with GetLastError() %lu %s\n"
                "    actual   return 0x%llx with GetLastError() %lu %s\n",
                file, line, expr, expected_ret, (unsigned long)expected_err,
                error_name(expected_err), ret, (unsigned long)err, error_name(err));
    record(ok, 0);
}

void check_handle_(HANDLE h, DWORD err, const char* expr, const char* file, int line, int fatal) {
    int ok = h != NULL && h != INVALID_HANDLE_VALUE;
    if (!ok)
        fprintf(stderr, "  %s:%d: FAILED: %s is a valid handle\n    actual %p with GetLastError() %lu %s\n",
                file, line, expr, h, (unsigned long)err, error_name(err));
    record(ok, fatal);
}

void check_mem_(const void* actual, const void* expected, size_t n, const char* expr,
                const char* file, int line) {
    int ok = memcmp(actual, expected, n) == 0;
    if (!ok) {
        fprintf(stderr, "  %s:%d: FAILED: the %zu bytes of %s\n    expected \"", file, line, n, expr);
        for (size_t i = 0; i < n && i < 64; ++i) fputc(((const char*)expected)[i], stderr);
        fprintf(stderr, "\"\n    actual   \"");
        for (size_t i = 0; i < n && i < 64; ++i) fputc(((const char*)actual)[i], stderr);
        fprintf(stderr, "\"\n");
    }
    record(ok, 0);
}

void note(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    note: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* ---- helpers ----------------------------------------------------------------------------- */
char* pipe_name(char* buf, const char* tag) {
    snprintf(buf, 128, "\\\\.\\pipe\\npipe-conf-%ld-%s", (long)getpid(), tag);
    return buf;
}

WCHAR* widen(const char* s, WCHAR* buf) {
    size_t i = 0;
    for (; s[i]; ++i) buf[i] = (WCHAR)(unsigned char)s[i];
    buf[i] = 0;
    return buf;
}

HANDLE make_server(const char* name, DWORD open_mode, DWORD pipe_mode, DWORD max_instances) {
    HANDLE h = CreateNamedPipeA(name, open_mode, pipe_mode, max_instances, 4096, 4096, 0, NULL);
    REQUIRE_HANDLE(h);
    return h;
}

HANDLE open_client(const char* name, DWORD access) {
    return CreateFileA(name, access, 0, NULL, OPEN_EXISTING, 0, NULL);
}

void make_pair(const char* tag, DWORD pipe_mode, HANDLE* server, HANDLE* client) {
    char name[128];
    pipe_name(name, tag);
    *server = make_server(name, PIPE_ACCESS_DUPLEX, pipe_mode, 1);
    *client = open_client(name, GENERIC_READ | GENERIC_WRITE);
    REQUIRE_HANDLE(*client);
    BOOL r = ConnectNamedPipe(*server, NULL);
    DWORD e = GetLastError();
    REQUIRE(r == FALSE && e == ERROR_PIPE_CONNECTED);
}

HANDLE start_thread(LPTHREAD_START_ROUTINE fn, void* arg) {
    HANDLE t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    REQUIRE_HANDLE(t);
    return t;
}

DWORD join_thread(HANDLE thread) {
    DWORD code = 0xFFFFFFFFu;
    REQUIRE_EQ(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    REQUIRE_OK(GetExitCodeThread(thread, &code));
    CloseHandle(thread);
    return code;
}

unsigned long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

int wait_until_busy(HANDLE h, DWORD limit_ms) {
    unsigned long long deadline = now_ms() + limit_ms;
    while (now_ms() < deadline) {
        if (WaitForSingleObject(h, 0) == WAIT_TIMEOUT) return 1;
        usleep(1000);
    }
    return 0;
}

const char* self_exe(void) {
    static char path[4096];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0) return "";
        path[n] = 0;
    }
    return path;
}

void write_all(HANDLE h, const void* buf, DWORD n) {
    DWORD written = 0;
    REQUIRE_OK(WriteFile(h, buf, n, &written, NULL));
    REQUIRE_EQ(written, n);
}

void read_exact(HANDLE h, void* buf, DWORD n) {
    DWORD done = 0;
    while (done < n) {
        DWORD got = 0;
        REQUIRE_OK(ReadFile(h, (char*)buf + done, n - done, &got, NULL));
        REQUIRE(got > 0);
        done += got;
    }
}

BOOL spawn_role(const char* role_and_args, BOOL inherit, STARTUPINFOA* si, PROCESS_INFORMATION* pi) {
    static char cmd[8192];
    STARTUPINFOA plain;
    if (!si) {
        memset(&plain, 0, sizeof plain);
        plain.cb = sizeof plain;
        si = &plain;
    }
    snprintf(cmd, sizeof cmd, "%s --role %s", self_exe(), role_and_args);
    memset(pi, 0, sizeof *pi);
    return CreateProcessA(self_exe(), cmd, NULL, NULL, inherit, 0, NULL, NULL, si, pi);
}

DWORD join_process(PROCESS_INFORMATION* pi) {
    DWORD code = 0xFFFFFFFFu;
    REQUIRE_EQ(WaitForSingleObject(pi->hProcess, 15000), WAIT_OBJECT_0);
    REQUIRE_OK(GetExitCodeProcess(pi->hProcess, &code));
    CloseHandle(pi->hProcess);
    if (pi->hThread) CloseHandle(pi->hThread);
    pi->hProcess = pi->hThread = NULL;
    return code;
}

void handle_text(HANDLE h, char* buf) { sprintf(buf, "%llu", U64(h)); }

HANDLE parse_handle(const char* text) { return (HANDLE)(uintptr_t)strtoull(text, NULL, 10); }

/* ---- broker ------------------------------------------------------------------------------ */
static char runtime_dir[256];
static pid_t broker_pid = -1;

static int start_broker(void) {
    strcpy(runtime_dir, "/tmp/npipe-conformance-XXXXXX");
    if (!mkdtemp(runtime_dir)) {
        perror("mkdtemp");
        return -1;
    }
    setenv("NPIPE_RUNTIME_DIR", runtime_dir, 1);
    setenv("NPIPE_NO_AUTOSTART", "1", 1);
    unsetenv("NPIPE_SCOPE");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return -1;
    broker_pid = fork();
    if (broker_pid < 0) return -1;
    if (broker_pid == 0) {
        char fd_text[16];
        fcntl(fds[1], F_SETFD, 0);
        snprintf(fd_text, sizeof fd_text, "%d", fds[1]);
        execl(NPIPE_TEST_BINDIR "/npiped", "npiped", "--runtime-dir", runtime_dir, "--ready-fd",
              fd_text, (char*)NULL);
        perror("exec npiped");
        _exit(127);
    }
    close(fds[1]);
    struct pollfd p = {fds[0], POLLIN, 0};
    int r = poll(&p, 1, 15000);
    char byte;
    ssize_t n = r == 1 ? read(fds[0], &byte, 1) : -1;
    close(fds[0]);
    if (n != 1) {
        fprintf(stderr, "npiped did not become ready\n");
        return -1;
    }
    return 0;
}

static int remove_entry(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void stop_broker(void) {
    if (broker_pid > 0) {
        kill(broker_pid, SIGTERM);
        int status;
        unsigned long long deadline = now_ms() + 5000;
        while (waitpid(broker_pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(broker_pid, SIGKILL);
                waitpid(broker_pid, &status, 0);
                break;
            }
            usleep(2000);
        }
        broker_pid = -1;
    }
    if (runtime_dir[0]) nftw(runtime_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- runner ------------------------------------------------------------------------------ */
static int run_one(const struct test_case* t) {
    counters->checks = 0;
    counters->failures = 0;
    fflush(stdout);
    fflush(stderr);
    unsigned long long start = now_ms();
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGPIPE, SIG_IGN);
        alarm(TEST_TIMEOUT_SECONDS);
        current_test = t->name;
        t->fn();
        fflush(stdout);
        fflush(stderr);
        _exit(counters->failures ? 1 : 0);
    }
    setpgid(pid, pid);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    /* Whatever the test started (role processes) goes with it. */
    kill(-pid, SIGKILL);
    unsigned long long ms = now_ms() - start;
    int failed = 1;
    if (WIFEXITED(status)) {
        failed = WEXITSTATUS(status) != 0 || counters->failures != 0;
        printf("[%s] %s (%lu checks, %lu failed, %llu ms)\n", failed ? "FAIL" : " OK ", t->name,
               counters->checks, counters->failures, ms);
    } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        printf("[FAIL] %s: TIMEOUT after %u s (%lu checks, %lu failed)\n", t->name,
               TEST_TIMEOUT_SECONDS, counters->checks, counters->failures);
    } else {
        printf("[FAIL] %s: killed by signal %d (%lu checks, %lu failed)\n", t->name,
               WIFSIGNALED(status) ? WTERMSIG(status) : -1, counters->checks, counters->failures);
    }
    fflush(stdout);
    return failed;
}

static int run_role(int argc, char** argv) {
    for (const struct role_case* r = conformance_roles; r->name; ++r) {
        if (strcmp(r->name, argv[0]) == 0) {
            current_test = r->name;
            int code = r->fn(argc, argv);
            fflush(stdout);
            fflush(stderr);
            return local_counters.failures ? 200 : code;
        }
    }
    fprintf(stderr, "unknown role %s\n", argv[0]);
    return 127;
}

/* Under ThreadSanitizer a report must fail the test, not just print: tests end with _exit(), which
 * skips TSan's exit-code hook, so run with halt_on_error (set through the environment and a
 * re-exec, since TSan reads its options at start-up). */
#if defined(__SANITIZE_THREAD__)
#define NPIPE_CONFORMANCE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define NPIPE_CONFORMANCE_TSAN 1
#endif
#endif

static void ensure_sanitizer_halts(char** argv) {
#ifdef NPIPE_CONFORMANCE_TSAN
    if (getenv("NPIPE_CONFORMANCE_TSAN_SET")) return;
    static char options[1024];
    const char* old = getenv("TSAN_OPTIONS");
    snprintf(options, sizeof options, "%s%shalt_on_error=1", old ? old : "", old ? " " : "");
    setenv("TSAN_OPTIONS", options, 1);
    setenv("NPIPE_CONFORMANCE_TSAN_SET", "1", 1);
    execv(self_exe(), argv);
    perror("re-exec under TSAN_OPTIONS");
#else
    (void)argv;
#endif
}

int main(int argc, char** argv) {
    ensure_sanitizer_halts(argv);
    if (argc >= 3 && strcmp(argv[1], "--role") == 0) return run_role(argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (const struct test_case* t = conformance_tests; t->name; ++t) printf("%s\n", t->name);
        return 0;
    }
    for (int i = 1; i < argc; ++i) {
        const struct test_case* t = conformance_tests;
        while (t->name && strcmp(t->name, argv[i]) != 0) ++t;
        if (!t->name) {
            fprintf(stderr, "no test named %s (see --list)\n", argv[i]);
            return 2;
        }
    }
    void* shared = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) {
        perror("mmap");
        return 2;
    }
    counters = shared;
    if (start_broker() != 0) {
        stop_broker();
        return 2;
    }
    int total = 0, failed = 0;
    unsigned long checks = 0;
    for (const struct test_case* t = conformance_tests; t->name; ++t) {
        if (argc > 1) {
            int wanted = 0;
            for (int i = 1; i < argc; ++i) wanted |= strcmp(argv[i], t->name) == 0;
            if (!wanted) continue;
        }
        ++total;
        failed += run_one(t);
        checks += counters->checks;
    }
    stop_broker();
    printf("%d tests, %d failed, %lu checks\n", total, failed, checks);
    return failed ? 1 : 0;
}
