// bench/options.cpp - npipe-bench's command line: parsing and usage.
#include "options.hpp"

#include <stdexcept>

namespace bench {

void usage(FILE* to) {
    std::fprintf(to, "usage: npipe-bench [--quick] [--reps N] [--time SECONDS] [--json FILE] [--no-pin]\n"
                     "                   [--only round-trip|throughput|connections|async|servers|smb]\n"
                     "  --quick         3 runs of 0.1 s per case (about 10 s in all)\n"
                     "  --reps N        runs per case (default 5; the median is reported)\n"
                     "  --time SECONDS  length of one run (default 0.5)\n"
                     "  --json FILE     also write the results as JSON\n"
                     "  --no-pin        let the scheduler place round-trip processes (default: both\n"
                     "                  on one CPU, so that cross-CPU wake-ups do not dominate)\n"
                     "  --only SECTION  run one section (to profile it); the others show no number\n"
                     "  (smb: npipe's SMB client and impacket through a private smbd on loopback, beside\n"
                     "  TCP loopback; needs root, samba and python3-impacket, else it says it is skipped)\n");
}

std::optional<int> parse_options(int argc, char** argv, options& o) {
    std::optional<int> reps;
    std::optional<double> secs;
    try {
        for (int i = 1; i < argc; ++i) {
            std::string a = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
                return argv[++i];
            };
            if (a == "--quick") o.quick = true;
            else if (a == "--reps") reps = std::stoi(value());
            else if (a == "--time") secs = std::stod(value());
            else if (a == "--json") o.json = value();
            else if (a == "--no-pin") o.pin = false;
            else if (a == "--only") {
                o.only = value();
                if (o.only != "round-trip" && o.only != "throughput" && o.only != "connections" && o.only != "async" &&
                    o.only != "servers" && o.only != "smb")
                    throw std::invalid_argument("--only takes round-trip, throughput, connections, async, servers or smb");
            }
            else if (a == "-h" || a == "--help") {
                usage(stdout);
                return 0;
            } else throw std::invalid_argument("unknown argument " + a);
        }
        if (o.quick) o.reps = 3, o.run_seconds = 0.1;
        if (reps) o.reps = *reps;
        if (secs) o.run_seconds = *secs;
        if (o.reps < 1 || !(o.run_seconds > 0) || o.run_seconds > 60)
            throw std::invalid_argument("--reps must be >= 1 and --time in (0, 60]");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-bench: %s\n", e.what());
        usage(stderr);
        return 2;
    }
    return std::nullopt;
}

} // namespace bench
