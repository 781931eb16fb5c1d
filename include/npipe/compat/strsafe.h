/* strsafe.h - the StringCch* functions of the Windows SDK that pipe programs use.
 *
 * Counts are in characters (TCHARs), including the terminating NUL. Results are always
 * terminated; a destination too small gets the truncated text and STRSAFE_E_INSUFFICIENT_BUFFER,
 * a count of 0 or over STRSAFE_MAX_CCH gets STRSAFE_E_INVALID_PARAMETER, as with the SDK. */
#ifndef NPIPE_COMPAT_STRSAFE_H
#define NPIPE_COMPAT_STRSAFE_H

#include <npipe/win32.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define STRSAFE_MAX_CCH 2147483647
#define STRSAFE_E_INSUFFICIENT_BUFFER ((HRESULT)0x8007007AL)
#define STRSAFE_E_INVALID_PARAMETER ((HRESULT)0x80070057L)
#define STRSAFE_E_END_OF_FILE ((HRESULT)0x80070026L)

NPIPE_C_API HRESULT StringCchCopyA(LPSTR pszDest, size_t cchDest, LPCSTR pszSrc);
NPIPE_C_API HRESULT StringCchCopyW(LPWSTR pszDest, size_t cchDest, LPCWSTR pszSrc);
NPIPE_C_API HRESULT StringCchCopyNA(LPSTR pszDest, size_t cchDest, LPCSTR pszSrc, size_t cchToCopy);
NPIPE_C_API HRESULT StringCchCopyNW(LPWSTR pszDest, size_t cchDest, LPCWSTR pszSrc, size_t cchToCopy);
NPIPE_C_API HRESULT StringCchCatA(LPSTR pszDest, size_t cchDest, LPCSTR pszSrc);
NPIPE_C_API HRESULT StringCchCatW(LPWSTR pszDest, size_t cchDest, LPCWSTR pszSrc);
NPIPE_C_API HRESULT StringCchLengthA(LPCSTR psz, size_t cchMax, size_t* pcchLength);
NPIPE_C_API HRESULT StringCchLengthW(LPCWSTR psz, size_t cchMax, size_t* pcchLength);
/* The formats follow Microsoft's printf (%S, %ls and %lc are UTF-16 WCHAR), not glibc's, so
 * the compiler's printf checking does not apply. */
NPIPE_C_API HRESULT StringCchPrintfA(LPSTR pszDest, size_t cchDest, LPCSTR pszFormat, ...);
NPIPE_C_API HRESULT StringCchPrintfW(LPWSTR pszDest, size_t cchDest, LPCWSTR pszFormat, ...);
NPIPE_C_API HRESULT StringCchVPrintfA(LPSTR pszDest, size_t cchDest, LPCSTR pszFormat, va_list args);
NPIPE_C_API HRESULT StringCchVPrintfW(LPWSTR pszDest, size_t cchDest, LPCWSTR pszFormat, va_list args);

#ifdef UNICODE
#define StringCchCopy StringCchCopyW
#define StringCchCopyN StringCchCopyNW
#define StringCchCat StringCchCatW
#define StringCchLength StringCchLengthW
#define StringCchPrintf StringCchPrintfW
#define StringCchVPrintf StringCchVPrintfW
#else
#define StringCchCopy StringCchCopyA
#define StringCchCopyN StringCchCopyNA
#define StringCchCat StringCchCatA
#define StringCchLength StringCchLengthA
#define StringCchPrintf StringCchPrintfA
#define StringCchVPrintf StringCchVPrintfA
#endif

#ifdef __cplusplus
}
#endif

#endif /* NPIPE_COMPAT_STRSAFE_H */
