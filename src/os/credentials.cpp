#include "os/credentials.hpp"

#include <cerrno>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace npipe::os {

// Raw system calls: the kernel keeps credentials per thread, and these ask for the calling
// thread's alone.
uid_t thread_effective_uid() noexcept { return static_cast<uid_t>(::syscall(SYS_geteuid)); }
pid_t thread_id() noexcept { return static_cast<pid_t>(::syscall(SYS_gettid)); }
namespace {

std::error_code raw(long result) noexcept {
    return result == 0 ? std::error_code{} : std::error_code(errno, std::generic_category());
}

std::error_code set_thread_groups(std::span<const gid_t> groups) noexcept {
    return raw(::syscall(SYS_setgroups, groups.size(), groups.data()));
}
std::error_code set_thread_gids(gid_t r, gid_t e, gid_t s) noexcept {
    return raw(::syscall(SYS_setresgid, r, e, s));
}
std::error_code set_thread_uids(uid_t r, uid_t e, uid_t s) noexcept {
    return raw(::syscall(SYS_setresuid, r, e, s));
}

} // namespace

sys_result<thread_credentials> current_thread_credentials() noexcept try {
    thread_credentials c;
    if (::syscall(SYS_getresuid, &c.ruid, &c.euid, &c.suid) != 0 ||
        ::syscall(SYS_getresgid, &c.rgid, &c.egid, &c.sgid) != 0)
        return {{}, std::error_code(errno, std::generic_category())};
    long n = ::syscall(SYS_getgroups, 0, nullptr);
    if (n < 0) return {{}, std::error_code(errno, std::generic_category())};
    c.groups.resize(static_cast<std::size_t>(n));
    n = ::syscall(SYS_getgroups, c.groups.size(), c.groups.data());
    if (n < 0) return {{}, std::error_code(errno, std::generic_category())};
    c.groups.resize(static_cast<std::size_t>(n));
    return {std::move(c), {}};
} catch (const std::bad_alloc&) {
    return {{}, std::make_error_code(std::errc::not_enough_memory)};
}

bool can_change_identity() noexcept {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
    if (::syscall(SYS_capget, &header, data) != 0) return false;
    auto has = [&](int cap) { return (data[cap / 32].effective & (1u << (cap % 32))) != 0; };
    return has(CAP_SETUID) && has(CAP_SETGID);
}

std::error_code assume_identity(uid_t uid, gid_t gid, std::span<const gid_t> groups) noexcept {
    auto saved = current_thread_credentials();
    if (!saved) return saved.error;
    constexpr auto keep_uid = static_cast<uid_t>(-1);
    constexpr auto keep_gid = static_cast<gid_t>(-1);
    if (auto ec = set_thread_groups(groups)) return ec;
    if (auto ec = set_thread_gids(keep_gid, gid, keep_gid)) {
        (void)set_thread_groups(saved.value.groups);
        return ec;
    }
    if (auto ec = set_thread_uids(keep_uid, uid, keep_uid)) {
        (void)set_thread_gids(keep_gid, saved.value.egid, keep_gid);
        (void)set_thread_groups(saved.value.groups);
        return ec;
    }
    return {};
}

std::error_code restore_identity(const thread_credentials& saved) noexcept {
    if (auto ec = set_thread_uids(saved.ruid, saved.euid, saved.suid)) return ec;
    if (auto ec = set_thread_gids(saved.rgid, saved.egid, saved.sgid)) return ec;
    return set_thread_groups(saved.groups);
}

} // namespace npipe::os
