// NTSTATUS <-> Win32 for OVERLAPPED, and FormatMessage over npipe's one table of error texts.
#include "win32/kernel_object.hpp"
#include "win32/ntstatus.hpp"
#include "win32/text.hpp"

#include <npipe/error.hpp>

#include <cstring>

namespace npipe::win32 {
namespace {

struct status_pair {
    DWORD error;
    DWORD status;
};

// The first entry for an error is the status it produces; every entry maps a status back.
constexpr status_pair status_table[] = {
    {ERROR_SUCCESS, STATUS_SUCCESS},
    {ERROR_IO_PENDING, STATUS_PENDING},
    {ERROR_MORE_DATA, STATUS_BUFFER_OVERFLOW},
    {ERROR_BROKEN_PIPE, STATUS_PIPE_BROKEN},
    {ERROR_NO_DATA, STATUS_PIPE_CLOSING},
    {ERROR_NO_DATA, 0xC00000D9u /* STATUS_PIPE_EMPTY */},
    {ERROR_PIPE_NOT_CONNECTED, STATUS_PIPE_DISCONNECTED},
    {ERROR_PIPE_LISTENING, STATUS_PIPE_LISTENING},
    {ERROR_PIPE_CONNECTED, STATUS_PIPE_CONNECTED},
    {ERROR_BAD_PIPE, STATUS_INVALID_PIPE_STATE},
    {ERROR_PIPE_BUSY, STATUS_PIPE_BUSY},
    {ERROR_PIPE_BUSY, STATUS_INSTANCE_NOT_AVAILABLE},
    {ERROR_PIPE_BUSY, STATUS_PIPE_NOT_AVAILABLE},
    {ERROR_INVALID_FUNCTION, STATUS_ILLEGAL_FUNCTION},
    {ERROR_SEM_TIMEOUT, STATUS_IO_TIMEOUT},
    {ERROR_FILE_NOT_FOUND, STATUS_OBJECT_NAME_NOT_FOUND},
    {ERROR_INVALID_NAME, STATUS_OBJECT_NAME_INVALID},
    {ERROR_ACCESS_DENIED, STATUS_ACCESS_DENIED},
    {ERROR_INVALID_HANDLE, STATUS_INVALID_HANDLE},
    {ERROR_INVALID_PARAMETER, STATUS_INVALID_PARAMETER},
    {ERROR_OPERATION_ABORTED, STATUS_CANCELLED},
    {ERROR_NOT_ENOUGH_MEMORY, STATUS_NO_MEMORY},
};
constexpr DWORD status_unsuccessful = 0xC0000001u;

} // namespace

DWORD ntstatus_from_win32(DWORD error) noexcept {
    for (const auto& p : status_table)
        if (p.error == error) return p.status;
    return status_unsuccessful;
}

DWORD win32_from_ntstatus(DWORD status) noexcept {
    for (const auto& p : status_table)
        if (p.status == status) return p.error;
    return ERROR_GEN_FAILURE;
}

namespace {

/// The system's text for a message number, as Windows words it, with its CR LF.
bool system_text(DWORD id, std::string& text) {
    std::string sentence = npipe::win32_error_system_text(static_cast<int>(id));
    if (sentence.empty()) return false;
    text = sentence + "\r\n";
    return true;
}

bool message_text(DWORD flags, LPCVOID source, DWORD id, std::string& text) {
    if (flags & FORMAT_MESSAGE_FROM_STRING) {
        if (!source) return false;
        text = static_cast<const char*>(source); // inserts are not expanded (see README)
        return true;
    }
    if (flags & FORMAT_MESSAGE_FROM_SYSTEM) return system_text(id, text);
    return false;
}

} // namespace
} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

DWORD WINAPI FormatMessageA(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPSTR lpBuffer,
                            DWORD nSize, va_list* Arguments) {
    return guard(DWORD{0}, [&]() -> DWORD {
        (void)dwLanguageId;
        (void)Arguments;
        std::string text;
        if (!message_text(dwFlags, lpSource, dwMessageId, text)) return fail(DWORD{317} /* ERROR_MR_MID_NOT_FOUND */, DWORD{0});
        if (!lpBuffer) return fail(ERROR_INVALID_PARAMETER, DWORD{0});
        if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) {
            std::size_t size = std::max<std::size_t>(text.size() + 1, nSize);
            auto* p = static_cast<char*>(LocalAlloc(LMEM_FIXED, size));
            if (!p) return fail(ERROR_NOT_ENOUGH_MEMORY, DWORD{0});
            std::memcpy(p, text.c_str(), text.size() + 1);
            *reinterpret_cast<LPSTR*>(lpBuffer) = p;
        } else {
            if (nSize < text.size() + 1) return fail(ERROR_INSUFFICIENT_BUFFER, DWORD{0});
            std::memcpy(lpBuffer, text.c_str(), text.size() + 1);
        }
        return static_cast<DWORD>(text.size());
    });
}

DWORD WINAPI FormatMessageW(DWORD dwFlags, LPCVOID lpSource, DWORD dwMessageId, DWORD dwLanguageId, LPWSTR lpBuffer,
                            DWORD nSize, va_list* Arguments) {
    return guard(DWORD{0}, [&]() -> DWORD {
        (void)dwLanguageId;
        (void)Arguments;
        std::string text;
        if (dwFlags & FORMAT_MESSAGE_FROM_STRING) {
            auto s = lpSource ? to_utf8(static_cast<const WCHAR*>(lpSource)) : std::nullopt;
            if (!s) return fail(ERROR_INVALID_PARAMETER, DWORD{0});
            text = *s;
        } else if (!message_text(dwFlags, lpSource, dwMessageId, text)) {
            return fail(DWORD{317}, DWORD{0});
        }
        if (!lpBuffer) return fail(ERROR_INVALID_PARAMETER, DWORD{0});
        std::u16string wide = to_utf16(text);
        if (dwFlags & FORMAT_MESSAGE_ALLOCATE_BUFFER) {
            std::size_t units = std::max<std::size_t>(wide.size() + 1, nSize);
            auto* p = static_cast<WCHAR*>(LocalAlloc(LMEM_FIXED, units * sizeof(WCHAR)));
            if (!p) return fail(ERROR_NOT_ENOUGH_MEMORY, DWORD{0});
            copy16(p, units, wide);
            *reinterpret_cast<LPWSTR*>(lpBuffer) = p;
        } else {
            if (nSize < wide.size() + 1) return fail(ERROR_INSUFFICIENT_BUFFER, DWORD{0});
            copy16(lpBuffer, nSize, wide);
        }
        return static_cast<DWORD>(wide.size());
    });
}

} // extern "C"
