// bench/soak_restart.cpp - scenario 1: SIGKILL the user-scope broker under 1,000 instances
// waiting in ConnectNamedPipe. Per kill: the time until the new broker counts all of them again
// (and until they all listen), how many npiped started for the outage (the broker log: every
// start logs "serving user scope", every loser "another broker already serves"), and what a
// CreateFile issued right after the kill gets.
#include "soak.hpp"

#include <cstdio>
#include <functional>
#include <future>
#include <map>
#include <stdexcept>
#include <thread>

#include <signal.h>

#include <npipe/win32.h> // last: its macros

namespace soak {
namespace {

const char* const scenario = "restart"; // its title: soak_report.cpp

struct probe {
    double ms = 0;
    int error = 0; ///< GetLastError, 0 when the open succeeded
};

/// CreateFile + CloseHandle through the Win32 API, as a client would.
probe open_once(const std::string& name) {
    auto t0 = clock::now();
    HANDLE h = CreateFileA(name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
    probe p{seconds_since(t0) * 1e3, h == INVALID_HANDLE_VALUE ? static_cast<int>(GetLastError()) : 0};
    if (h != INVALID_HANDLE_VALUE) CloseHandle(h);
    return p;
}

std::string answer_name(int error) { return error ? npipe::win32_error_name(error) : std::string("success"); }

/// CreateFile from the kill on, every 5 ms, until one succeeds (or 60 s pass).
struct outage_opens {
    probe right_after;                      ///< the first, issued right after the kill
    std::optional<double> first_success_ms; ///< from the kill
    std::map<std::string, int> answers;     ///< of every attempt up to that one
};

outage_opens open_through_outage(const std::string& name, clock::time_point killed) {
    outage_opens o;
    for (probe p = o.right_after = open_once(name);; p = open_once(name)) {
        ++o.answers[answer_name(p.error)];
        if (p.error == 0) {
            o.first_success_ms = seconds_since(killed) * 1e3;
            break;
        }
        if (seconds_since(killed) > 60) break;
        std::this_thread::sleep_for(5ms); // the pace of a client trying again
    }
    return o;
}

struct outage {
    double registered_ms = 0, listening_ms = 0;
    log_counts log;
    outage_opens opens;
    std::size_t brokers_after = 0;
};

outage kill_once(user_scope& us) {
    auto before = us.status();
    if (!before || before->instances != total_instances) throw std::runtime_error("not 1,000 instances before the kill");
    auto offset = log_size(us.log);
    outage o;
    if (::kill(before->pid, SIGKILL) != 0) throw std::system_error(errno, std::generic_category(), "kill the broker");
    auto t0 = clock::now();
    auto client = std::async(std::launch::async, [&] { return open_through_outage(us.names[0], t0); });
    if (us.first_broker && us.first_broker->pid() == before->pid) us.first_broker->wait_exit(10s);
    bool back = wait_for([&] {
        auto s = us.status();
        return s && s->pid != before->pid && s->instances >= total_instances;
    }, 60s, 2ms);
    o.registered_ms = seconds_since(t0) * 1e3;
    bool listening = back && us.wait_all_listening(60s, 2ms);
    o.listening_ms = seconds_since(t0) * 1e3;
    o.opens = client.get(); // bounded: 60 s
    if (!back || !listening) {
        throw std::runtime_error(std::string("after the kill the instances were not ") +
                                 (back ? "all listening within 60 s" : "registered again within 60 s"));
    }
    register_broker(us.status().value_or(npipe::broker_status{}).pid);
    o.log = count_log(us.log, offset);
    o.brokers_after = brokers_serving(us.dir).size();
    return o;
}

std::string list_of(const std::vector<outage>& v, const std::function<std::string(const outage&)>& f) {
    std::string s;
    for (const auto& o : v) s += (s.empty() ? "" : ", ") + f(o);
    return s;
}

void add_times(report& r, const std::vector<double>& ms, const std::string& id, const std::string& what,
               std::optional<double> baseline, const std::string& baseline_label) {
    std::optional<double> b = baseline;
    r.add({scenario, id + "_min", what + ", min", minimum(ms), "ms", b, b ? baseline_label : "", ""});
    r.add({scenario, id + "_median", what + ", median", median(ms), "ms", b, b ? baseline_label : "", ""});
    r.add({scenario, id + "_max", what + ", max", maximum(ms), "ms", b, b ? baseline_label : "", ""});
}

void add_opens(report& r, const std::vector<outage>& v, const std::vector<double>& alive) {
    std::vector<double> first_ms, success_ms;
    std::map<std::string, int> first_answers, all_answers;
    for (const auto& o : v) {
        first_ms.push_back(o.opens.right_after.ms);
        ++first_answers[answer_name(o.opens.right_after.error)];
        if (o.opens.first_success_ms) success_ms.push_back(*o.opens.first_success_ms);
        for (const auto& [name, n] : o.opens.answers) all_answers[name] += n;
    }
    auto text = [](const std::map<std::string, int>& m) {
        std::string s;
        for (const auto& [name, n] : m) s += (s.empty() ? "" : ", ") + name + " x" + std::to_string(n);
        return s;
    };
    r.add({scenario, "create_file_after_kill_median", "CreateFile right after the kill, median", median(first_ms), "ms",
           median(alive), "broker alive", "answers: " + text(first_answers)});
    r.add({scenario, "create_file_after_kill_max", "CreateFile right after the kill, max", maximum(first_ms), "ms",
           maximum(alive), "broker alive", ""});
    r.add({scenario, "first_open_median", "first CreateFile that succeeds, from the kill, median", median(success_ms),
           "ms", {}, "", "every 5 ms until then: " + text(all_answers)});
    if (success_ms.size() != v.size()) r.problems.push_back("restart: a client could not open the pipe within 60 s of a kill");
}

void add_outages(report& r, const std::vector<outage>& v, double registration_seconds, const std::vector<double>& alive) {
    std::vector<double> registered, listening, starts;
    for (const auto& o : v) {
        registered.push_back(o.registered_ms);
        listening.push_back(o.listening_ms);
        starts.push_back(o.log.all());
    }
    add_times(r, registered, "registered", "all 1,000 registered again (broker status)", registration_seconds * 1e3,
              "first registration");
    add_times(r, listening, "listening", "all 1,000 listening again (list)", std::nullopt, "");
    r.add({scenario, "npiped_started_max", "npiped started per outage, max", maximum(starts), "", 1.0, "one",
           "per kill: " + list_of(v, [](const outage& o) {
               return std::to_string(o.log.starts) + " serving/" + std::to_string(o.log.lost_races) + " lost races/" +
                      std::to_string(o.log.failed) + " failed";
           }) + "; npiped running afterwards: " + list_of(v, [](const outage& o) { return std::to_string(o.brokers_after); })});
    add_opens(r, v, alive);
}

} // namespace

void run_restart(user_scope& us, const options& o, double registration_seconds, report& r) {
    std::vector<double> alive; // CreateFile latency with the broker running: the probe's baseline
    for (int i = 0; i < 20; ++i) {
        auto p = open_once(us.names[0]);
        if (p.error == 0) alive.push_back(p.ms);
    }
    std::vector<outage> outages;
    for (int k = 0; k < o.kills; ++k) {
        if (!us.wait_all_listening(30s)) throw std::runtime_error("the instances are not all listening before a kill");
        outages.push_back(kill_once(us));
        progress("restart " + std::to_string(k + 1) + "/" + std::to_string(o.kills) + ": registered again in " +
                 std::to_string(static_cast<long>(outages.back().registered_ms)) + " ms");
    }
    add_outages(r, outages, registration_seconds, alive);
}

} // namespace soak
