// win32/security_api.hpp - what the rest of the Win32 layer needs from security_api.cpp.
#pragma once

#include <npipe/win32.h>

#include <optional>
#include <string>

namespace npipe::win32 {

/// A Windows security descriptor (absolute or self-relative, as SECURITY_ATTRIBUTES carries
/// it) as the SDDL the broker applies to a new pipe; empty with `err` set
/// (ERROR_INVALID_SECURITY_DESCR, ERROR_UNKNOWN_REVISION, ERROR_NOT_SUPPORTED) when it cannot be.
std::optional<std::string> pipe_sddl_of_descriptor(const void* descriptor, DWORD& err);

} // namespace npipe::win32
