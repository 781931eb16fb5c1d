// The per-thread identity switch behind ImpersonateNamedPipeClient: one thread changes, the
// others do not, and it comes back. Needs root (CI runs as root; the tests say why they skip).
#include "os/credentials.hpp"

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <unistd.h>

namespace {

uid_t thread_euid() { return static_cast<uid_t>(::syscall(SYS_geteuid)); }
gid_t thread_egid() { return static_cast<gid_t>(::syscall(SYS_getegid)); }

TEST(Credentials, OneThreadChangesAndComesBack) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to change identity";
    ASSERT_TRUE(npipe::os::can_change_identity());
    auto saved = npipe::os::current_thread_credentials();
    ASSERT_FALSE(saved.error);

    // A thread that already runs (a new one would inherit its creator's identity).
    std::mutex m;
    std::condition_variable cv;
    bool look = false, looked = false;
    uid_t seen_in_other = 12345;
    std::thread other([&] {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return look; });
        seen_in_other = thread_euid();
        looked = true;
        cv.notify_all();
    });
    {
        const gid_t groups[] = {65533};
        ASSERT_FALSE(npipe::os::assume_identity(65534, 65534, groups));
        EXPECT_EQ(thread_euid(), 65534u);
        EXPECT_EQ(thread_egid(), 65534u);
        auto now = npipe::os::current_thread_credentials();
        ASSERT_FALSE(now.error);
        EXPECT_EQ(now.value.groups, std::vector<gid_t>{65533});
        EXPECT_FALSE(npipe::os::can_change_identity()); // a non-root euid holds no capabilities
        // Another thread of the process is untouched.
        {
            std::unique_lock lock(m);
            look = true;
            cv.notify_all();
            cv.wait(lock, [&] { return looked; });
        }
        other.join();
        EXPECT_EQ(seen_in_other, 0u);
        ASSERT_FALSE(npipe::os::restore_identity(saved.value));
    }
    EXPECT_EQ(thread_euid(), 0u);
    EXPECT_EQ(thread_egid(), saved.value.egid);
    auto back = npipe::os::current_thread_credentials();
    ASSERT_FALSE(back.error);
    EXPECT_EQ(back.value.groups, saved.value.groups);
    EXPECT_TRUE(npipe::os::can_change_identity());
}

TEST(Credentials, RefusedWithoutPrivilegeLeavesTheThreadAsItWas) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to drop to another uid first";
    auto saved = npipe::os::current_thread_credentials();
    ASSERT_FALSE(saved.error);
    std::thread t([&] {
        // This thread becomes nobody for real (all three uids), so it has no way back and no
        // capability: assuming another identity must fail and change nothing.
        ASSERT_EQ(::syscall(SYS_setresgid, 65534, 65534, 65534), 0);
        ASSERT_EQ(::syscall(SYS_setresuid, 65534, 65534, 65534), 0);
        EXPECT_FALSE(npipe::os::can_change_identity());
        auto before = npipe::os::current_thread_credentials();
        ASSERT_FALSE(before.error);
        const gid_t none[] = {0};
        EXPECT_EQ(npipe::os::assume_identity(0, 0, none), std::errc::operation_not_permitted);
        auto after = npipe::os::current_thread_credentials();
        ASSERT_FALSE(after.error);
        EXPECT_EQ(after.value.euid, before.value.euid);
        EXPECT_EQ(after.value.egid, before.value.egid);
        EXPECT_EQ(after.value.groups, before.value.groups);
    });
    t.join();
    EXPECT_EQ(thread_euid(), 0u); // the test's own thread never changed
}

} // namespace
