// win32_errors.hpp - internal helpers that turn kernel and protocol results into Win32 codes.
#pragma once

#include <npipe/error.hpp>

#include <system_error>

namespace npipe::detail {

/// Any error_code (generic/system category from the OS layer, or win32) as a win32 code.
inline std::error_code to_win32(std::error_code ec) noexcept {
    if (!ec || ec.category() == win32_category()) return ec;
    if (ec.category() == std::generic_category() || ec.category() == std::system_category())
        return make_error_code(win32_error_from_errno(ec.value()));
    return make_error_code(win32_error::gen_failure);
}

inline std::error_code win32(win32_error e) noexcept { return make_error_code(e); }

/// Throws std::system_error for the non-throwing form's result.
inline void throw_if(const std::error_code& ec, const char* what) {
    if (ec) throw std::system_error(ec, what);
}

} // namespace npipe::detail
