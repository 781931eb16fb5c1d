#include "runtime_dir.hpp"

#include "os/fd.hpp"
#include "win32_errors.hpp"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace npipe::detail {
namespace {

const char* env(const char* name) {
    const char* v = std::getenv(name);
    return (v && *v) ? v : nullptr;
}

} // namespace

runtime_location resolve_location(const endpoint& where) {
    runtime_location loc;
    loc.system = where.scope == scope::system ||
                 (where.scope == scope::from_environment && env("NPIPE_SCOPE") &&
                  std::strcmp(env("NPIPE_SCOPE"), "system") == 0);
    if (where.runtime_dir) loc.dir = where.runtime_dir->string();
    else if (const char* d = env("NPIPE_RUNTIME_DIR")) loc.dir = d;
    else if (loc.system) loc.dir = "/run/npipe";
    else if (const char* x = env("XDG_RUNTIME_DIR")) loc.dir = std::string(x) + "/npipe";
    else loc.dir = "/tmp/npipe-" + std::to_string(::geteuid());
    const char* no_autostart = env("NPIPE_NO_AUTOSTART");
    bool env_allows = !(no_autostart && std::strcmp(no_autostart, "0") != 0);
    loc.autostart = !loc.system && where.autostart.value_or(env_allows);
    return loc;
}

std::error_code check_runtime_dir(const std::string& dir, bool system, bool create) {
    if (create) {
        if (auto ec = os::make_directory(dir, system ? 0755 : 0700)) return to_win32(ec);
    }
    // A symlink planted in place of the directory fails here (no following of the last component).
    auto facts = os::inspect_directory(dir);
    if (!facts) {
        if (facts.error == std::errc::no_such_file_or_directory) return win32(win32_error::service_not_active);
        return win32(win32_error::access_denied);
    }
    if (system) {
        if (facts.value.owner != 0 || (facts.value.mode & 022) != 0) return win32(win32_error::access_denied);
    } else {
        if (facts.value.owner != ::geteuid() || (facts.value.mode & 077) != 0) return win32(win32_error::access_denied);
    }
    return {};
}

} // namespace npipe::detail
