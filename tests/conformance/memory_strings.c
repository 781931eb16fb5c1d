/* GetProcessHeap/HeapAlloc/HeapReAlloc/HeapSize/HeapFree, LocalAlloc/Free/Size/Lock/Unlock,
 * GlobalAlloc/Free/Size/Lock/Unlock, lstr*, strsafe.h, tchar.h, FormatMessage. */
#include "harness.h"

#include <stdlib.h>
#include <strsafe.h>
#include <tchar.h>

TEST(heap_alloc_zero_and_free) {
    HANDLE heap = GetProcessHeap();
    CHECK(heap != NULL);
    CHECK_EQ(GetProcessHeap(), heap);
    unsigned char* p = HeapAlloc(heap, HEAP_ZERO_MEMORY, 1000);
    REQUIRE(p != NULL);
    int nonzero = 0;
    for (int i = 0; i < 1000; ++i) nonzero += p[i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(HeapSize(heap, 0, p), 1000);
    memset(p, 0xAB, 1000);
    unsigned char* q = HeapReAlloc(heap, 0, p, 5000);
    REQUIRE(q != NULL);
    int kept = 0;
    for (int i = 0; i < 1000; ++i) kept += q[i] == 0xAB;
    CHECK_EQ(kept, 1000);
    CHECK_EQ(HeapSize(heap, 0, q), 5000);
    CHECK_OK(HeapFree(heap, 0, q));
    /* Freeing NULL is allowed. */
    CHECK_OK(HeapFree(heap, 0, NULL));
}

TEST(local_alloc_and_free) {
    unsigned char* p = LocalAlloc(LPTR, 256);
    REQUIRE(p != NULL);
    int nonzero = 0;
    for (int i = 0; i < 256; ++i) nonzero += p[i] != 0;
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(LocalFree(p), NULL);
    CHECK_EQ(LocalFree(NULL), NULL);
    void* f = LocalAlloc(LMEM_FIXED, 16);
    REQUIRE(f != NULL);
    memset(f, 1, 16);
    CHECK_EQ(LocalFree(f), NULL);
}

static int all_zero(const unsigned char* p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (p[i]) return 0;
    return 1;
}

/* The completion-routine server's GlobalAlloc(GPTR, sizeof(PIPEINST)): zeroed, fixed memory. */
TEST(global_alloc_fixed) {
    unsigned char* p = GlobalAlloc(GPTR, 300);
    REQUIRE(p != NULL);
    CHECK(all_zero(p, 300));
    CHECK_EQ(GlobalSize(p), 300);
    memset(p, 0x5A, 300);
    /* Fixed memory: Lock gives the block, Unlock is TRUE and leaves the last error alone. */
    CHECK_EQ(GlobalLock(p), p);
    CHECK_RET_ERR(GlobalUnlock(p), TRUE, 0xDEADBEEFu);
    CHECK_RET_ERR(GlobalUnlock(p), TRUE, 0xDEADBEEFu);
    CHECK_EQ(GlobalFree(p), NULL);

    unsigned char* z = GlobalAlloc(GMEM_ZEROINIT, 64); /* GMEM_FIXED is 0: the same as GPTR */
    REQUIRE(z != NULL);
    CHECK(all_zero(z, 64));
    CHECK_EQ(GlobalFree(z), NULL);
    unsigned char* f = GlobalAlloc(GMEM_FIXED, 64);
    REQUIRE(f != NULL);
    memset(f, 1, 64);
    CHECK_EQ(GlobalSize(f), 64);
    CHECK_EQ(GlobalFree(f), NULL);

    /* GlobalAlloc makes no fixed block of 0 bytes: one of 1 byte (LocalAlloc does make it). */
    void* empty = GlobalAlloc(GMEM_FIXED, 0);
    REQUIRE(empty != NULL);
    CHECK_EQ(GlobalSize(empty), 1);
    CHECK_EQ(GlobalFree(empty), NULL);

    CHECK_EQ(GlobalFree(NULL), NULL);
    CHECK_RET_ERR(GlobalLock(NULL), NULL, 0xDEADBEEFu);
    CHECK_RET_ERR(GlobalUnlock(NULL), TRUE, 0xDEADBEEFu);
}

/* Moveable memory: the lock count and Unlock's answers are Windows'. */
TEST(global_alloc_moveable_counts_locks) {
    HGLOBAL h = GlobalAlloc(GHND, 128);
    REQUIRE(h != NULL);
    unsigned char* p = GlobalLock(h);
    REQUIRE(p != NULL);
    CHECK(all_zero(p, 128));
    CHECK_EQ(GlobalLock(h), p); /* locked twice */
    CHECK_EQ(GlobalSize(h), 128);
    CHECK_RET_ERR(GlobalUnlock(h), TRUE, 0xDEADBEEFu);  /* still locked */
    CHECK_RET_ERR(GlobalUnlock(h), FALSE, NO_ERROR);     /* that was the last lock */
    CHECK_RET_ERR(GlobalUnlock(h), FALSE, ERROR_NOT_LOCKED);
    CHECK_EQ(GlobalLock(h), p);
    CHECK_EQ(GlobalFree(h), NULL); /* a locked block is freed too */

    /* A moveable block of 0 bytes is discarded: there is nothing to lock. */
    h = GlobalAlloc(GMEM_MOVEABLE | GMEM_ZEROINIT, 0);
    REQUIRE(h != NULL);
    CHECK_RET_ERR(GlobalLock(h), NULL, ERROR_DISCARDED);
    CHECK_EQ(GlobalSize(h), 0);
    CHECK_EQ(GlobalFree(h), NULL);
}

TEST(local_size_lock_and_unlock) {
    unsigned char* p = LocalAlloc(LPTR, 77);
    REQUIRE(p != NULL);
    CHECK_EQ(LocalSize(p), 77);
    CHECK_EQ(LocalLock(p), p);
    CHECK_RET_ERR(LocalUnlock(p), FALSE, ERROR_NOT_LOCKED); /* fixed memory is never locked */
    CHECK_EQ(LocalFree(p), NULL);
    void* empty = LocalAlloc(LMEM_FIXED, 0);
    REQUIRE(empty != NULL);
    CHECK_EQ(LocalSize(empty), 0);
    CHECK_EQ(LocalFree(empty), NULL);

    HLOCAL h = LocalAlloc(LHND, 10);
    REQUIRE(h != NULL);
    void* q = LocalLock(h);
    REQUIRE(q != NULL);
    CHECK(all_zero(q, 10));
    CHECK_EQ(LocalSize(h), 10);
    CHECK_RET_ERR(LocalUnlock(h), FALSE, NO_ERROR);
    CHECK_RET_ERR(LocalUnlock(h), FALSE, ERROR_NOT_LOCKED);
    CHECK_EQ(LocalFree(h), NULL);
    CHECK_RET_ERR(LocalLock(NULL), NULL, 0xDEADBEEFu);
    CHECK_RET_ERR(LocalUnlock(NULL), FALSE, ERROR_NOT_LOCKED);
}

/* The ErrorExit of Microsoft's parent/child sample sizes its text with LocalSize. */
TEST(local_size_of_what_format_message_allocates) {
    LPSTR message = NULL;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, ERROR_FILE_NOT_FOUND, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                             (LPSTR)&message, 0, NULL);
    REQUIRE(n > 0 && message != NULL);
    CHECK(LocalSize(message) >= n + 1);
    LPSTR display = LocalAlloc(LMEM_ZEROINIT, (strlen(message) + strlen("CreateFile") + 40) * sizeof(TCHAR));
    REQUIRE(display != NULL);
    CHECK_EQ(StringCchPrintfA(display, LocalSize(display) / sizeof(TCHAR), "%s failed with error %d: %s",
                              "CreateFile", 2, message),
             S_OK);
    CHECK(strncmp(display, "CreateFile failed with error 2: The system cannot find the file specified.", 74) == 0);
    CHECK_EQ(LocalFree(message), NULL);
    CHECK_EQ(LocalFree(display), NULL);
}

/* A pointer into memory that Local/GlobalAlloc did not hand out. (It points into a zeroed block
 * of our own, so looking before it is allowed.) */
TEST(memory_functions_refuse_what_they_did_not_allocate) {
    unsigned char* raw = calloc(64, 1);
    REQUIRE(raw != NULL);
    void* bogus = raw + 32;
    CHECK_RET_ERR(GlobalSize(bogus), 0, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(LocalSize(bogus), 0, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(GlobalLock(bogus), NULL, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(LocalLock(bogus), NULL, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(GlobalUnlock(bogus), TRUE, ERROR_INVALID_HANDLE); /* Windows' answer */
    CHECK_RET_ERR(LocalUnlock(bogus), FALSE, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(GlobalFree(bogus), bogus, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(LocalFree(bogus), bogus, ERROR_INVALID_HANDLE);
    CHECK_RET_ERR(LocalSize(NULL), 0, ERROR_INVALID_HANDLE);
    free(raw);
}

TEST(lstr_functions) {
    WCHAR a[16], b[16];
    CHECK_EQ(lstrlenA("pipe"), 4);
    CHECK_EQ(lstrlenA(""), 0);
    CHECK_EQ(lstrlenA(NULL), 0);
    CHECK_EQ(lstrlenW(widen("pipes", a)), 5);
    CHECK_EQ(lstrlenW(NULL), 0);
    CHECK_EQ(lstrcmpA("abc", "abc"), 0);
    CHECK(lstrcmpA("abc", "abd") < 0);
    CHECK(lstrcmpA("b", "a") > 0);
    CHECK_EQ(lstrcmpW(widen("same", a), widen("same", b)), 0);
    CHECK(lstrcmpW(widen("a", a), widen("b", b)) < 0);
}

TEST(string_cch_copy_and_cat) {
    char buf[8];
    CHECK_EQ(StringCchCopyA(buf, sizeof buf, "pipe"), S_OK);
    CHECK(strcmp(buf, "pipe") == 0);
    CHECK_EQ(StringCchCatA(buf, sizeof buf, "abc"), S_OK);
    CHECK(strcmp(buf, "pipeabc") == 0);
    CHECK_EQ(StringCchCatA(buf, sizeof buf, "x"), STRSAFE_E_INSUFFICIENT_BUFFER);
    CHECK(strcmp(buf, "pipeabc") == 0);
    CHECK_EQ(StringCchCopyA(buf, sizeof buf, "much too long"), STRSAFE_E_INSUFFICIENT_BUFFER);
    CHECK(strcmp(buf, "much to") == 0);
    CHECK_EQ(StringCchCopyA(buf, 0, "x"), STRSAFE_E_INVALID_PARAMETER);
    CHECK_EQ(StringCchCopyNA(buf, sizeof buf, "abcdef", 3), S_OK);
    CHECK(strcmp(buf, "abc") == 0);
    WCHAR w[4], src[16];
    CHECK_EQ(StringCchCopyW(w, 4, widen("abcdef", src)), STRSAFE_E_INSUFFICIENT_BUFFER);
    CHECK_EQ(lstrlenW(w), 3);
}

TEST(string_cch_length_and_printf) {
    size_t len = 99;
    CHECK_EQ(StringCchLengthA("hello", 100, &len), S_OK);
    CHECK_EQ(len, 5);
    CHECK_EQ(StringCchLengthA("hello", 5, &len), STRSAFE_E_INVALID_PARAMETER);
    char buf[16];
    CHECK_EQ(StringCchPrintfA(buf, sizeof buf, "%s-%d", "pipe", 42), S_OK);
    CHECK(strcmp(buf, "pipe-42") == 0);
    CHECK_EQ(StringCchPrintfA(buf, 6, "%d", 1234567), STRSAFE_E_INSUFFICIENT_BUFFER);
    CHECK(strcmp(buf, "12345") == 0);
}

TEST(tchar_maps_to_char_without_unicode) {
    TCHAR text[] = _T("pipe");
    CHECK_EQ(sizeof(TCHAR), 1);
    CHECK_EQ(_tcslen(text), 4);
    CHECK_EQ(_tcscmp(text, _T("pipe")), 0);
    CHECK_EQ(lstrlen(TEXT("four")), 4);
}

TEST(format_message_names_an_error) {
    LPSTR text = NULL;
    DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, ERROR_PIPE_BUSY, 0, (LPSTR)&text, 0, NULL);
    CHECK(n > 0);
    REQUIRE(text != NULL);
    CHECK_EQ((DWORD)strlen(text), n);
    CHECK(strstr(text, "pipe") != NULL || strstr(text, "Pipe") != NULL);
    CHECK_EQ(LocalFree(text), NULL);
}

/* UTF-16 text for the checks below, compared as UTF-8 after narrowing. */
static int wide_equals(const WCHAR* w, const char* ascii) {
    size_t i = 0;
    for (; ascii[i]; ++i)
        if (w[i] != (WCHAR)(unsigned char)ascii[i]) return 0;
    return w[i] == 0;
}

/* The Microsoft runtime's printf rules, through StringCchPrintfW / StringCchPrintfA. */
TEST(string_cch_printf_follows_the_microsoft_runtime) {
    WCHAR w[64], fmt[32], arg[8];
    /* A negative '*' width left-justifies. */
    CHECK_EQ(StringCchPrintfW(w, 64, widen("[%*d]", fmt), -5, 42), S_OK);
    CHECK(wide_equals(w, "[42   ]"));
    /* %hd and %hhd truncate to short and char. */
    CHECK_EQ(StringCchPrintfW(w, 64, widen("%hd %hhd %hu", fmt), 70000, 300, 70000), S_OK);
    CHECK(wide_equals(w, "4464 44 4464"));
    /* In a wide format %s is a wide string and %hs / %S a narrow one. */
    CHECK_EQ(StringCchPrintfW(w, 64, widen("%s|%hs|%S", fmt), widen("ab", arg), "cd", "ef"), S_OK);
    CHECK(wide_equals(w, "ab|cd|ef"));
    /* Widths count characters (UTF-16 units), not bytes: U+00E9 padded to 4 is 3 spaces. */
    WCHAR e_acute[2] = {0x00E9, 0};
    CHECK_EQ(StringCchPrintfW(w, 64, widen("[%4s]", fmt), e_acute), S_OK);
    CHECK_EQ(w[0], '[');
    CHECK_EQ(w[1], ' ');
    CHECK_EQ(w[3], ' ');
    CHECK_EQ(w[4], 0x00E9);
    CHECK_EQ(w[5], ']');
    /* %p: all 16 hex digits, upper case, no prefix. */
    CHECK_EQ(StringCchPrintfW(w, 64, widen("%p", fmt), (void*)0xabcdef), S_OK);
    CHECK(wide_equals(w, "0000000000ABCDEF"));
    /* In a narrow format %ls and %S are UTF-16 strings (Windows' 16-bit WCHAR, not wchar_t). */
    char a[32];
    CHECK_EQ(StringCchPrintfA(a, sizeof a, "%ls/%S/%s", widen("ab", arg), widen("ab", arg), "cd"), S_OK);
    CHECK(strcmp(a, "ab/ab/cd") == 0);
}

TEST_TABLE{
    TEST_ENTRY(heap_alloc_zero_and_free),
    TEST_ENTRY(local_alloc_and_free),
    TEST_ENTRY(global_alloc_fixed),
    TEST_ENTRY(global_alloc_moveable_counts_locks),
    TEST_ENTRY(local_size_lock_and_unlock),
    TEST_ENTRY(local_size_of_what_format_message_allocates),
    TEST_ENTRY(memory_functions_refuse_what_they_did_not_allocate),
    TEST_ENTRY(lstr_functions),
    TEST_ENTRY(string_cch_copy_and_cat),
    TEST_ENTRY(string_cch_length_and_printf),
    TEST_ENTRY(tchar_maps_to_char_without_unicode),
    TEST_ENTRY(format_message_names_an_error),
    TEST_ENTRY(string_cch_printf_follows_the_microsoft_runtime),
    TABLE_END,
};
ROLE_TABLE{TABLE_END};
