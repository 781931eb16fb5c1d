// bench/soak_flood.cpp - scenario 3: processes of uid 65534 flood a private system-scope broker
// (instances up to their quota and more, raw connections to its socket, opens of a pipe they may
// not open) while root loops CreateFile + one 64-byte round trip + CloseHandle against its own
// echo server. The control: as many processes of the same uid that only burn CPU. Control and
// flood runs interleave; the figure is root's latency under each.
#include "soak.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include <sys/stat.h>
#include <unistd.h>

namespace soak {
namespace {

const char* const scenario = "flood"; // its title: soak_report.cpp
constexpr int root_instances = 4;

struct system_scope {
    std::string dir, name;
    npipe::endpoint ep;
    std::unique_ptr<child> broker, echo;
};

/// A root-owned 0755 directory of its own under /tmp (uid 65534 must reach the socket), its
/// broker and root's echo server.
void open_system_scope(system_scope& ss) {
    char tmpl[] = "/tmp/npipe-soak-system.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    ss.dir = tmpl;
    register_cleanup_dir(ss.dir);
    ::chmod(ss.dir.c_str(), 0755);
    ss.ep.scope = npipe::scope::system;
    ss.ep.runtime_dir = ss.dir;
    ss.name = "\\\\.\\pipe\\soak-root";
    ss.broker = std::make_unique<child>(
        npiped_program(), std::vector<std::string>{"--system", "--runtime-dir", ss.dir, "--idle-exit", "60", "--log-file",
                                                   ss.dir + "/npiped.log"});
    if (!wait_for([&] { std::error_code ec; npipe::get_broker_status(ss.ep, ec); return !ec; }, 20s))
        throw std::runtime_error("the system-scope broker did not start");
    ss.echo = std::make_unique<child>(std::vector<std::string>{"sys-echo", ss.dir, ss.name, std::to_string(root_instances)});
    ss.echo->expect("ready", 30s);
}

void close_system_scope(system_scope& ss) {
    ss.echo.reset();
    std::error_code ec;
    npipe::stop_broker(ss.ep, ec);
    if (ss.broker) ss.broker->wait_exit(10s);
    std::filesystem::remove_all(ss.dir, ec);
}

std::string ms_text(std::optional<double> v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.2f", v.value_or(0));
    return b;
}

struct latencies {
    std::vector<double> ms;      ///< CreateFile + round trip + CloseHandle
    std::vector<double> open_ms; ///< CreateFile alone
    unsigned long busy = 0, refused = 0;
    std::string first_refusal;
};

/// One CreateFile + round trip + CloseHandle; false when root was refused. `opened` is when
/// CreateFile returned.
bool root_once(const system_scope& ss, latencies& l, clock::time_point& opened) {
    npipe::client_options co;
    co.endpoint = ss.ep;
    std::error_code ec;
    for (auto deadline = clock::now() + 10s;;) {
        auto c = npipe::client::open(ss.name, co, ec);
        if (!ec) {
            opened = clock::now();
            std::array<std::byte, bench::small_message> buf{};
            buf.fill(std::byte{0x61});
            bench::write_all(c, buf);
            if (bench::read_exact(c, buf) != buf.size()) throw std::runtime_error("root's echo server went away");
            return true;
        }
        if (ec != npipe::win32_error::pipe_busy || clock::now() > deadline) break;
        ++l.busy; // every instance busy: wait as a Win32 client would
        npipe::wait_named_pipe(ss.name, 5s, ss.ep, ec);
    }
    if (l.refused++ == 0) l.first_refusal = npipe::win32_error_name(ec.value());
    return false;
}

latencies root_loop(const system_scope& ss, int iterations) {
    latencies l;
    for (int i = -50; i < iterations; ++i) { // 50 to warm up, not counted
        auto t0 = clock::now();
        clock::time_point opened;
        bool ok = root_once(ss, l, opened);
        if (!ok || i < 0) continue;
        l.ms.push_back(seconds_since(t0) * 1e3);
        l.open_ms.push_back(std::chrono::duration<double, std::milli>(opened - t0).count());
    }
    return l;
}

struct flood_counts {
    double held_at_quota = 0, last_held = 0, creates = 0, creates_refused = 0, connects = 0, connects_refused = 0, opens = 0,
           opens_denied = 0, opened = 0;
    std::string quota_error;
    std::vector<double> release_ms; ///< from the flood's end until the broker held only root's again
};

/// The processes of one run, all uid 65534: the flood's four, or as many burning CPU.
struct crowd {
    std::vector<std::vector<std::string>> roles;
    children peers;
};

/// Starts the processes; the flood's creator first, so that the others flood a broker that
/// already holds its quota of instances. Returns once every one is at work.
crowd start_crowd(const system_scope& ss, bool flood, flood_counts& fc) {
    crowd c;
    c.roles = {{"flood-create", ss.dir}, {"flood-connect", ss.dir}, {"flood-connect", ss.dir}, {"flood-open", ss.dir, ss.name}};
    if (!flood) c.roles.assign(c.roles.size(), {"burn"});
    for (std::size_t i = 0; i < c.roles.size(); ++i) {
        c.peers.push_back(std::make_unique<child>(c.roles[i]));
        if (c.roles[i][0] != "flood-create") continue;
        auto line = c.peers[i]->expect("ready", 120s); // at its quota
        fc.last_held = field_of(line, "held").value_or(0);
        fc.held_at_quota = std::max(fc.held_at_quota, fc.last_held);
        if (auto at = line.find("stopped_by="); at != std::string::npos) fc.quota_error = line.substr(at + 11);
    }
    for (std::size_t i = 0; i < c.peers.size(); ++i)
        if (c.roles[i][0] != "flood-create") c.peers[i]->expect("ready", 30s);
    return c;
}

void stop_crowd(crowd& c, flood_counts& fc) {
    for (auto& p : c.peers) p->send('q');
    for (std::size_t i = 0; i < c.peers.size(); ++i) {
        auto line = c.peers[i]->expect("result", 30s);
        auto f = [&](const char* key) { return field_of(line, key).value_or(0); };
        const auto& role = c.roles[i][0];
        if (role == "flood-create") {
            fc.creates += f("attempts");
            fc.creates_refused += f("refused");
        } else if (role == "flood-connect") {
            fc.connects += f("connects");
            fc.connects_refused += f("refused");
        } else if (role == "flood-open") {
            fc.opens += f("attempts");
            fc.opens_denied += f("denied");
            fc.opened += f("opened");
        }
        c.peers[i]->wait_exit(10s);
    }
}

latencies one_run(const system_scope& ss, const options& o, bool flood, flood_counts& fc, report& r) {
    auto t0 = clock::now();
    crowd c = start_crowd(ss, flood, fc);
    progress(std::string(flood ? "flood" : "control") + " at work after " + ms_text(seconds_since(t0)) + " s" +
             (flood ? " (uid 65534 holds " + std::to_string(static_cast<long>(fc.last_held)) + " instances)" : ""));
    latencies l = root_loop(ss, o.root_iterations);
    stop_crowd(c, fc);
    auto stopped = clock::now();
    // The broker lets go of the flood's instances and connections before the next run.
    bool clean = wait_for([&] {
        std::error_code ec;
        auto s = npipe::get_broker_status(ss.ep, ec);
        return !ec && s.instances == root_instances && s.control_connections <= root_instances + 1;
    }, 60s);
    if (!clean) r.problems.push_back("flood: the broker still held the flood's instances or connections 60 s after it ended");
    if (flood && clean) fc.release_ms.push_back(seconds_since(stopped) * 1e3);
    progress("root: p50 " + ms_text(percentile(l.ms, 50)) + " ms, p99 " + ms_text(percentile(l.ms, 99)) + " ms");
    return l;
}

std::vector<double> pooled(const std::vector<latencies>& runs, std::vector<double> latencies::*which) {
    std::vector<double> all;
    for (const auto& l : runs) all.insert(all.end(), (l.*which).begin(), (l.*which).end());
    return all;
}

void add_percentiles(report& r, const std::vector<latencies>& control, const std::vector<latencies>& flood) {
    auto c = pooled(control, &latencies::ms), f = pooled(flood, &latencies::ms);
    const std::string runs = (flood.size() == 1 ? std::string("1 run of each, control first, ")
                                                : std::to_string(flood.size()) + " runs of each, interleaved, ") +
                             std::to_string(f.size()) + " + " + std::to_string(c.size()) + " samples";
    r.add({scenario, "p50", "p50, flood", percentile(f, 50), "ms", percentile(c, 50), "control", runs});
    r.add({scenario, "p99", "p99, flood", percentile(f, 99), "ms", percentile(c, 99), "control",
           "issue 14 wants this ratio <= 2"});
    r.add({scenario, "max", "max, flood", maximum(f), "ms", maximum(c), "control", ""});
    auto co = pooled(control, &latencies::open_ms), fo = pooled(flood, &latencies::open_ms);
    r.add({scenario, "open_p50", "of which CreateFile, p50, flood", percentile(fo, 50), "ms", percentile(co, 50),
           "control", "the round trip and CloseHandle do not involve the broker"});
    r.add({scenario, "open_p99", "of which CreateFile, p99, flood", percentile(fo, 99), "ms", percentile(co, 99),
           "control", ""});
    for (std::size_t k = 0; k < flood.size() && k < control.size(); ++k)
        r.add({scenario, "p99_run" + std::to_string(k + 1), "p99, flood run " + std::to_string(k + 1),
               percentile(flood[k].ms, 99), "ms", percentile(control[k].ms, 99), "control run " + std::to_string(k + 1),
               "p50 " + ms_text(percentile(flood[k].ms, 50)) + " / " + ms_text(percentile(control[k].ms, 50)) + " ms"});
}

void add_refusals(report& r, const std::vector<latencies>& control, const std::vector<latencies>& flood) {
    unsigned long refused = 0, busy = 0;
    std::string why;
    for (const auto* set : {&control, &flood})
        for (const auto& l : *set) {
            refused += l.refused;
            busy += l.busy;
            why += l.first_refusal;
        }
    r.add({scenario, "root_refused", "root's opens refused", static_cast<double>(refused), "", {}, "",
           (why.empty() ? "" : "first: " + why + "; ") + std::to_string(busy) + " found every instance busy and waited"});
    if (refused) r.problems.push_back("flood: root was refused " + std::to_string(refused) + " times (" + why + ")");
}

void add_flood_counts(report& r, const flood_counts& fc) {
    r.add({scenario, "quota", "instances uid 65534 created before the broker refused", fc.held_at_quota, "", {}, "",
           "refused with " + fc.quota_error});
    r.add({scenario, "release", "the broker back to root's alone after the flood's end, max", maximum(fc.release_ms),
           "ms", {}, "", "instances and connections, after the flood processes exited"});
    r.add({scenario, "creates", "creates beyond the quota (all runs)", fc.creates, "", {}, "",
           std::to_string(static_cast<long long>(fc.creates_refused)) + " refused"});
    r.add({scenario, "raw_connections", "raw connections to the broker socket", fc.connects, "", {}, "",
           std::to_string(static_cast<long long>(fc.connects_refused)) + " failed"});
    r.add({scenario, "denied_opens", "opens of root's pipe", fc.opens, "", {}, "",
           std::to_string(static_cast<long long>(fc.opens_denied)) + " denied, " +
               std::to_string(static_cast<long long>(fc.opened)) + " opened"});
    if (fc.opened) r.problems.push_back("flood: uid 65534 opened root's pipe");
}

} // namespace

void run_flood(const options& o, report& r) {
    if (::geteuid() != 0) {
        std::printf("flood: skipped: needs root\n");
        r.add({scenario, "skipped", "flood and control", std::nullopt, "", {}, "", "skipped: needs root"});
        return;
    }
    system_scope ss;
    struct closer {
        system_scope& s;
        ~closer() { close_system_scope(s); }
    } guard{ss};
    open_system_scope(ss);
    std::vector<latencies> control, flood;
    flood_counts fc;
    for (int k = 0; k < o.flood_rounds; ++k) {
        progress("flood: control run " + std::to_string(k + 1) + "/" + std::to_string(o.flood_rounds));
        control.push_back(one_run(ss, o, false, fc, r));
        progress("flood: flood run " + std::to_string(k + 1) + "/" + std::to_string(o.flood_rounds));
        flood.push_back(one_run(ss, o, true, fc, r));
    }
    add_percentiles(r, control, flood);
    add_refusals(r, control, flood);
    add_flood_counts(r, fc);
}

} // namespace soak
