/* conio.h - the console keyboard functions of Microsoft's C runtime that pipe programs use
 * ("press a key to close the connection").
 *
 * They read standard input. When it is a terminal, that terminal delivers keys one at a time
 * for the duration of the call (no line editing; Enter reads as '\r', as on a Windows console;
 * Ctrl+C still interrupts) and is put back as it was afterwards - also when a signal such as
 * Ctrl+C, or another thread's ExitProcess, ends the program meanwhile. Keys are bytes: a non-ASCII character arrives as its UTF-8
 * bytes, an arrow or function key as the terminal's escape sequence (not Windows' 0 or 0xE0
 * followed by a scan code). Between calls the terminal is as the program found it (keys typed
 * then are echoed, as for any program). A background job leaves its terminal's mode alone
 * (changing it would stop the job). When standard input is not a terminal (a pipe, a file),
 * _getch reads one byte of it.
 *
 * Standard output is flushed first, so a prompt without a newline shows before the wait.
 * Thread safety: the calls are serialised, as Microsoft's are. */
#ifndef NPIPE_COMPAT_CONIO_H
#define NPIPE_COMPAT_CONIO_H

#include <npipe/win32.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The next key, without echo; waits for one. At the end of a non-terminal standard input, or
 * when it cannot be read: EOF (-1). */
NPIPE_C_API int _getch(void);
/* _getch, and the key is echoed (by the terminal, or to standard output when standard input
 * is not a terminal). */
NPIPE_C_API int _getche(void);
/* Nonzero when a key is waiting, i.e. when _getch would return at once (also at the end of a
 * non-terminal standard input); 0 otherwise. Never waits. */
NPIPE_C_API int _kbhit(void);

/* The older names, which Microsoft's conio.h also declares. */
static inline int getch(void) { return _getch(); }
static inline int getche(void) { return _getche(); }
static inline int kbhit(void) { return _kbhit(); }

#ifdef __cplusplus
}
#endif

#endif /* NPIPE_COMPAT_CONIO_H */
