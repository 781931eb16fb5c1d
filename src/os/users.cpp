#include "os/users.hpp"

#include <cerrno>
#include <grp.h>
#include <pwd.h>
#include <vector>

namespace npipe::os {

std::optional<std::string> user_name(uid_t uid) {
    // ERANGE: an entry larger than the buffer (long group lists in some directories): grow.
    for (std::size_t size = 4096; size <= (1u << 20); size *= 4) {
        std::vector<char> scratch(size);
        passwd pw{};
        passwd* found = nullptr;
        int rc = ::getpwuid_r(uid, &pw, scratch.data(), scratch.size(), &found);
        if (rc == ERANGE) continue;
        if (rc != 0 || !found || !found->pw_name) return std::nullopt;
        return std::string(found->pw_name);
    }
    return std::nullopt;
}

std::optional<std::string> group_name(gid_t gid) {
    for (std::size_t size = 4096; size <= (1u << 20); size *= 4) {
        std::vector<char> scratch(size);
        group gr{};
        group* found = nullptr;
        int rc = ::getgrgid_r(gid, &gr, scratch.data(), scratch.size(), &found);
        if (rc == ERANGE) continue;
        if (rc != 0 || !found || !found->gr_name) return std::nullopt;
        return std::string(found->gr_name);
    }
    return std::nullopt;
}

} // namespace npipe::os
