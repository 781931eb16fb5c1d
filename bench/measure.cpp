// bench/measure.cpp - the driver's side of every case (see measure.hpp).
#include "measure.hpp"

#include <algorithm>
#include <cstdio>

namespace bench {
namespace {

/// The CPU a pinned round trip runs on: the last one `set` allows (-1 if none).
int last_cpu(const cpu_set_t& set) {
    int cpu = -1;
    for (int i = 0; i < CPU_SETSIZE; ++i)
        if (CPU_ISSET(i, &set)) cpu = i;
    return cpu;
}

} // namespace

std::optional<double> series::median() const {
    if (samples.empty()) return std::nullopt;
    auto s = samples;
    std::sort(s.begin(), s.end());
    std::size_t n = s.size();
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

void run_section(const char* title, std::vector<variant> variants, const options& o) {
    std::fprintf(stderr, "npipe-bench: %s (%d x %zu runs of ~%.2g s)\n", title, o.reps, variants.size(),
                 o.run_seconds);
    for (int rep = 0; rep < o.reps; ++rep) {
        if (rep % 2) std::reverse(variants.begin(), variants.end());
        for (auto& v : variants) {
            try {
                v.into->samples.push_back(v.run());
            } catch (const std::exception& e) {
                v.into->errors.push_back(e.what());
                std::fprintf(stderr, "npipe-bench: %s, run %d failed: %s\n", v.what.c_str(), rep + 1, e.what());
            }
        }
        if (rep % 2) std::reverse(variants.begin(), variants.end());
    }
}

std::vector<std::byte> request(std::byte marker) {
    std::vector<std::byte> b(small_message, std::byte{0x61});
    b[0] = marker;
    return b;
}

pinned::pinned(bool enable) {
    if (!enable || ::sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    int cpu = last_cpu(saved_);
    if (cpu < 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    active_ = ::sched_setaffinity(0, sizeof one, &one) == 0;
}

pinned::~pinned() {
    if (active_) ::sched_setaffinity(0, sizeof saved_, &saved_);
}

int pin_cpu(const options& o) {
    cpu_set_t set;
    if (!o.pin || ::sched_getaffinity(0, sizeof set, &set) != 0) return -1;
    return last_cpu(set);
}

} // namespace bench
