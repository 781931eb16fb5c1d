// win32/ntstatus.hpp - the NTSTATUS values that OVERLAPPED.Internal carries, both ways.
#pragma once

#include <npipe/win32.h>

namespace npipe::win32 {

/// The NTSTATUS Windows' driver would complete with for a Win32 error (0 -> STATUS_SUCCESS).
DWORD ntstatus_from_win32(DWORD error) noexcept;
/// RtlNtStatusToDosError for the statuses above.
DWORD win32_from_ntstatus(DWORD status) noexcept;

} // namespace npipe::win32
