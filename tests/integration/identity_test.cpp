// What a server learns about its client: the kernel's word (pid, uid, gid, supplementary groups,
// label) and the impersonation the client allowed - never anything the client wrote.
#include "fixture.hpp"

#include <grp.h>
#include <unistd.h>

using namespace npipe;
using namespace npipe_test;

namespace {

class identity : public named_pipe_test {};

std::vector<gid_t> own_groups() {
    int n = ::getgroups(0, nullptr);
    std::vector<gid_t> g(static_cast<std::size_t>(n));
    n = ::getgroups(n, g.data());
    g.resize(static_cast<std::size_t>(n));
    return g;
}

} // namespace

TEST_F(identity, ServerSeesTheKernelsViewOfTheClient) {
    auto s = server_instance::create(pipe_name("who"));
    EXPECT_FALSE(s.client_identity()) << "no client yet";
    auto c = client::open(pipe_name("who"));
    s.connect();
    auto who = s.client_identity();
    ASSERT_TRUE(who);
    EXPECT_EQ(who->pid, ::getpid());
    EXPECT_EQ(who->uid, ::geteuid());
    EXPECT_EQ(who->gid, ::getegid());
    auto expected = own_groups();
    auto got = who->groups;
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, expected);
    EXPECT_FALSE(who->anonymous);
    EXPECT_EQ(who->allowed, impersonation_level::identification) << "npipe's default";
    s.disconnect();
    EXPECT_FALSE(s.client_identity()) << "gone with the client";
}

TEST_F(identity, ImpersonationLevelIsTheClientsChoice) {
    for (auto level : {impersonation_level::anonymous, impersonation_level::identification,
                       impersonation_level::impersonation, impersonation_level::delegation}) {
        auto s = server_instance::create(pipe_name("level"));
        client_options o;
        o.impersonation = level;
        o.effective_only = level == impersonation_level::impersonation;
        auto c = client::open(pipe_name("level"), o);
        s.connect();
        auto who = s.client_identity();
        ASSERT_TRUE(who);
        EXPECT_EQ(who->allowed, level);
        EXPECT_EQ(who->effective_only, level == impersonation_level::impersonation);
    }
}
