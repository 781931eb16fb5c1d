#include "runtime_dir.hpp"

#include "win32_errors.hpp"

#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
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
        mode_t mode = system ? 0755 : 0700;
        if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST)
            return to_win32({errno, std::generic_category()});
    }
    // O_NOFOLLOW on the last component: a symlink planted in place of the directory fails here.
    int raw = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) {
        if (errno == ENOENT) return win32(win32_error::service_not_active);
        return win32(win32_error::access_denied);
    }
    struct stat st{};
    int rc = ::fstat(raw, &st);
    ::close(raw);
    if (rc != 0 || !S_ISDIR(st.st_mode)) return win32(win32_error::access_denied);
    if (system) {
        if (st.st_uid != 0 || (st.st_mode & 022) != 0) return win32(win32_error::access_denied);
    } else {
        if (st.st_uid != ::geteuid() || (st.st_mode & 077) != 0) return win32(win32_error::access_denied);
    }
    return {};
}

} // namespace npipe::detail
