// npipe monitor: the broker's events as they happen - JSON lines (--json) or one readable line
// per event, coloured on a terminal.
#include "commands.hpp"

#include "os/stdio.hpp"

#include <npipe/namespace.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h> // STDOUT_FILENO

namespace npipe::cli {
namespace {


/// "90s", "15m", "2h", "3d" ago, or an absolute UTC time "YYYY-MM-DD HH:MM:SS" / "YYYY-MM-DDTHH:MM:SS".
std::optional<std::chrono::system_clock::time_point> parse_since(const std::string& text) {
    if (text.empty()) return std::nullopt;
    char unit = text.back();
    if (std::isalpha(static_cast<unsigned char>(unit)) && text.size() > 1) {
        long long n = 0;
        auto [end, err] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
        if (err != std::errc{} || end != text.data() + text.size() - 1 || n < 0) return std::nullopt;
        std::chrono::seconds span;
        switch (unit) {
        case 's': span = std::chrono::seconds(n); break;
        case 'm': span = std::chrono::minutes(n); break;
        case 'h': span = std::chrono::hours(n); break;
        case 'd': span = std::chrono::hours(24 * n); break;
        default: return std::nullopt;
        }
        return std::chrono::system_clock::now() - span;
    }
    std::tm tm{};
    int consumed = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
        static_cast<std::size_t>(consumed) != text.size())
        return std::nullopt;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    std::time_t t = ::timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t);
}

std::string field(const nlohmann::json& e, const char* name) {
    auto it = e.find(name);
    if (it == e.end() || it->is_null()) return {};
    return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

/// "pid 1234 alice (server)" for the acting process, or the peer with prefix "Peer".
std::string who(const nlohmann::json& e, const std::string& prefix) {
    std::string pid = field(e, (prefix + "ProcessId").c_str());
    if (pid.empty()) return {};
    std::string user = field(e, (prefix + "User").c_str());
    std::string image = basename_of(field(e, (prefix + "Image").c_str()));
    return fmt::format("pid {} {}{}", pid, user.empty() ? field(e, (prefix + "Uid").c_str()) : user,
                       image.empty() ? "" : " (" + image + ")");
}

/// One readable line per event.
std::string readable(const nlohmann::json& e, bool colour) {
    std::string type = field(e, "EventType");
    std::string result = field(e, "Result");
    const char* tint = "";
    if (type == "Alert") tint = "\033[1;35m";
    else if (result == "denied") tint = "\033[31m";
    else if (result == "timeout") tint = "\033[33m";
    else if (type == "CreatePipe") tint = "\033[32m";
    else if (type == "ConnectPipe") tint = "\033[36m";
    else if (type == "DisconnectPipe" || type == "PipeGone") tint = "\033[2m";
    std::string line = fmt::format("{} {}{:<16}{} {}", field(e, "UtcTime"), colour ? tint : "", type,
                                   colour && *tint ? "\033[0m" : "", field(e, "PipeName"));
    std::string actor = who(e, "");
    if (!actor.empty()) line += "  " + actor;
    std::string peer = who(e, "Peer");
    if (type == "ConnectPipe" && !peer.empty()) line += " -> server " + peer;
    else if (!peer.empty()) line += " / client " + peer;
    if (type == "CreatePipe") line += fmt::format("  instances {}/{}", field(e, "Instances"), field(e, "MaxInstances") == "255" ? "unlimited" : field(e, "MaxInstances"));
    if (type == "ConnectPipe") line += "  " + field(e, "ImpersonationLevel");
    if (type == "DisconnectPipe") {
        line += fmt::format("  {} ms", field(e, "DurationMs"));
        if (e.contains("BytesFromClient"))
            line += fmt::format(", {} B from the client, {} B to it", field(e, "BytesFromClient"), field(e, "BytesToClient"));
    }
    if (type == "Alert")
        line += fmt::format("  rule \"{}\" ({}, {}) by {}", field(e, "RuleTitle"), field(e, "RuleLevel"), field(e, "RuleId"),
                            field(e, "RuleAuthor"));
    std::string reason = field(e, "Reason");
    if (!reason.empty()) line += (result == "denied" ? "  DENIED: " : "  ") + reason;
    return line + "\n";
}


/// monitor_events: with --follow in the user scope it starts the broker when none runs (a
/// defender may start watching before anything else), and the new broker's events from its
/// start are read first, so nothing is missed.
void read_events(const monitor_options& o, const std::function<bool(std::uint64_t, const std::string&)>& on_event,
                 const context& ctx, std::error_code& ec) {
    monitor_events(
        o, on_event,
        [](std::uint64_t lost) {
            std::fprintf(stderr, "npipe monitor: %llu events lost (the broker's ring overwrote them before they were read)\n",
                         static_cast<unsigned long long>(lost));
        },
        ctx.endpoint(), ec);
}

int run_monitor(bool json, bool follow, const std::string& since_text, const context& ctx) {
    monitor_options o;
    o.follow = follow;
    if (!since_text.empty()) {
        auto since = parse_since(since_text);
        if (!since) {
            std::fprintf(stderr, "npipe monitor: --since takes 30s, 15m, 2h, 1d or a UTC time YYYY-MM-DD HH:MM:SS, not \"%s\"\n",
                         since_text.c_str());
            return exit_usage;
        }
        o.since = *since;
    }
    bool colour = !json && os::is_terminal(STDOUT_FILENO) && !std::getenv("NO_COLOR");
    std::error_code ec;
    read_events(
        o,
        [&](std::uint64_t, const std::string& text) {
            std::string out;
            if (json) {
                out = text + "\n";
            } else {
                auto e = nlohmann::json::parse(text, nullptr, false);
                out = e.is_discarded() ? text + "\n" : readable(e, colour);
            }
            std::fwrite(out.data(), 1, out.size(), stdout);
            std::fflush(stdout); // a pipe to grep or jq sees each event at once
            return !std::ferror(stdout);
        },
        ctx, ec);
    if (ec == win32_error::service_not_active) {
        std::fprintf(stderr, "npipe monitor: no broker running (runtime directory %s)\n",
                     resolve_runtime_dir(ctx.endpoint()).c_str());
        return exit_failure;
    }
    if (ec) {
        std::fprintf(stderr, "npipe monitor: %s\n", ec.message().c_str());
        return exit_failure;
    }
    return exit_ok;
}

} // namespace

runner setup_monitor(CLI::App& sub, context& ctx) {
    struct args {
        bool json = false;
        bool follow = false;
        std::string since;
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_flag("--json", a->json, "One JSON object per line, with Sysmon's field names (see the README)");
    sub.add_flag("-f,--follow", a->follow, "After the events the broker keeps, show new ones as they happen");
    sub.add_option("--since", a->since, "Only events since 30s, 15m, 2h, 1d ago, or a UTC time YYYY-MM-DD HH:MM:SS")
        ->type_name("WHEN");
    sub.footer("Shows the events the broker keeps (npiped --events, default 16384), oldest first, then exits;\n"
               "with --follow it goes on until interrupted. With --follow in the user scope and no broker yet, it\n"
               "starts one (as a program creating a pipe would) and misses none of its events.\n"
               "Events a slow reader missed because the broker's ring moved on are counted on stderr, never\n"
               "dropped silently. In system scope only root and the broker's user see other users' events.\n"
               "Colour on a terminal unless NO_COLOR is set.");
    return [a, &ctx] { return run_monitor(a->json, a->follow, a->since, ctx); };
}

} // namespace npipe::cli
