// npipe/pipe_name.hpp - the one canonicaliser of pipe names.
//
// `\\.\pipe\NAME`: the prefix is case-insensitive, NAME is compared case-insensitively the way
// Windows compares it (Unicode simple upper-casing of each UTF-16 unit), may hold any character
// but NUL (backslashes included: a trailing backslash makes a different name), and is 1..256
// UTF-16 units long. Input must be valid UTF-8 (no overlong forms, no surrogates).
// `\\HOST\pipe\NAME` parses as a remote name.
//
// Thread safety: free functions and value types; safe from any thread.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace npipe {

/// Maximum length of NAME in UTF-16 units.
inline constexpr std::size_t max_pipe_name_length = 256;

struct pipe_name {
    std::string server;    ///< "." for local pipes, else the host name
    std::string name;      ///< NAME as given (after the prefix)
    std::string key;       ///< NAME upper-cased: equal keys are the same pipe
    std::string full() const; ///< `\\SERVER\pipe\NAME`
    bool is_local() const noexcept { return server == "."; }
};

/// Parses a full pipe name. ERROR_INVALID_NAME when it is not one (with `ec`), including an
/// empty or over-long NAME, a NUL byte, or malformed UTF-8.
NPIPE_API std::optional<pipe_name> parse_pipe_name(std::string_view full, std::error_code& ec);

/// The CLI's convenience: `x` becomes `\\.\pipe\x`; a name that starts with `\\` is kept;
/// `//HOST/NAME` becomes `\\HOST\pipe\NAME` (and `//HOST` without a NAME is kept, for
/// parse_pipe_name to refuse).
NPIPE_API std::string expand_pipe_name(std::string_view short_or_full);

} // namespace npipe
