#include "sigma/sigma.hpp"

#include <filesystem>

namespace npipe::sigma {

std::string default_rules_directory() {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        auto beside = self.parent_path() / NPIPE_BINDIR_TO_RULES_DIR;
        if (std::filesystem::is_directory(beside, ec)) return beside.lexically_normal().string();
    }
    if (std::filesystem::is_directory(NPIPE_DEFAULT_RULES_DIR, ec)) return NPIPE_DEFAULT_RULES_DIR;
    if (std::filesystem::is_directory(NPIPE_SOURCE_RULES_DIR, ec)) return NPIPE_SOURCE_RULES_DIR;
    return {};
}

} // namespace npipe::sigma
