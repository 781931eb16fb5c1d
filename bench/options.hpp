// bench/options.hpp - npipe-bench's command line.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace bench {

struct options {
    bool quick = false;
    bool pin = true; // round trips: both processes on one CPU
    int reps = 5;
    double run_seconds = 0.5;
    std::string json;
    std::string only; // one section (round-trip, throughput, connections, async, servers, smb); empty: all

    bool runs(std::string_view section) const { return only.empty() || only == section; }
};

/// Parses the command line (argv[0] is the program) into `o`. Returns the exit status when the
/// program ends here: 0 after --help, 2 for bad usage (said on stderr); nothing when it runs.
std::optional<int> parse_options(int argc, char** argv, options& o);

void usage(FILE* to);

} // namespace bench
