#include "os/cpu.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <memory>
#include <sched.h>
#include <string>
#include <unistd.h>

namespace npipe::os {
namespace {

std::error_code last_errno() noexcept { return {errno, std::generic_category()}; }

/// A kernel CPU list ("0-3,8,10-11") as a mask of the CPUs below 64.
std::uint64_t parse_cpu_list(const char* text) noexcept {
    std::uint64_t mask = 0;
    const char* p = text;
    while (*p >= '0' && *p <= '9') {
        char* end = nullptr;
        unsigned long first = std::strtoul(p, &end, 10);
        unsigned long last = first;
        if (*end == '-') last = std::strtoul(end + 1, &end, 10);
        for (unsigned long cpu = first; cpu <= last && cpu < 64; ++cpu) mask |= std::uint64_t{1} << cpu;
        p = *end == ',' ? end + 1 : end;
    }
    return mask;
}

sys_result<std::vector<pid_t>> threads_of(pid_t pid) {
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
    if (!d) return {{}, errno == ENOENT ? std::make_error_code(std::errc::no_such_process) : last_errno()};
    std::vector<pid_t> tids;
    while (dirent* e = ::readdir(d.get()))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') tids.push_back(static_cast<pid_t>(std::atoi(e->d_name)));
    return {std::move(tids), {}};
}

} // namespace

sys_result<std::uint64_t> online_cpus() noexcept {
    auto opened = open_path("/sys/devices/system/cpu/online", O_RDONLY, 0);
    if (opened) {
        char text[1024] = {};
        auto n = sys_call([&] { return ::read(opened.value.get(), text, sizeof text - 1); });
        if (n && n.value > 0) {
            if (std::uint64_t mask = parse_cpu_list(text)) return {mask, {}};
        }
    }
    return thread_affinity(0);
}

sys_result<std::uint64_t> thread_affinity(pid_t tid) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    auto r = sys_call([&] { return ::sched_getaffinity(tid, sizeof set, &set); });
    if (!r) return {0, r.error};
    std::uint64_t mask = 0;
    for (unsigned cpu = 0; cpu < 64; ++cpu)
        if (CPU_ISSET(cpu, &set)) mask |= std::uint64_t{1} << cpu;
    return {mask, {}};
}

std::error_code set_process_affinity(pid_t pid, std::uint64_t mask) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (unsigned cpu = 0; cpu < 64; ++cpu)
        if (mask & (std::uint64_t{1} << cpu)) CPU_SET(cpu, &set);
    // A thread started while we go through the list may have copied its creator's old mask:
    // list again until a pass finds no thread we have not set (bounded: a program that starts
    // threads without end is not waited for).
    std::vector<pid_t> done;
    for (int pass = 0; pass < 8; ++pass) {
        auto tids = threads_of(pid);
        if (!tids) return tids.error;
        bool fresh = false;
        for (pid_t tid : tids.value) {
            if (std::find(done.begin(), done.end(), tid) != done.end()) continue;
            fresh = true;
            auto r = sys_call([&] { return ::sched_setaffinity(tid, sizeof set, &set); });
            if (!r && r.error != std::errc::no_such_process) return r.error; // ESRCH: it just ended
            done.push_back(tid);
        }
        if (!fresh) break;
    }
    return {};
}

} // namespace npipe::os
