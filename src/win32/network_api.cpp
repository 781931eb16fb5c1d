// WNetAddConnection2A/W and WNetCancelConnection2A/W for \\HOST\IPC$: the explicit credentials
// npipe's SMB client uses for HOST's pipes (smb/remote_pipe.hpp). Only IPC$ is a resource npipe
// connects to; drive letters and disk shares are ERROR_NOT_SUPPORTED.
#include <npipe/win32.h>

#include "smb/remote_pipe.hpp"
#include "win32/kernel_object.hpp"
#include "win32/text.hpp"

#include <cctype>
#include <optional>
#include <string>

namespace npipe::win32 {
namespace {

/// HOST of "\\HOST\IPC$" (case-insensitive share name); std::nullopt for anything else.
std::optional<std::string> ipc_host(const char* remote) {
    if (!remote) return std::nullopt;
    std::string r(remote);
    if (r.size() < 3 || r[0] != '\\' || r[1] != '\\') return std::nullopt;
    auto slash = r.find('\\', 2);
    if (slash == std::string::npos || slash == 2) return std::nullopt;
    std::string share = r.substr(slash + 1);
    for (auto& c : share) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (share != "IPC$") return std::nullopt;
    return r.substr(2, slash - 2);
}

DWORD done(DWORD code) noexcept {
    set_last_error(code);
    return code;
}

} // namespace
} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

DWORD WINAPI WNetAddConnection2A(LPNETRESOURCEA lpNetResource, LPCSTR lpPassword, LPCSTR lpUserName, DWORD dwFlags) {
    return guard(DWORD{ERROR_INTERNAL_ERROR}, [&]() -> DWORD {
        (void)dwFlags; // CONNECT_TEMPORARY and friends: npipe keeps nothing across processes anyway
        if (!lpNetResource) return done(ERROR_INVALID_PARAMETER);
        if (lpNetResource->lpLocalName && *lpNetResource->lpLocalName) return done(ERROR_NOT_SUPPORTED);
        auto host = ipc_host(lpNetResource->lpRemoteName);
        if (!host) return done(ERROR_NOT_SUPPORTED);
        // No user name: the caller's own credentials, which need no registration.
        if (!lpUserName || !*lpUserName) return done(NO_ERROR);
        npipe::smb::explicit_credentials c{lpUserName, lpPassword ? lpPassword : ""};
        auto ec = npipe::smb::add_connection(*host, std::move(c));
        return done(ec ? static_cast<DWORD>(ec.value()) : NO_ERROR);
    });
}

DWORD WINAPI WNetAddConnection2W(LPNETRESOURCEW lpNetResource, LPCWSTR lpPassword, LPCWSTR lpUserName, DWORD dwFlags) {
    return guard(DWORD{ERROR_INTERNAL_ERROR}, [&]() -> DWORD {
        if (!lpNetResource) return done(ERROR_INVALID_PARAMETER);
        auto text = [](LPCWSTR w) { return w ? to_utf8(w) : std::optional<std::string>(std::string()); };
        auto local = text(lpNetResource->lpLocalName);
        auto remote = text(lpNetResource->lpRemoteName);
        auto password = text(lpPassword);
        auto user = text(lpUserName);
        if (!local || !remote || !password || !user) return done(ERROR_INVALID_PARAMETER);
        NETRESOURCEA a{};
        a.dwType = lpNetResource->dwType;
        a.lpLocalName = local->data();
        a.lpRemoteName = lpNetResource->lpRemoteName ? remote->data() : nullptr;
        return WNetAddConnection2A(&a, lpPassword ? password->c_str() : nullptr, lpUserName ? user->c_str() : nullptr,
                                   dwFlags);
    });
}

DWORD WINAPI WNetCancelConnection2A(LPCSTR lpName, DWORD dwFlags, BOOL fForce) {
    return guard(DWORD{ERROR_INTERNAL_ERROR}, [&]() -> DWORD {
        (void)dwFlags;
        (void)fForce; // open pipes keep their session, as on Windows with fForce FALSE
        auto host = ipc_host(lpName);
        if (!host || !npipe::smb::forget_credentials(*host)) return done(ERROR_NOT_CONNECTED);
        return done(NO_ERROR);
    });
}

DWORD WINAPI WNetCancelConnection2W(LPCWSTR lpName, DWORD dwFlags, BOOL fForce) {
    return guard(DWORD{ERROR_INTERNAL_ERROR}, [&]() -> DWORD {
        auto name = lpName ? to_utf8(lpName) : std::optional<std::string>();
        if (!name) return done(ERROR_NOT_CONNECTED);
        return WNetCancelConnection2A(name->c_str(), dwFlags, fForce);
    });
}

} // extern "C"
