// The sockets smbd connects to for exported pipes (broker/samba_listeners.hpp): which names smbd
// can ask for, the directory it insists on, and never taking a name a live server holds.
#include "samba_listeners.hpp"

#include "os/fd.hpp"
#include "os/socket.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

using npipe::broker::samba_listeners;

namespace {

struct temp_dir {
    std::string path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "npipe-np-XXXXXX").string();
        path = ::mkdtemp(tmpl.data()); // 0700
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace

TEST(SambaListeners, TheLeafIsTheNameInLowerCaseWhenSmbdCanAskForIt) {
    EXPECT_EQ(samba_listeners::leaf_for("MY-PIPE.1"), "my-pipe.1");
    EXPECT_FALSE(samba_listeners::leaf_for("A\\B")) << "smbd's np/ holds no subdirectories";
    EXPECT_FALSE(samba_listeners::leaf_for("A/B"));
    EXPECT_FALSE(samba_listeners::leaf_for(".."));
    EXPECT_FALSE(samba_listeners::leaf_for(""));
    EXPECT_FALSE(samba_listeners::leaf_for("STRA\xC3\x9F" "E")) << "smbd lower-cases Unicode; npipe compares ASCII";
    EXPECT_FALSE(samba_listeners::leaf_for(std::string(256, 'A')));
    EXPECT_EQ(samba_listeners::leaf_for(std::string(255, 'A')), std::string(255, 'a'));
}

TEST(SambaListeners, ADirectoryOthersMayEnterIsRefused) {
    temp_dir d;
    std::filesystem::permissions(d.path, std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                                             std::filesystem::perms::others_exec);
    samba_listeners s;
    EXPECT_EQ(s.open(d.path), std::errc::permission_denied);
    EXPECT_FALSE(s.enabled());
}

TEST(SambaListeners, ASocketPerPipeMadeAndRemoved) {
    temp_dir d;
    samba_listeners s;
    ASSERT_FALSE(s.open(d.path));
    EXPECT_TRUE(s.trusted(0));
    std::error_code ec;
    int fd = s.add("ECHO", ec);
    ASSERT_GE(fd, 0) << ec.message();
    ASSERT_NE(s.pipe_of(fd), nullptr);
    EXPECT_EQ(*s.pipe_of(fd), "ECHO");
    EXPECT_TRUE(std::filesystem::exists(d.path + "/echo"));
    EXPECT_TRUE(npipe::os::connect_unix(d.path + "/echo")) << "smbd can connect";
    EXPECT_TRUE(s.remove("ECHO").valid());
    EXPECT_FALSE(std::filesystem::exists(d.path + "/echo"));
    EXPECT_FALSE(s.remove("ECHO").valid());
}

TEST(SambaListeners, ALiveServersNameIsNeverTakenAStaleOneIs) {
    temp_dir d;
    samba_listeners s;
    ASSERT_FALSE(s.open(d.path));
    auto other = npipe::os::listen_unix(d.path + "/srvsvc", 4, 0600); // say, Samba's own
    ASSERT_TRUE(other);
    std::error_code ec;
    EXPECT_EQ(s.add("SRVSVC", ec), -1);
    EXPECT_EQ(ec, std::errc::address_in_use);
    other.value.reset(); // its server died and left the file
    EXPECT_GE(s.add("SRVSVC", ec), 0) << ec.message();
}
