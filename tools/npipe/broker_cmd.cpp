// npipe broker status | stop: the broker (npiped) of the selected namespace - its pid, scope,
// directory, uptime, counters and per-uid limits - and asking it to exit.
#include "commands.hpp"
#include "output.hpp"

#include "os/process.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

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

// The status is printed by walking its one list (npipe::for_each_field), which names each
// field's JSON key and its place in the text, so what is printed cannot drift from what the
// broker sends.

template <class T> constexpr bool is_duration = false;
template <class Rep, class Period> constexpr bool is_duration<std::chrono::duration<Rep, Period>> = true;

std::string scope_name(bool system) { return system ? "system" : "user"; }

template <class T> nlohmann::json json_value(const broker_status_field& f, const T& value) {
    if constexpr (is_duration<T>) return value.count(); // the key names the unit
    else if constexpr (std::is_same_v<T, bool>)
        return f.as == broker_status_field::shown::scope ? nlohmann::json(scope_name(value)) : nlohmann::json(value);
    else return value;
}

template <class T> std::string text_value(const broker_status_field& f, const T& value) {
    if constexpr (std::is_same_v<T, std::chrono::seconds>) return format_duration(value);
    else if constexpr (is_duration<T>) return fmt::format("{}", value.count()); // the phrase names the unit
    else if constexpr (std::is_same_v<T, bool>)
        return f.as == broker_status_field::shown::scope ? scope_name(value) : (value ? "yes" : "no");
    else if constexpr (std::is_integral_v<T>)
        return f.as == broker_status_field::shown::user ? uid_text(static_cast<uid_t>(value)) : fmt::format("{}", value);
    else return value;
}

nlohmann::json to_json(const broker_status& b) {
    nlohmann::json out = nlohmann::json::object();
    for_each_field(b, [&out](const broker_status_field& f, const auto& value) {
        nlohmann::json& holder = f.group.empty() ? out : out[std::string(f.group)];
        holder[std::string(f.name)] = json_value(f, value);
    });
    return out;
}

std::string format_broker_status(const broker_status& b) {
    std::vector<std::pair<std::string_view, std::string>> lines; // label, the parts of its fields
    for_each_field(b, [&lines](const broker_status_field& f, const auto& value) {
        std::string part = fmt::format(fmt::runtime(f.phrase), text_value(f, value));
        if (lines.empty() || lines.back().first != f.line) lines.emplace_back(f.line, std::move(part));
        else lines.back().second += (part.starts_with('(') ? " " : ", ") + part;
    });
    text_table t;
    for (auto& [label, parts] : lines) t.add({std::string(label) + ":", std::move(parts)});
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
