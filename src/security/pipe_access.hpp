// security/pipe_access.hpp - what a handle to a pipe may do with the data, from the access mask
// it was opened with (CreateFile's dwDesiredAccess). The one place a mask becomes read / write:
// the library uses it for a client end's abilities and the open request's read/write fields.
#pragma once

#include <npipe/security.hpp>

#include <cstdint>

namespace npipe::detail {

struct pipe_data_access {
    bool read = false;             ///< FILE_READ_DATA: ReadFile, PeekNamedPipe
    bool write = false;            ///< FILE_WRITE_DATA: WriteFile
    bool write_attributes = false; ///< FILE_WRITE_ATTRIBUTES: SetNamedPipeHandleState
};

/// The mask mapped through the pipe generic mapping (GENERIC_READ -> FILE_GENERIC_READ, which
/// holds FILE_READ_DATA; GENERIC_WRITE -> ..., FILE_WRITE_DATA, FILE_WRITE_ATTRIBUTES;
/// GENERIC_ALL -> FILE_ALL_ACCESS). MAXIMUM_ALLOWED asks for everything the DACL gives, so it
/// counts as all three; the broker's access check decides what is granted.
constexpr pipe_data_access pipe_data_access_of(std::uint32_t desired) noexcept {
    if (desired & rights::MAXIMUM_ALLOWED) return {true, true, true};
    std::uint32_t mapped = map_generic(desired, pipe_generic_mapping);
    return {(mapped & rights::FILE_READ_DATA) != 0, (mapped & rights::FILE_WRITE_DATA) != 0,
            (mapped & rights::FILE_WRITE_ATTRIBUTES) != 0};
}

} // namespace npipe::detail
