// What a server learns about its client: the kernel's word (pid, uid, gid, supplementary groups,
// label) and the impersonation the client allowed - never anything the client wrote.
#include "fixture.hpp"

#include <condition_variable>
#include <fcntl.h>
#include <grp.h>
#include <mutex>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <thread>
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

// ---- impersonation --------------------------------------------------------------------------

TEST_F(identity, ImpersonationNeedsTheClientsConsentAndDataRead) {
    {
        auto s = server_instance::create(pipe_name("consent"));
        auto c = client::open(pipe_name("consent")); // default: identification
        s.connect();
        c.write(bytes("x"));
        std::byte b[4];
        s.read(b);
        std::error_code ec;
        s.impersonate_client(ec);
        EXPECT_EQ(ec, win32_error::cannot_impersonate) << "the client chose identification";
        EXPECT_FALSE(is_impersonating());
    }
    {
        auto s = server_instance::create(pipe_name("consent2"));
        client_options o;
        o.impersonation = impersonation_level::impersonation;
        auto c = client::open(pipe_name("consent2"), o);
        s.connect();
        std::error_code ec;
        s.impersonate_client(ec);
        EXPECT_EQ(ec, win32_error::cannot_impersonate) << "nothing read from the client yet";
        c.write(bytes("x"));
        std::byte b[4];
        s.read(b);
        s.impersonate_client(ec); // our own uid: nothing to switch, no privilege needed
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(is_impersonating());
        revert_to_self();
        EXPECT_FALSE(is_impersonating());
        revert_to_self(); // not impersonating: nothing to do, no error (as RevertToSelf)
    }
}

namespace {

uid_t thread_euid() { return static_cast<uid_t>(::syscall(SYS_geteuid)); }

} // namespace

TEST_F(identity, ImpersonationChangesTheCallingThreadOnlyAndReverts) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the client runs as another uid (CI runs as root)";
    system_broker broker;
    ASSERT_TRUE(broker.ready());
    const uid_t nobody = 65534;
    server_options so;
    so.sddl = "D:(A;;FA;;;S-1-22-1-65534)(A;;FA;;;BA)"; // the client's uid may open it
    auto s = server_instance::create(pipe_name("imp"), so);
    auto c = peer({"client-as", pipe_name("imp"), std::to_string(nobody), "impersonation", "hi"});
    s.connect();
    std::byte b[8];
    ASSERT_EQ(s.read(b).bytes, 2u);
    ASSERT_TRUE(s.client_identity());
    EXPECT_EQ(s.client_identity()->uid, nobody);

    // A thread that is already running keeps the process's identity throughout.
    std::mutex m;
    std::condition_variable cv;
    int step = 0;
    uid_t other_saw = 1;
    std::thread other([&] {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return step == 1; });
        other_saw = thread_euid();
        step = 2;
        cv.notify_all();
    });

    std::error_code ec;
    s.impersonate_client(ec);
    if (ec) {
        { std::lock_guard lock(m); step = 1; }
        cv.notify_all();
        other.join();
        FAIL() << "impersonate_client: " << ec.message();
    }
    EXPECT_TRUE(is_impersonating());
    EXPECT_EQ(thread_euid(), nobody);
    // What the thread creates belongs to the client.
    std::string path = "/tmp/npipe-impersonated-" + std::to_string(::getpid());
    int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    struct stat st {};
    ::fstat(fd, &st);
    ::close(fd);
    EXPECT_EQ(st.st_uid, nobody);
    {
        std::unique_lock lock(m);
        step = 1;
        cv.notify_all();
        cv.wait(lock, [&] { return step == 2; });
    }
    other.join();
    EXPECT_EQ(other_saw, 0u);
    revert_to_self();
    EXPECT_EQ(thread_euid(), 0u);
    ::unlink(path.c_str());
}

TEST_F(identity, ImpersonationOfAnotherUserRefusedWhenTheClientChoseIdentification) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the client runs as another uid (CI runs as root)";
    system_broker broker;
    ASSERT_TRUE(broker.ready());
    server_options so;
    so.sddl = "D:(A;;FA;;;S-1-22-1-65534)(A;;FA;;;BA)";
    auto s = server_instance::create(pipe_name("ident"), so);
    auto c = peer({"client-as", pipe_name("ident"), "65534", "identification", "hi"});
    s.connect();
    std::byte b[8];
    ASSERT_EQ(s.read(b).bytes, 2u);
    std::error_code ec;
    s.impersonate_client(ec);
    EXPECT_EQ(ec, win32_error::cannot_impersonate);
    EXPECT_EQ(thread_euid(), 0u) << "left as it was";
}
