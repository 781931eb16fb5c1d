// os/users.hpp - names of users and groups (the passwd and group databases through NSS).
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>

namespace npipe::os {

/// The user's login name; nullopt when the database has no entry for `uid`.
std::optional<std::string> user_name(uid_t uid);
/// The group's name; nullopt when the database has no entry for `gid`.
std::optional<std::string> group_name(gid_t gid);

} // namespace npipe::os
