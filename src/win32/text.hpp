// win32/text.hpp - UTF-16 (WCHAR) and UTF-8 (the A functions' strings) conversions, and the
// printf engine behind the UTF-16 format functions (_tprintf under UNICODE, StringCchPrintfW).
#pragma once

#include <npipe/win32.h>

#include <cstdarg>
#include <optional>
#include <string>
#include <string_view>

namespace npipe::win32 {

std::size_t length16(const WCHAR* s) noexcept;

/// UTF-16 to UTF-8. Empty when `s` holds an unpaired surrogate.
std::optional<std::string> to_utf8(const WCHAR* s, std::size_t length);
inline std::optional<std::string> to_utf8(const WCHAR* s) { return to_utf8(s, length16(s)); }
/// UTF-16 to UTF-8 for showing text: an unpaired surrogate becomes U+FFFD.
std::string to_utf8_lossy(const WCHAR* s, std::size_t length);

/// UTF-8 to UTF-16; malformed sequences become U+FFFD.
std::u16string to_utf16(std::string_view s);

/// Formats like Microsoft's wprintf: the format is UTF-16, %s/%ls/%c take UTF-16 strings and
/// units, %hs/%S/%hc take char strings and chars. The result is UTF-8.
std::string format16(const WCHAR* format, va_list args);
/// The same for a char format (StringCchPrintfA): %s is a char string, %S and %ls UTF-16.
std::string format8(const char* format, va_list args);

/// Copies UTF-16 text into a WCHAR buffer of `capacity` units, NUL-terminated, truncating.
/// Returns false when it had to truncate.
bool copy16(WCHAR* dest, std::size_t capacity, std::u16string_view text) noexcept;

} // namespace npipe::win32
