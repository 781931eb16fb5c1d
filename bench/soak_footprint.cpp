// bench/soak_footprint.cpp - scenario 4: what the broker holds (descriptors, VmRSS, Pss) idle,
// with 1,000 listening instances and with 1,000 connected clients; per instance and per
// connection. It also brings the servers up, timing their registration (the restart's baseline).
#include "soak.hpp"

#include <stdexcept>

namespace soak {
namespace {

const char* const scenario = "footprint"; // its title: soak_report.cpp

/// The footprint once the broker's control connections are down to `links` (the instances'
/// links) plus the status query's own.
footprint settled(const user_scope& us, std::uint64_t links) {
    std::optional<npipe::broker_status> s;
    // Measured also when they never come down (a link not yet closed is one descriptor).
    wait_for([&] { return (s = us.status()) && s->control_connections <= links + 1; }, 10s);
    if (!s) throw std::runtime_error("the broker does not answer");
    auto fp = measure_footprint(s->pid);
    if (!fp) throw std::runtime_error("cannot read /proc/" + std::to_string(s->pid));
    return *fp;
}

void add_state(report& r, const std::string& id, const std::string& what, const footprint& now,
               const std::optional<footprint>& before, const std::string& before_label) {
    auto row = [&](const std::string& key, const std::string& label, double v, std::optional<double> b,
                   const std::string& unit) {
        r.add({scenario, id + "_" + key, label + ", " + what, v, unit, b, b ? before_label : "", ""});
    };
    auto descriptors = [](const footprint& f) { return static_cast<double>(f.descriptors); };
    row("descriptors", "descriptors", descriptors(now), before ? std::optional(descriptors(*before)) : std::nullopt, "");
    row("rss_kib", "VmRSS", now.rss_kib, before ? std::optional(before->rss_kib) : std::nullopt, "KiB");
    row("pss_kib", "Pss", now.pss_kib, before ? std::optional(before->pss_kib) : std::nullopt, "KiB");
}

void add_per_unit(report& r, const std::string& id, const std::string& what, const footprint& now,
                  const footprint& before) {
    const double n = total_instances;
    r.add({scenario, id + "_descriptors", "descriptors per " + what,
           (static_cast<double>(now.descriptors) - static_cast<double>(before.descriptors)) / n, "", {}, "", ""});
    r.add({scenario, id + "_rss", "VmRSS per " + what, (now.rss_kib - before.rss_kib) * 1024 / n, "B", {}, "", ""});
    r.add({scenario, id + "_pss", "Pss per " + what, (now.pss_kib - before.pss_kib) * 1024 / n, "B", {}, "", ""});
}

/// The footprint with 1,000 clients connected (they hold their connections meanwhile).
footprint with_clients(user_scope& us, report& r) {
    auto clients = start_clients(us, pipe_count, total_instances, 0);
    if (!wait_for([&] { return us.instances_in(npipe::instance_state::connected) == total_instances; }, 30s))
        r.problems.push_back("footprint: the broker never listed 1,000 connected instances");
    footprint fp = settled(us, total_instances);
    for (auto& c : clients) c->send('g'); // nothing to echo: they close
    collect_results(clients, 60s);
    if (!us.wait_all_listening(60s)) r.problems.push_back("footprint: the instances did not all listen again");
    return fp;
}

} // namespace

double run_footprint(user_scope& us, report& r) {
    footprint idle = settled(us, 0);
    double registration = start_servers(us);
    footprint listening = settled(us, total_instances);
    footprint connected = with_clients(us, r);
    add_state(r, "idle", "idle", idle, std::nullopt, "");
    add_state(r, "listening", "1,000 listening instances", listening, idle, "idle");
    add_state(r, "connected", "1,000 connected clients", connected, listening, "listening");
    add_per_unit(r, "per_instance", "listening instance", listening, idle);
    add_per_unit(r, "per_connection", "connection", connected, listening);
    return registration;
}

} // namespace soak
