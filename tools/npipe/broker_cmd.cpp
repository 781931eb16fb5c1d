// npipe broker status | stop: the broker (npiped) of the selected namespace - its pid, scope,
// directory, uptime, counters and per-uid limits - and asking it to exit.
#include "commands.hpp"
#include "output.hpp"

#include "os/process.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <thread>

namespace npipe::cli {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

/// "1d 02h 03m 04s", "1h 02m 03s", "4m 05s", "12s".
std::string format_duration(std::chrono::seconds s) {
    auto total = s.count() < 0 ? 0 : s.count();
    auto days = total / 86400, hours = total / 3600 % 24, minutes = total / 60 % 60, seconds = total % 60;
    if (days > 0) return fmt::format("{}d {:02}h {:02}m {:02}s", days, hours, minutes, seconds);
    if (hours > 0) return fmt::format("{}h {:02}m {:02}s", hours, minutes, seconds);
    if (minutes > 0) return fmt::format("{}m {:02}s", minutes, seconds);
    return fmt::format("{}s", seconds);
}

nlohmann::json to_json(const broker_status& b) {
    return {{"pid", b.pid},
            {"uid", b.uid},
            {"scope", b.system_scope ? "system" : "user"},
            {"runtime_dir", b.runtime_dir},
            {"protocol_version", b.protocol_version},
            {"uptime_seconds", b.uptime.count()},
            {"pipes", b.pipes},
            {"instances", b.instances},
            {"connections_served", b.connections_served},
            {"control_connections", b.control_connections},
            {"limits",
             {{"connections_per_uid", b.limit_connections_per_uid},
              {"instances_per_uid", b.limit_instances_per_uid},
              {"waiters_per_uid", b.limit_waiters_per_uid},
              {"descriptor_bytes_per_uid", b.limit_descriptor_bytes_per_uid},
              {"handshake_timeout_ms", b.handshake_timeout.count()},
              {"idle_timeout_ms", b.idle_timeout.count()}}},
            {"refused_by_limits", b.refused_by_limits},
            {"waiters", b.waiters},
            {"events",
             {{"emitted", b.events},
              {"retained", b.events_retained},
              {"capacity", b.event_capacity},
              {"lost", b.events_lost},
              {"monitors", b.monitors}}}};
}

std::string format_broker_status(const broker_status& b) {
    text_table t({"pid:", fmt::format("{}", b.pid)});
    t.add({"uid:", uid_text(b.uid)});
    t.add({"scope:", b.system_scope ? "system" : "user"});
    t.add({"runtime dir:", b.runtime_dir});
    t.add({"protocol version:", fmt::format("{}", b.protocol_version)});
    t.add({"uptime:", format_duration(b.uptime)});
    t.add({"pipes:", fmt::format("{}", b.pipes)});
    t.add({"instances:", fmt::format("{}", b.instances)});
    t.add({"connections served:", fmt::format("{}", b.connections_served)});
    t.add({"control connections:", fmt::format("{}", b.control_connections)});
    t.add({"limits per uid:", fmt::format("{} connections, {} instances, {} waiting clients, {} bytes of "
                                          "security descriptors",
                                          b.limit_connections_per_uid, b.limit_instances_per_uid,
                                          b.limit_waiters_per_uid, b.limit_descriptor_bytes_per_uid)});
    t.add({"handshake timeout:", fmt::format("{} ms", b.handshake_timeout.count())});
    t.add({"idle timeout:", fmt::format("{} ms", b.idle_timeout.count())});
    t.add({"events:", fmt::format("{} emitted, {} kept (room for {}), {} lost by slow monitors, {} monitors",
                                  b.events, b.events_retained, b.event_capacity, b.events_lost, b.monitors)});
    t.add({"waiting clients:", fmt::format("{}", b.waiters)});
    t.add({"refused by limits:", fmt::format("{}", b.refused_by_limits)});
    return t.render();
}

int run_broker_status(bool json, const context& ctx) {
    std::error_code ec;
    auto b = get_broker_status(ctx.endpoint(), ec);
    if (ec == win32_error::service_not_active) {
        report_line(fmt::format("no broker running (runtime directory {})", resolve_runtime_dir(ctx.endpoint())));
        return exit_failure;
    }
    if (ec) {
        report("cannot get the broker's status", ec);
        return exit_failure;
    }
    return json ? print_json(to_json(b)) : print(format_broker_status(b));
}

int run_broker_stop(const context& ctx) {
    auto where = ctx.endpoint();
    std::error_code ec;
    auto b = get_broker_status(where, ec);
    // Its start time names this process for good: a zombie, or a new process with its pid, is
    // not it (0 when /proc does not say: then only whether the pid exists counts).
    std::uint64_t started = b.pid > 0 ? os::process_start_time(b.pid).value_or(0) : 0;
    if (!ec) stop_broker(where, ec);
    if (ec == win32_error::service_not_active) return print("no broker running\n");
    if (ec) {
        report("cannot stop the broker", ec, ec == win32_error::access_denied ? "only its owner or root may" : "");
        return exit_failure;
    }
    // Return once it is gone, so that its runtime directory may be removed at once.
    auto deadline = clock::now() + 5s;
    while (b.pid > 0 && clock::now() < deadline && os::process_running(b.pid, started))
        std::this_thread::sleep_for(10ms);
    return print(fmt::format("broker stopped (pid {})\n", b.pid));
}

} // namespace

runner setup_broker(CLI::App& sub, context& ctx) {
    auto json = std::make_shared<bool>(false);
    add_endpoint_options(sub, ctx);
    sub.require_subcommand(1);
    CLI::App* status = sub.add_subcommand("status", "Show the broker's pid, uid, scope, directory, uptime and counters "
                                                    "(exit 1 when none runs)");
    add_endpoint_options(*status, ctx);
    status->add_flag("--json", *json, "Print a JSON object");
    CLI::App* stop = sub.add_subcommand("stop", "Ask the broker to exit and wait until it has (exit 0 when none runs)");
    add_endpoint_options(*stop, ctx);
    return [json, status, &ctx] { return status->parsed() ? run_broker_status(*json, ctx) : run_broker_stop(ctx); };
}

} // namespace npipe::cli
