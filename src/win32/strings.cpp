// lstrlen/lstrcmp, the strsafe.h StringCch* functions, and the UTF-16 helpers behind tchar.h
// under UNICODE.
#define UNICODE // declares the UTF-16 tchar.h helpers defined here
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include <npipe/compat/strsafe.h>
#include <npipe/compat/tchar.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

namespace {

using npipe::win32::length16;

constexpr size_t max_cch = STRSAFE_MAX_CCH;

bool bad_count(size_t cch) noexcept { return cch == 0 || cch > max_cch; }

template <class C>
HRESULT copy_n(C* dest, size_t cch, const C* src, size_t limit) noexcept {
    if (bad_count(cch)) {
        if (cch > max_cch && dest) dest[0] = 0; // as the SDK does
        return STRSAFE_E_INVALID_PARAMETER;
    }
    size_t i = 0;
    while (i + 1 < cch && i < limit && src && src[i]) {
        dest[i] = src[i];
        ++i;
    }
    dest[i] = 0;
    bool complete = !src || i == limit || !src[i];
    return complete ? S_OK : STRSAFE_E_INSUFFICIENT_BUFFER;
}

template <class C>
HRESULT cat(C* dest, size_t cch, const C* src) noexcept {
    if (bad_count(cch)) return STRSAFE_E_INVALID_PARAMETER;
    size_t used = 0;
    while (used < cch && dest[used]) ++used;
    if (used == cch) return STRSAFE_E_INVALID_PARAMETER; // dest was not terminated within cch
    return copy_n(dest + used, cch - used, src, static_cast<size_t>(-1));
}

template <class C>
HRESULT length(const C* s, size_t cch_max, size_t* out) noexcept {
    if (!s || cch_max > max_cch) {
        if (out) *out = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    size_t n = 0;
    while (n < cch_max && s[n]) ++n;
    if (n == cch_max) {
        if (out) *out = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    if (out) *out = n;
    return S_OK;
}

HRESULT store_formatted16(LPWSTR dest, size_t cch, const std::string& utf8) {
    std::u16string wide = npipe::win32::to_utf16(utf8);
    return npipe::win32::copy16(dest, cch, wide) ? S_OK : STRSAFE_E_INSUFFICIENT_BUFFER;
}

} // namespace

extern "C" {

int WINAPI lstrlenA(LPCSTR lpString) { return lpString ? static_cast<int>(std::strlen(lpString)) : 0; }
int WINAPI lstrlenW(LPCWSTR lpString) { return static_cast<int>(length16(lpString)); }

int WINAPI lstrcmpA(LPCSTR a, LPCSTR b) {
    int r = std::strcmp(a ? a : "", b ? b : "");
    return (r > 0) - (r < 0);
}

int WINAPI lstrcmpW(LPCWSTR a, LPCWSTR b) { return npipe_wcscmp16(a ? a : u"", b ? b : u""); }

LPSTR WINAPI lstrcpyA(LPSTR a, LPCSTR b) {
    if (!a || !b) return nullptr;
    return std::strcpy(a, b);
}
LPWSTR WINAPI lstrcpyW(LPWSTR a, LPCWSTR b) {
    if (!a || !b) return nullptr;
    return npipe_wcscpy16(a, b);
}
LPSTR WINAPI lstrcatA(LPSTR a, LPCSTR b) {
    if (!a || !b) return nullptr;
    return std::strcat(a, b);
}
LPWSTR WINAPI lstrcatW(LPWSTR a, LPCWSTR b) {
    if (!a || !b) return nullptr;
    return npipe_wcscat16(a, b);
}

HRESULT StringCchCopyA(LPSTR d, size_t cch, LPCSTR s) { return copy_n(d, cch, s, static_cast<size_t>(-1)); }
HRESULT StringCchCopyW(LPWSTR d, size_t cch, LPCWSTR s) { return copy_n(d, cch, s, static_cast<size_t>(-1)); }
HRESULT StringCchCopyNA(LPSTR d, size_t cch, LPCSTR s, size_t n) { return copy_n(d, cch, s, n); }
HRESULT StringCchCopyNW(LPWSTR d, size_t cch, LPCWSTR s, size_t n) { return copy_n(d, cch, s, n); }
HRESULT StringCchCatA(LPSTR d, size_t cch, LPCSTR s) { return cat(d, cch, s); }
HRESULT StringCchCatW(LPWSTR d, size_t cch, LPCWSTR s) { return cat(d, cch, s); }
HRESULT StringCchLengthA(LPCSTR s, size_t cch_max, size_t* out) { return length(s, cch_max, out); }
HRESULT StringCchLengthW(LPCWSTR s, size_t cch_max, size_t* out) { return length(s, cch_max, out); }

HRESULT StringCchVPrintfA(LPSTR d, size_t cch, LPCSTR format, va_list args) {
    if (bad_count(cch)) {
        if (cch > max_cch && d) d[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    // Microsoft's printf, not glibc's: %S, %ls and %lc are 16-bit WCHAR strings and units here.
    std::string text = npipe::win32::format8(format, args);
    size_t n = std::min(text.size(), cch - 1);
    std::memcpy(d, text.data(), n);
    d[n] = 0;
    return n == text.size() ? S_OK : STRSAFE_E_INSUFFICIENT_BUFFER;
}

HRESULT StringCchPrintfA(LPSTR d, size_t cch, LPCSTR format, ...) {
    va_list args;
    va_start(args, format);
    HRESULT hr = StringCchVPrintfA(d, cch, format, args);
    va_end(args);
    return hr;
}

HRESULT StringCchVPrintfW(LPWSTR d, size_t cch, LPCWSTR format, va_list args) {
    if (bad_count(cch)) {
        if (cch > max_cch && d) d[0] = 0;
        return STRSAFE_E_INVALID_PARAMETER;
    }
    return store_formatted16(d, cch, npipe::win32::format16(format, args));
}

HRESULT StringCchPrintfW(LPWSTR d, size_t cch, LPCWSTR format, ...) {
    va_list args;
    va_start(args, format);
    HRESULT hr = StringCchVPrintfW(d, cch, format, args);
    va_end(args);
    return hr;
}

int npipe_fwprintf16(FILE* stream, const WCHAR* format, ...) {
    va_list args;
    va_start(args, format);
    std::string text = npipe::win32::format16(format, args);
    va_end(args);
    if (std::fwrite(text.data(), 1, text.size(), stream) != text.size()) return -1;
    return static_cast<int>(npipe::win32::to_utf16(text).size()); // characters, as wprintf counts
}

int npipe_wprintf16(const WCHAR* format, ...) {
    va_list args;
    va_start(args, format);
    std::string text = npipe::win32::format16(format, args);
    va_end(args);
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) return -1;
    return static_cast<int>(npipe::win32::to_utf16(text).size());
}

size_t npipe_wcslen16(const WCHAR* s) { return length16(s); }

int npipe_wcscmp16(const WCHAR* a, const WCHAR* b) {
    while (*a && *a == *b) {
        ++a;
        ++b;
    }
    return (*a > *b) - (*a < *b);
}

int npipe_wcsncmp16(const WCHAR* a, const WCHAR* b, size_t n) {
    for (size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) return (a[i] > b[i]) - (a[i] < b[i]);
        if (!a[i]) return 0;
    }
    return 0;
}

WCHAR* npipe_wcscpy16(WCHAR* dest, const WCHAR* src) {
    size_t i = 0;
    do dest[i] = src[i];
    while (src[i++]);
    return dest;
}

WCHAR* npipe_wcscat16(WCHAR* dest, const WCHAR* src) {
    npipe_wcscpy16(dest + length16(dest), src);
    return dest;
}

} // extern "C"
