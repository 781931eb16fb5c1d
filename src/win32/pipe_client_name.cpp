// GetNamedPipeClientComputerNameA/W: the computer a remote client (an SMB client through Samba's
// smbd) came from, as smbd named it in its handshake. Windows answers ERROR_PIPE_LOCAL for any
// pipe whose client did not come through its SMB server; so does npipe (io_object.cpp).
#include "win32/io_object.hpp"
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include <cstring>
#include <string>

namespace npipe::win32 {
namespace {

/// The name, or the error that stands for it.
DWORD computer_of(HANDLE pipe, std::string& name) {
    auto io = lookup_as<io_object>(pipe);
    if (!io) return ERROR_INVALID_HANDLE;
    return io->client_computer(name);
}

} // namespace

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

BOOL WINAPI GetNamedPipeClientComputerNameA(HANDLE Pipe, LPSTR ClientComputerName, ULONG ClientComputerNameLength) {
    return guard(FALSE, [&]() -> BOOL {
        std::string name;
        if (DWORD e = computer_of(Pipe, name)) return fail(e, FALSE);
        if (!ClientComputerName || ClientComputerNameLength < name.size() + 1)
            return fail(DWORD{ERROR_INSUFFICIENT_BUFFER}, FALSE);
        std::memcpy(ClientComputerName, name.c_str(), name.size() + 1);
        return TRUE;
    });
}

BOOL WINAPI GetNamedPipeClientComputerNameW(HANDLE Pipe, LPWSTR ClientComputerName, ULONG ClientComputerNameLength) {
    return guard(FALSE, [&]() -> BOOL {
        std::string name;
        if (DWORD e = computer_of(Pipe, name)) return fail(e, FALSE);
        std::u16string wide = to_utf16(name);
        // The length is in bytes, as for the A function (Microsoft's documentation of both).
        std::size_t units = ClientComputerNameLength / sizeof(WCHAR);
        if (!ClientComputerName || units < wide.size() + 1) return fail(DWORD{ERROR_INSUFFICIENT_BUFFER}, FALSE);
        copy16(ClientComputerName, units, wide);
        return TRUE;
    });
}

} // extern "C"
