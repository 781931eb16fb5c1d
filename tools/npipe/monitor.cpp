// npipe monitor: the broker's events as they happen - JSON lines (--json) or one readable line
// per event, coloured on a terminal.
#include "commands.hpp"

#include "os/stdio.hpp"

#include <npipe/event_fields.hpp>
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

struct actor_fields {
    const char *process_id, *user, *image, *uid;
};
constexpr actor_fields actor_of{event_field::process_id, event_field::user, event_field::image, event_field::uid};
constexpr actor_fields peer_of{event_field::peer_process_id, event_field::peer_user, event_field::peer_image,
                               event_field::peer_uid};

/// "pid 1234 alice (server)" for the acting process or its peer.
std::string who(const nlohmann::json& e, const actor_fields& f) {
    std::string pid = field(e, f.process_id);
    if (pid.empty()) return {};
    std::string user = field(e, f.user);
    std::string image = basename_of(field(e, f.image));
    return fmt::format("pid {} {}{}", pid, user.empty() ? field(e, f.uid) : user, image.empty() ? "" : " (" + image + ")");
}

const char* tint_of(const std::string& type, const std::string& result) {
    namespace t = event_type;
    if (type == t::alert) return "\033[1;35m";
    if (result == "denied") return "\033[31m";
    if (result == "timeout") return "\033[33m";
    if (type == t::create_pipe) return "\033[32m";
    if (type == t::connect_pipe) return "\033[36m";
    if (type == t::disconnect_pipe || type == t::pipe_gone) return "\033[2m";
    return "";
}

/// What each kind of event adds to its line.
std::string details(const nlohmann::json& e, const std::string& type) {
    namespace f = event_field;
    namespace t = event_type;
    if (type == t::create_pipe) {
        std::string max = field(e, f::max_instances);
        return fmt::format("  instances {}/{}", field(e, f::instances), max == "255" ? "unlimited" : max);
    }
    if (type == t::connect_pipe) return "  " + field(e, f::impersonation_level);
    if (type == t::disconnect_pipe) {
        std::string line = fmt::format("  {} ms", field(e, f::duration_ms));
        if (e.contains(f::bytes_from_client))
            line += fmt::format(", {} B from the client, {} B to it", field(e, f::bytes_from_client),
                                field(e, f::bytes_to_client));
        return line;
    }
    if (type == t::alert)
        return fmt::format("  rule \"{}\" ({}, {}) by {}", field(e, f::rule_title), field(e, f::rule_level),
                           field(e, f::rule_id), field(e, f::rule_author));
    return {};
}

/// One readable line per event.
std::string readable(const nlohmann::json& e, bool colour) {
    namespace f = event_field;
    std::string type = field(e, f::event_type);
    std::string result = field(e, f::result);
    const char* tint = tint_of(type, result);
    std::string line = fmt::format("{} {}{:<16}{} {}", field(e, f::utc_time), colour ? tint : "", type,
                                   colour && *tint ? "\033[0m" : "", field(e, f::pipe_name));
    std::string actor = who(e, actor_of);
    if (!actor.empty()) line += "  " + actor;
    std::string peer = who(e, peer_of);
    if (type == event_type::connect_pipe && !peer.empty()) line += " -> server " + peer;
    else if (!peer.empty()) line += " / client " + peer;
    line += details(e, type);
    std::string reason = field(e, f::reason);
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
