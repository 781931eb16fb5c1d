// bench/measure.hpp - the driver's side of every case: a case's runs (series), running a
// section's variants interleaved, a watchdog on each run, and pinning round trips to one CPU.
#pragma once

#include "common.hpp"
#include "options.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sched.h>

namespace bench {

/// One case's runs: a value per run that produced one, an error per run that failed.
struct series {
    std::vector<double> samples;
    std::vector<std::string> errors;

    std::optional<double> median() const;
};

/// One case of a section: where its runs go, its name in messages, one run.
struct variant {
    series* into;
    std::string what;
    std::function<double()> run;
};

/// Runs every variant o.reps times, interleaved; the order flips on every repetition.
void run_section(const char* title, std::vector<variant> variants, const options& o);

inline std::chrono::milliseconds watchdog_limit(const options& o) {
    return std::chrono::milliseconds(static_cast<long>(o.run_seconds * 1000) + 20000);
}

/// Runs f with a watchdog on p; a stuck run fails with "timed out" instead of hanging.
template <class F>
double guarded(peer& p, const options& o, F&& f) {
    watchdog wd(p, watchdog_limit(o));
    try {
        return f();
    } catch (const std::exception& e) {
        if (wd.fired()) throw std::runtime_error(std::string("timed out (peer killed): ") + e.what());
        throw;
    }
}

/// A 64-byte request whose first byte is `marker` (plain_marker, or quit_marker to end a peer).
std::vector<std::byte> request(std::byte marker);

/// Connections per second: `once` (one connection sending `req`) looped for the run's time, then
/// once more with the quit marker, which ends the peer.
template <class F>
double per_second_then_quit(const options& o, std::vector<std::byte>& req, F&& once) {
    double per = time_loop(o.run_seconds, 20, once);
    req = request(quit_marker);
    once();
    return 1.0 / per;
}

/// Pins the calling thread (and so the peers it starts, which inherit the mask) to one CPU for
/// its lifetime. On a VM a wake-up across CPUs costs tens of microseconds, more than what is
/// being measured, and which placement a run gets is a lottery; on one CPU both sides of a
/// round trip pay the same plain context switch.
class pinned {
public:
    explicit pinned(bool enable);
    pinned(const pinned&) = delete;
    pinned& operator=(const pinned&) = delete;
    ~pinned();

private:
    cpu_set_t saved_{};
    bool active_ = false;
};

/// The CPU round trips are pinned to, for the report (-1: not pinned).
int pin_cpu(const options& o);

} // namespace bench
