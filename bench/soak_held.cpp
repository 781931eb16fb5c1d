// bench/soak_held.cpp - scenario 2: 1,000 connections open at once across the pipes echo N MiB
// in messages of 0..64 KiB, every byte and every message size checked; once without a broker
// kill (the baseline), once with a SIGKILL of the broker half-way. Established connections do
// not pass through the broker: nothing may be lost. After the kill the servers, busy until
// their clients leave, register again when they disconnect.
#include "soak.hpp"

#include <cstdio>
#include <stdexcept>

#include <signal.h>

namespace soak {
namespace {

const char* const scenario = "held"; // its title: soak_report.cpp

struct echo_run {
    echo_result result;
    std::optional<double> reregistered_ms; ///< after a kill: from the clients' end to 1,000 again
    log_counts log;                         ///< after a kill: brokers started for the outage
};

/// Reads client `c`'s lines up to "half" (or its end); the others stay for collect_results.
void wait_half(child& c) {
    std::vector<std::string> kept;
    auto deadline = clock::now() + 600s;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        auto line = c.read_line(std::max(left, std::chrono::milliseconds(0)));
        if (!line) throw std::runtime_error("no client reached half-way in time");
        if (*line == "half") break;
        kept.push_back(*line);
        if (line->starts_with("result") || line->starts_with("failed")) break;
    }
    for (auto it = kept.rbegin(); it != kept.rend(); ++it) c.unread(*it);
}

/// After the kill: the servers register when their clients have gone.
void wait_back(user_scope& us, pid_t old_broker, std::uintmax_t log_offset, echo_run& run) {
    auto t0 = clock::now();
    bool back = wait_for([&] {
        auto s = us.status();
        return s && s->pid != old_broker && s->instances >= total_instances;
    }, 60s, 2ms);
    if (back) run.reregistered_ms = seconds_since(t0) * 1e3;
    register_broker(us.status().value_or(npipe::broker_status{}).pid);
    run.log = count_log(us.log, log_offset);
}

echo_run echo_once(user_scope& us, const options& o, bool kill_midway) {
    auto clients = start_clients(us, pipe_count, total_instances, o.echo_mib * 1024 * 1024);
    auto before = us.status();
    if (!before) throw std::runtime_error("no broker before the echo");
    auto offset = log_size(us.log);
    echo_run run;
    for (auto& c : clients) c->send('g');
    if (kill_midway) {
        wait_half(*clients[0]);
        if (::kill(before->pid, SIGKILL) != 0) throw std::system_error(errno, std::generic_category(), "kill the broker");
        if (us.first_broker && us.first_broker->pid() == before->pid) us.first_broker->wait_exit(10s);
    }
    run.result = collect_results(clients, 900s);
    if (kill_midway) wait_back(us, before->pid, offset, run);
    if (!us.wait_all_listening(60s)) throw std::runtime_error("after the echo the instances did not all listen again");
    return run;
}

double mib_per_second(const echo_run& run) {
    return run.result.seconds > 0 ? run.result.verified / (1024.0 * 1024.0) / run.result.seconds : 0;
}

std::string details(const echo_run& run) {
    char b[160];
    std::snprintf(b, sizeof b, "%.0f MiB sent, %.0f corrupt messages, %.0f connection errors", run.result.sent / 1048576,
                  run.result.corrupt, run.result.errors);
    std::string s = b;
    for (const auto& e : run.result.error_texts) s += "; " + e;
    return s;
}

void add_runs(report& r, const echo_run& calm, const echo_run& killed) {
    r.add({scenario, "throughput", "echo throughput, broker SIGKILLed half-way", mib_per_second(killed), "MiB/s",
           mib_per_second(calm), "no kill", "both ways: each byte went out and came back"});
    r.add({scenario, "bytes_lost", "bytes lost, broker SIGKILLed half-way", killed.result.lost, "", calm.result.lost,
           "no kill", details(killed)});
    r.add({scenario, "bytes_lost_calm", "bytes lost, no kill", calm.result.lost, "", {}, "", details(calm)});
    r.add({scenario, "reregistered", "after the kill: 1,000 registered again once the clients left",
           killed.reregistered_ms, "ms", {}, "",
           "npiped started: " + std::to_string(killed.log.starts) + " (+" + std::to_string(killed.log.lost_races) +
               " lost races, " + std::to_string(killed.log.failed) + " failed)"});
    for (const auto* run : {&calm, &killed})
        if (run->result.lost != 0 || run->result.corrupt != 0 || run->result.errors != 0)
            r.problems.push_back("held connections: data lost or connections failed (" + details(*run) + ")");
}

} // namespace

void run_held(user_scope& us, const options& o, report& r) {
    progress("held connections: " + std::to_string(o.echo_mib) + " MiB without a kill");
    echo_run calm = echo_once(us, o, false);
    progress("held connections: " + std::to_string(o.echo_mib) + " MiB with a broker kill half-way");
    echo_run killed = echo_once(us, o, true);
    add_runs(r, calm, killed);
}

} // namespace soak
