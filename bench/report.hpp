// bench/report.hpp - what npipe-bench reports: the table's rows (a case beside its baseline and
// target), the figures printed below the table, and the same as JSON.
#pragma once

#include "measure.hpp"
#include "options.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace bench {

enum class unit { microseconds, mib_per_second, per_second };

struct target {
    bool at_most; // ratio must be <= value (latency) instead of >= value
    double value;
};

/// One line of the table: npipe's case against its baseline.
struct row {
    std::string id, label;
    unit u;
    const series* npipe;
    const series* baseline;
    std::string baseline_name;
    std::optional<target> goal;
    bool skipped = false; // its section could not run here (the reason is printed below the table)

    /// The --only section the row belongs to.
    std::string_view section() const {
        if (id.starts_with("round_trip")) return "round-trip";
        if (id.starts_with("throughput")) return "throughput";
        if (id.starts_with("async")) return "async";
        if (id.starts_with("servers")) return "servers";
        if (id.starts_with("smb")) return "smb";
        return "connections";
    }
};

/// The broker's CPU time while the throughput cases moved their bytes.
struct broker_cpu {
    bool measured = false;
    pid_t pid = 0;
    double mib = 0;
    double ms = 0;
    unsigned connections = 0;
    std::string note;
};

/// The npipe connection case's connections, and how many of its opens found the instance busy.
struct connection_counts {
    unsigned connections = 0, busy = 0;
};

/// The server threads seen in any run, by server.
struct server_threads {
    long blocking = -1, overlapped = -1, port = -1;
};

/// The SMB section: why it was skipped, or the medians the table's rows do not show.
struct smb_summary {
    std::string skipped;
    bool ran = false;
    std::optional<double> rt_impacket, rt_tcp, echo_impacket, echo_tcp;
};

/// What is printed below the table.
struct side_figures {
    broker_cpu cpu;
    server_threads threads;
    series scale_broker_us[4]; // the broker's CPU per connection, scaling case, 1/2/4/8 clients
    connection_counts np_conn;
    smb_summary smb;
};

void print_table(const std::vector<row>& rows, const options& o);
void print_side_figures(const side_figures& f, const options& o);
/// Writes the rows and the figures as JSON; throws when the file cannot be written.
void write_json(const std::string& file, const std::vector<row>& rows, const side_figures& f, const options& o);

} // namespace bench
