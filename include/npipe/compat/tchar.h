/* tchar.h - the part of the Windows SDK's generic-text mappings that pipe programs use.
 *
 * Without UNICODE, TCHAR is char and everything maps to the C library. With UNICODE, TCHAR is
 * WCHAR (UTF-16); _tprintf then takes a UTF-16 format whose %s arguments are UTF-16 strings (as
 * Microsoft's wprintf), and _tmain becomes wmain, called by the main() in libnpipe_wmain (linked
 * by `pkg-config --libs npipe`) with the arguments (and the environment) as UTF-16. Every form
 * MSVC accepts works, in C and C++: _tmain(int argc, TCHAR* argv[]), with TCHAR* envp[] as well,
 * or _tmain(void) / _tmain(VOID) (see wmain in <npipe/win32.h>). */
#ifndef NPIPE_COMPAT_TCHAR_H
#define NPIPE_COMPAT_TCHAR_H

#include <npipe/win32.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define _T(x) __TEXT(x)
#define _TEXT(x) __TEXT(x)
typedef TCHAR _TCHAR;
typedef TCHAR _TSCHAR;

#ifdef UNICODE
/* printf/fprintf with a UTF-16 format; %s, %ls and %S take WCHAR strings, %hs a char string. */
NPIPE_C_API int npipe_wprintf16(const WCHAR* format, ...);
NPIPE_C_API int npipe_fwprintf16(FILE* stream, const WCHAR* format, ...);
NPIPE_C_API size_t npipe_wcslen16(const WCHAR* s);
NPIPE_C_API int npipe_wcscmp16(const WCHAR* a, const WCHAR* b);
NPIPE_C_API int npipe_wcsncmp16(const WCHAR* a, const WCHAR* b, size_t n);
NPIPE_C_API WCHAR* npipe_wcscpy16(WCHAR* dest, const WCHAR* src);
NPIPE_C_API WCHAR* npipe_wcscat16(WCHAR* dest, const WCHAR* src);
#define _tmain wmain
#define _tprintf npipe_wprintf16
#define _ftprintf npipe_fwprintf16
#define _tcslen npipe_wcslen16
#define _tcscmp npipe_wcscmp16
#define _tcsncmp npipe_wcsncmp16
#define _tcscpy npipe_wcscpy16
#define _tcscat npipe_wcscat16
#else
#define _tmain main
#define _tprintf printf
#define _ftprintf fprintf
#define _tcslen strlen
#define _tcscmp strcmp
#define _tcsncmp strncmp
#define _tcscpy strcpy
#define _tcscat strcat
#endif

#ifdef __cplusplus
}
#endif

#endif /* NPIPE_COMPAT_TCHAR_H */
