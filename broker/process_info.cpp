#include "process_info.hpp"

#include "os/process.hpp"

#include <cctype>
#include <cstdio>
#include <fstream>
#include "os/users.hpp"
#include <vector>

namespace npipe::broker {

process_directory::process_directory() {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    in >> id;
    for (char c : id) {
        if (std::isxdigit(static_cast<unsigned char>(c))) boot_prefix_ += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (boot_prefix_.size() == 8) break;
    }
    boot_prefix_.resize(8, '0');
}

std::string process_directory::guid(pid_t pid, std::uint64_t start) const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "{%s-%04llX-%04llX-%04llX-%012llX}", boot_prefix_.c_str(),
                  static_cast<unsigned long long>((start >> 32) & 0xFFFF),
                  static_cast<unsigned long long>((start >> 16) & 0xFFFF),
                  static_cast<unsigned long long>(start & 0xFFFF),
                  static_cast<unsigned long long>(static_cast<std::uint32_t>(pid)));
    return buf;
}

std::string process_directory::user_name(uid_t uid) {
    if (auto it = users_.find(uid); it != users_.end()) return it->second;
    std::string name = os::user_name(uid).value_or(std::to_string(uid));
    if (users_.size() > 4096) users_.clear(); // a cache, not a second passwd file
    users_.emplace(uid, name);
    return name;
}

process_info process_directory::describe(pid_t pid, uid_t uid, std::uint64_t start_time) {
    process_info info;
    info.user = user_name(uid);
    if (pid <= 0) return info;
    if (start_time == 0) start_time = os::process_start_time(pid).value_or(0);
    if (start_time != 0) info.guid = guid(pid, start_time);
    auto key = std::make_pair(pid, start_time);
    if (auto it = images_.find(key); it != images_.end() && start_time != 0) {
        info.image = it->second;
        return info;
    }
    info.image = os::executable_of(pid);
    if (start_time != 0 && !info.image.empty()) {
        if (images_.size() > 4096) images_.clear(); // a cache, bounded
        images_.emplace(key, info.image);
    }
    return info;
}

} // namespace npipe::broker
