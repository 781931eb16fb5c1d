#include "saved_pipes.hpp"

#include "os/fd.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace npipe::broker {
namespace fs = std::filesystem;

pipe_store::pipe_store(const std::string& runtime_dir) : dir_(runtime_dir + "/pipes") {}

std::error_code pipe_store::open() {
    std::error_code ec;
    fs::create_directory(dir_, ec);
    if (ec) return ec;
    // The runtime directory is already checked (nobody else can write there); still make sure
    // this is our own private directory and not something placed here before us.
    auto facts = os::inspect_directory(dir_);
    if (!facts) return facts.error;
    if (facts.value.owner != ::geteuid()) return std::make_error_code(std::errc::permission_denied);
    if ((facts.value.mode & 077) != 0) fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec) return ec;
    open_ = true;
    return {};
}

std::string pipe_store::path_of(std::uint64_t id) const {
    char name[32];
    std::snprintf(name, sizeof name, "/%016llx.json", static_cast<unsigned long long>(id));
    return dir_ + name;
}

std::error_code pipe_store::save(const saved_pipe& p) const {
    if (!open_) return {};
    nlohmann::json servers = nlohmann::json::array();
    for (const auto& s : p.servers) servers.push_back({{"pid", s.pid}, {"start_time", s.start_time}});
    nlohmann::json j = {{"id", p.id},       {"key", p.key},           {"name", p.display_name},
                        {"owner_uid", p.owner_uid}, {"sddl", p.sddl}, {"servers", servers},
                        {"explicit_dacl", p.explicit_dacl}};
    std::string path = path_of(p.id), temporary = path + ".new";
    {
        std::ofstream out(temporary, std::ios::trunc);
        out << j.dump() << '\n';
        if (!out.flush()) return std::make_error_code(std::errc::io_error);
    }
    // No fsync: the runtime directory is a tmpfs that outlives a broker, not a reboot.
    std::error_code ec;
    fs::rename(temporary, path, ec);
    return ec;
}

void pipe_store::remove(std::uint64_t id) const {
    if (!open_) return;
    std::error_code ec;
    fs::remove(path_of(id), ec);
}

std::vector<saved_pipe> pipe_store::load(std::vector<std::string>& problems) const {
    std::vector<saved_pipe> out;
    if (!open_) return out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const auto& path = entry.path();
        if (path.extension() != ".json") { // a temporary a dying broker left
            fs::remove(path, ec);
            continue;
        }
        try {
            std::ifstream in(path);
            auto j = nlohmann::json::parse(in);
            saved_pipe p;
            p.id = j.at("id").get<std::uint64_t>();
            p.key = j.at("key").get<std::string>();
            p.display_name = j.at("name").get<std::string>();
            p.owner_uid = j.at("owner_uid").get<uid_t>();
            p.sddl = j.at("sddl").get<std::string>();
            for (const auto& s : j.at("servers"))
                p.servers.push_back({s.at("pid").get<pid_t>(), s.at("start_time").get<std::uint64_t>()});
            p.explicit_dacl = j.value("explicit_dacl", false);
            if (path.filename() != fs::path(path_of(p.id)).filename()) throw std::runtime_error("id does not match the file name");
            out.push_back(std::move(p));
        } catch (const std::exception& e) {
            problems.push_back(path.string() + ": " + e.what());
            fs::remove(path, ec);
        }
    }
    return out;
}

} // namespace npipe::broker
