// bench/soak_main.cpp - npipe-soak: a soak and stress run of npipe against private brokers.
//
//   npipe-soak [--quick] [--mib N] [--kills N] [--iterations N] [--rounds N] [--only SCENARIO]
//              [--json FILE]
//
// Scenarios, in this order: footprint (the user-scope broker idle, with 1,000 listening
// instances, with 1,000 connected clients), restart (SIGKILLs of that broker under the 1,000
// instances), held (1,000 connections echoing N MiB, once through a broker kill), flood (uid
// 65534 floods a system-scope broker while root measures its own opens; needs root). Figures
// are reported beside a baseline from the same run and never checked: exit status 0 when every
// scenario ran and lost nothing, 1 when something failed or was lost, 2 for bad usage. Run it
// with `./dev soak`; it is not part of `./dev test`.
#include "soak.hpp"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <sys/resource.h>
#include <unistd.h>

namespace soak {
namespace {

void usage(FILE* to) {
    std::fprintf(to, "usage: npipe-soak [--quick] [--mib N] [--kills N] [--iterations N] [--rounds N]\n"
                     "                  [--only footprint|restart|held|flood] [--json FILE]\n"
                     "  --quick          about a minute: 32 MiB echoed, 500 root iterations, one flood round\n"
                     "  --mib N          MiB the 1,000 held connections echo in all (default 256)\n"
                     "  --kills N        broker SIGKILLs under the listening instances (default 3)\n"
                     "  --iterations N   root's opens per flood or control run (default 2000)\n"
                     "  --rounds N       flood and control runs, interleaved (default 2)\n"
                     "  --only SCENARIO  run one scenario (footprint always runs: it starts the servers)\n"
                     "  --json FILE      also write the figures as JSON\n");
}

options parse(int argc, char** argv) {
    options o;
    std::optional<std::size_t> mib;
    std::optional<int> kills, iterations, rounds;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
            return argv[++i];
        };
        if (a == "--quick") o.quick = true;
        else if (a == "--mib") mib = std::stoul(value());
        else if (a == "--kills") kills = std::stoi(value());
        else if (a == "--iterations") iterations = std::stoi(value());
        else if (a == "--rounds") rounds = std::stoi(value());
        else if (a == "--json") o.json = value();
        else if (a == "--only") o.only = value();
        else throw std::invalid_argument("unknown argument " + a);
    }
    if (o.quick) o.echo_mib = 32, o.root_iterations = 500, o.flood_rounds = 1;
    o.echo_mib = mib.value_or(o.echo_mib);
    o.kills = kills.value_or(o.kills);
    o.root_iterations = iterations.value_or(o.root_iterations);
    o.flood_rounds = rounds.value_or(o.flood_rounds);
    if (o.kills < 0 || o.root_iterations < 1 || o.flood_rounds < 1 || o.echo_mib < 1)
        throw std::invalid_argument("--mib, --iterations and --rounds must be >= 1, --kills >= 0");
    if (!o.only.empty() && o.only != "footprint" && o.only != "restart" && o.only != "held" && o.only != "flood")
        throw std::invalid_argument("--only takes footprint, restart, held or flood");
    return o;
}

/// Runs one part; a failure is reported and the run goes on with the next.
template <class F>
void stage(report& r, const char* name, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        r.problems.push_back(std::string(name) + ": " + e.what());
        progress(std::string(name) + " failed: " + e.what());
    }
}

void user_scope_scenarios(const std::string& root, const options& o, report& r) {
    user_scope us = open_user_scope(root);
    struct closer {
        user_scope& u;
        report& rep;
        ~closer() {
            try {
                close_user_scope(u, rep);
            } catch (const std::exception& e) {
                rep.problems.push_back(std::string("closing the user scope: ") + e.what());
            }
        }
    } guard{us, r};
    progress("footprint, and " + std::to_string(pipe_count) + " servers bringing up " + std::to_string(total_instances) + " instances");
    double registration = run_footprint(us, r);
    if (o.runs("restart") && o.kills > 0) stage(r, "restart", [&] { run_restart(us, o, registration, r); });
    if (o.runs("held")) stage(r, "held connections", [&] { run_held(us, o, r); });
    if (o.runs("restart") && o.runs("held") && o.kills > 0)
        r.notes.push_back("the held connections ran on the instances that had registered again after " +
                          std::to_string(o.kills) + " broker kills");
}

/// Enough descriptors for 1,000 instances and connections in one process (children inherit it).
void raise_descriptor_limit() {
    rlimit l{};
    if (::getrlimit(RLIMIT_NOFILE, &l) == 0 && l.rlim_cur < l.rlim_max) {
        l.rlim_cur = l.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &l);
    }
}

int soak_main(const options& o) {
    auto t0 = clock::now();
    progress("start: " + std::to_string(o.echo_mib) + " MiB to echo, " + std::to_string(o.kills) + " kills, " +
             std::to_string(o.flood_rounds) + " x " + std::to_string(o.root_iterations) + " root opens per flood/control run");
    raise_descriptor_limit();
    cleanup_on_signal();
    char tmpl[] = "/tmp/npipe-soak.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    const std::string root = tmpl;
    register_cleanup_dir(root);
    report r;
    if (o.only != "flood") stage(r, "user scope", [&] { user_scope_scenarios(root, o, r); });
    if (o.runs("flood")) stage(r, "flood", [&] { run_flood(o, r); });
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
    double total = seconds_since(t0);
    print_report(r, o, total);
    if (!o.json.empty()) write_json(o.json, r, o, total);
    return r.problems.empty() ? 0 : 1;
}

} // namespace
} // namespace soak

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--peer") == 0) return soak::run_peer(argc - 2, argv + 2);
    ::signal(SIGPIPE, SIG_IGN);
    soak::options o;
    try {
        if (argc >= 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) {
            soak::usage(stdout);
            return 0;
        }
        o = soak::parse(argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-soak: %s\n", e.what());
        soak::usage(stderr);
        return 2;
    }
    try {
        return soak::soak_main(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-soak: %s\n", e.what());
        return 1;
    }
}
