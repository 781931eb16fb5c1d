// npiped's Samba switch: --samba[=DIR] on the command line (any scope) and the configuration
// file's samba: {serve, dir} (the system scope only).
#include "config_file.hpp"
#include "options.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace npipe::broker;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "npipe-opt-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string file(const std::string& name, const std::string& text) const {
        std::ofstream(path + "/" + name) << text;
        return path + "/" + name;
    }
};

std::optional<startup> parse(std::vector<std::string> args, int& exit_code) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return parse_options(static_cast<int>(argv.size()), argv.data(), exit_code);
}

} // namespace

TEST(SambaOptions, TheConfigurationFileNamesServeAndDir) {
    temp_dir d;
    config cfg;
    EXPECT_TRUE(load_config_file(d.file("a.yaml", "samba:\n  serve: true\n  dir: /srv/np\n"), cfg).empty());
    EXPECT_TRUE(cfg.samba);
    EXPECT_EQ(cfg.samba_dir, "/srv/np");
    config relative;
    EXPECT_EQ(load_config_file(d.file("b.yaml", "samba:\n  dir: np\n"), relative).size(), 1u);
    config unknown;
    EXPECT_EQ(load_config_file(d.file("c.yaml", "samba:\n  enabled: true\n"), unknown).size(), 1u);
}

TEST(SambaOptions, TheFlagAloneServesDebiansDirectoryAValueNamesAnother) {
    temp_dir d;
    int exit_code = 0;
    auto empty = d.file("empty.yaml", "");
    auto plain = parse({"npiped", "--runtime-dir", d.path, "--config", empty}, exit_code);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->cfg.samba);
    auto flag = parse({"npiped", "--runtime-dir", d.path, "--config", empty, "--samba"}, exit_code);
    ASSERT_TRUE(flag);
    EXPECT_TRUE(flag->cfg.samba);
    EXPECT_EQ(flag->cfg.samba_dir, config::default_samba_dir);
    auto dir = parse({"npiped", "--runtime-dir", d.path, "--config", empty, "--samba=/srv/np"}, exit_code);
    ASSERT_TRUE(dir);
    EXPECT_TRUE(dir->cfg.samba);
    EXPECT_EQ(dir->cfg.samba_dir, "/srv/np");
}

TEST(SambaOptions, AUserScopeConfigurationFileCannotTurnItOn) {
    temp_dir d;
    int exit_code = 0;
    auto on = d.file("on.yaml", "samba:\n  serve: true\n");
    auto user = parse({"npiped", "--runtime-dir", d.path, "--config", on}, exit_code);
    ASSERT_TRUE(user);
    EXPECT_FALSE(user->cfg.samba) << "a user's broker serves smbd only when started with --samba";
}

TEST(SambaOptions, RemoteClientsAllowIdentificationUnlessTheBrokerIsToldImpersonation) {
    temp_dir d;
    int exit_code = 0;
    auto empty = d.file("empty.yaml", "");
    auto plain = parse({"npiped", "--runtime-dir", d.path, "--config", empty, "--samba"}, exit_code);
    ASSERT_TRUE(plain);
    EXPECT_FALSE(plain->cfg.samba_impersonation);
    auto flag = parse({"npiped", "--runtime-dir", d.path, "--config", empty, "--samba", "--samba-impersonation"},
                      exit_code);
    ASSERT_TRUE(flag);
    EXPECT_TRUE(flag->cfg.samba_impersonation);
    config cfg;
    EXPECT_TRUE(load_config_file(d.file("i.yaml", "samba:\n  serve: true\n  impersonation: true\n"), cfg).empty());
    EXPECT_TRUE(cfg.samba_impersonation);
}
