// utf8.hpp - making text valid UTF-8 before RE2 (in UTF-8 mode) sees it: RE2's `.` does not match
// a stray byte, so `*` would not match across one. Every byte that is not part of a well-formed
// sequence (overlong forms, surrogates and values above U+10FFFF are not) becomes U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace npipe::sigma::detail {

bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with each ill-formed byte replaced by U+FFFD (the text itself when it is valid).
std::string to_valid_utf8(std::string_view text);

} // namespace npipe::sigma::detail
