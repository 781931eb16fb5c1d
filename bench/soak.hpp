// bench/soak.hpp - npipe-soak: what the scenarios share.
//
// npipe-soak stresses a private user-scope broker (restarts under 1,000 listening instances,
// 1,000 held connections echoing through a broker kill, the broker's footprint) and a private
// system-scope broker (a flood from another uid against a CPU-burning control). Every peer is
// this binary re-executed as `--peer ROLE ARGS...` (soak_peers.cpp, soak_flood_peers.cpp): it
// writes lines to its status descriptor (3) and reads one-byte commands from its command
// descriptor (4); end of file there means the driver has gone. Figures are numbers beside a
// baseline from the same run, never assertions.
#pragma once

#include "common.hpp"

#include <npipe/namespace.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace soak {

using bench::clock;
using bench::seconds_since;
using namespace std::chrono_literals;

struct options {
    bool quick = false;
    std::size_t echo_mib = 256; ///< bytes the held connections echo, in all
    int kills = 3;              ///< broker kills under the listening instances
    int root_iterations = 2000; ///< root's open + round trip + close, per flood or control run
    int flood_rounds = 2;       ///< flood and control runs, interleaved
    std::string json;
    std::string only; ///< one scenario (footprint, restart, held, flood); empty: all

    bool runs(const std::string& scenario) const { return only.empty() || only == scenario; }
};

// ---- the layout of the user-scope scenarios ----------------------------------------------

constexpr int pipe_count = 4;
constexpr int instances_per_pipe = 250; ///< of at most 255
constexpr int total_instances = pipe_count * instances_per_pipe;
constexpr std::size_t max_message = 64 * 1024;
constexpr uid_t nobody = 65534;

// ---- results ------------------------------------------------------------------------------

/// One number of the report, beside the baseline it is read against (if any).
struct figure {
    std::string scenario, id, label;
    std::optional<double> value;
    std::string unit;
    std::optional<double> baseline;
    std::string baseline_label;
    std::string note;

    std::optional<double> ratio() const {
        if (!value || !baseline || *baseline == 0) return std::nullopt;
        return *value / *baseline;
    }
};

struct report {
    std::vector<figure> figures;
    std::vector<std::string> notes; ///< free text under the table (errors, skipped parts)
    std::vector<std::string> problems; ///< what went wrong (the exit status is 1 when any)

    figure& add(figure f) { return figures.emplace_back(std::move(f)); }
};

void print_report(const report& r, const options& o, double total_seconds);
void write_json(const std::string& file, const report& r, const options& o, double total_seconds);

// Statistics over samples (seconds or any unit); nullopt when there are none.
std::optional<double> percentile(std::vector<double> samples, double p);
std::optional<double> median(const std::vector<double>& samples);
std::optional<double> maximum(const std::vector<double>& samples);
std::optional<double> minimum(const std::vector<double>& samples);

// ---- peer processes (the driver's side) ---------------------------------------------------

/// This binary re-executed as `--peer ROLE ARGS...`. Killed and reaped when destroyed; while
/// it runs its pid is in the registry that Ctrl-C empties (cleanup_on_signal).
class child {
public:
    explicit child(const std::vector<std::string>& args);
    /// Another program (the broker), with the same registration and status descriptors.
    child(const std::string& program, const std::vector<std::string>& args);
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    ~child();

    /// The next status line, without its newline; nullopt when none came within `timeout`.
    /// Throws when the peer closed its status descriptor (it exited).
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    /// The next status line, which must start with `prefix`; throws otherwise or on timeout.
    std::string expect(const std::string& prefix, std::chrono::milliseconds timeout);
    /// Puts a line back: the next read_line returns it first.
    void unread(const std::string& line) { buffered_.insert(0, line + "\n"); }
    /// Sends a one-byte command (ignored when the peer has gone).
    void send(char command) noexcept;
    /// Waits for the exit (SIGKILL after `timeout`); the exit status or 128+signal.
    int wait_exit(std::chrono::milliseconds timeout);
    void kill(int sig = 9) noexcept;
    pid_t pid() const noexcept { return pid_; }
    /// The status descriptor, to poll many children at once.
    int status_descriptor() const noexcept { return status_; }

private:
    void start(const std::string& program, const std::vector<std::string>& argv);
    pid_t pid_ = -1;
    int status_ = -1;  // read end: lines from the peer
    int command_ = -1; // write end: commands to the peer
    std::string buffered_;
};

using children = std::vector<std::unique_ptr<child>>;

/// Blocks SIGINT, SIGTERM and SIGHUP and starts a thread that, on one of them, kills every
/// registered child and broker, removes `cleanup_dirs` and exits with 130. Call first, from
/// the main thread, before any other thread exists.
void cleanup_on_signal();
void register_cleanup_dir(const std::string& dir);
/// A broker pid to SIGKILL on Ctrl-C (a user-scope broker is not our child); 0 forgets it.
void register_broker(pid_t pid);

// ---- the peer's side ----------------------------------------------------------------------

/// A status line to the driver (thread-safe).
void status_line(const std::string& line);
/// Waits up to `timeout` for a command; 'q' on end of file (the driver has gone), 0 on timeout.
char wait_command(std::chrono::milliseconds timeout);
/// Whether a command (or end of file) is waiting, without blocking.
bool command_pending();
/// setgroups(0), setresgid/setresuid to `uid`; then dies with the driver. Throws on failure.
void become(uid_t uid);
/// Dies with the driver (PR_SET_PDEATHSIG); exits at once if the driver is already gone.
void die_with_driver();

/// The number after " KEY=" in a status line; nullopt when it is not there.
std::optional<double> field_of(const std::string& line, const std::string& key);

int run_peer(int argc, char** argv);
int run_flood_peer(const std::string& role, const std::vector<std::string>& args);

// ---- the broker as /proc shows it -----------------------------------------------------------

struct footprint {
    std::size_t descriptors = 0;
    double rss_kib = 0, pss_kib = 0;
};
std::optional<footprint> measure_footprint(pid_t pid);
/// Pids of running npiped processes whose command line names `runtime_dir`.
std::vector<pid_t> brokers_serving(const std::string& runtime_dir);
/// npiped beside this program (build/bin), unless NPIPE_BROKER names another.
std::string npiped_program();
/// A progress line on stderr, with the seconds since the run began.
void progress(const std::string& line);
/// Polls `condition` (pauses growing from 1 ms to `max_pause`) until it holds or `limit` passes.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit,
              std::chrono::milliseconds max_pause = 20ms);

// ---- the user-scope stage ---------------------------------------------------------------------

/// A private user-scope runtime directory, its broker (started by us, then by the library after
/// each kill), and the servers holding the listening instances.
struct user_scope {
    std::string dir, log;
    npipe::endpoint ep;
    std::unique_ptr<child> first_broker;
    children servers;
    std::vector<std::string> names;

    /// The broker's status, or nullopt while none answers.
    std::optional<npipe::broker_status> status() const;
    /// How many instances are in `state` now (list_pipes); -1 when the broker does not answer.
    int instances_in(npipe::instance_state state) const;
    /// Waits until the broker lists all the instances as listening (polling, at most `max_pause` apart).
    bool wait_all_listening(std::chrono::milliseconds limit, std::chrono::milliseconds max_pause = 20ms) const;
};

user_scope open_user_scope(const std::string& root);
/// Starts the servers (pipe_count processes of instances_per_pipe threads in ConnectNamedPipe);
/// returns the seconds until the broker counted every instance.
double start_servers(user_scope& us);
void close_user_scope(user_scope& us, report& r);
/// Starts `processes` client peers holding `connections` connections across the pipes (each
/// echoing its share of `total_bytes` on 'g'); returns once every one has said "ready".
children start_clients(const user_scope& us, int processes, int connections, std::size_t total_bytes);

/// Broker starts in the log since byte `from`: every start logs "serving user scope", every
/// broker that lost the race to another "another broker already serves".
struct log_counts {
    int starts = 0, lost_races = 0, failed = 0;
    int all() const { return starts + lost_races + failed; }
};
log_counts count_log(const std::string& path, std::uintmax_t from);
std::uintmax_t log_size(const std::string& path);

/// What the clients peers reported at the end.
struct echo_result {
    double sent = 0, verified = 0, lost = 0, corrupt = 0, errors = 0;
    double seconds = 0; ///< the slowest process's, from its 'g' to its last connection's end
    std::vector<std::string> error_texts;
};
echo_result collect_results(children& clients, std::chrono::milliseconds timeout);

// ---- the scenarios ------------------------------------------------------------------------------

/// Scenario 4, which also brings the servers up: returns the seconds their 1,000 instances took
/// to register (the restart's baseline).
double run_footprint(user_scope& us, report& r);
void run_restart(user_scope& us, const options& o, double registration_seconds, report& r);
void run_held(user_scope& us, const options& o, report& r);
void run_flood(const options& o, report& r);

} // namespace soak
