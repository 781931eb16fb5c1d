// npipe audit: what in the current namespace deserves a defender's look - pipes whose DACL is
// too open, pipes that Sigma rules flag, root servers that take any client, and connections in
// which a privileged client talks to an unprivileged server (the Potato pattern).
#include "commands.hpp"
#include "inspect.hpp"
#include "output.hpp"
#include "rules_cmd.hpp"

#include "os/process.hpp"

#include <npipe/event_fields.hpp>
#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>
#include <npipe/security.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace npipe::cli {

namespace {

struct finding {
    std::string kind;   // open-acl, rule-match, root-server-open-to-all, privilege-inversion
    std::string pipe;
    std::string detail;
};

/// A uid that acts for the system: root, or a system account (below 1000, as Debian allocates).
bool privileged(uid_t uid) { return uid < 1000; }

std::vector<finding> audit(const std::vector<pipe_status>& pipes, const sigma::rule_set& rules) {
    std::vector<finding> out;
    access_identity stranger; // a local user nobody named in any ACE
    stranger.uid = 0xFFFFFFF0u;
    stranger.gid = 0xFFFFFFF0u;
    access_identity anonymous;
    anonymous.anonymous = true;
    for (const auto& p : pipes) {
        std::error_code ec;
        auto sd = parse_sddl(p.sddl, ec, nullptr, sid_policy::any);
        if (sd) {
            if (auto risk = risk_of(*sd); !risk.empty()) out.push_back({"open-acl", p.name, risk});
        }
        std::string image = p.instances.empty() ? std::string{} : os::executable_of(p.instances.front().server_pid);
        std::string pipe_name = sysmon_name_of(p.name);
        for (const auto& r : sigma::matching(rules, [&](std::string_view field) -> std::optional<std::string> {
                 if (field == event_field::pipe_name) return pipe_name;
                 if (field == event_field::image && !image.empty()) return image;
                 if (field == "EventID") return "17";
                 return std::nullopt;
             }))
            out.push_back({"rule-match", p.name,
                           fmt::format("{} rule \"{}\" ({}) by {}", r->level, r->title, r->id, r->author)});
        bool root_server = false;
        for (const auto& i : p.instances) root_server = root_server || i.server_uid == 0;
        if (root_server && sd) {
            for (const auto* who : {&stranger, &anonymous}) {
                auto any = access_check(*sd, *who, rights::FILE_READ_DATA);
                auto write = access_check(*sd, *who, rights::FILE_WRITE_DATA);
                if (any.granted || write.granted) {
                    out.push_back({"root-server-open-to-all", p.name,
                                   fmt::format("served by root; {} may {}", who == &anonymous ? "Anonymous" : "any local user",
                                               write.granted ? "write to it" : "read from it")});
                    break;
                }
            }
        }
        for (const auto& i : p.instances) {
            if (!i.client_uid || !i.client_pid) continue;
            if (privileged(*i.client_uid) && !privileged(i.server_uid))
                out.push_back({"privilege-inversion", p.name,
                               fmt::format("client pid {} runs as uid {} ({}), the server pid {} as uid {}: the server "
                                           "may try to impersonate it",
                                           *i.client_pid, *i.client_uid, *i.client_uid == 0 ? "root" : "a system account",
                                           i.server_pid, i.server_uid)});
        }
    }
    return out;
}

struct audit_args {
    std::vector<std::string> dirs;
    bool no_default = false;
    bool json = false;
};

int run_audit(const audit_args& a, const context& ctx) {
    std::error_code ec;
    auto pipes = list_pipes(ctx.endpoint(), ec);
    if (ec) {
        std::fprintf(stderr, "npipe audit: cannot list the pipes: %s\n", ec.message().c_str());
        return exit_failure;
    }
    auto rules = load_rule_set(a.dirs, a.no_default);
    auto found = audit(pipes, rules);
    if (a.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& f : found) out.push_back({{"kind", f.kind}, {"pipe", f.pipe}, {"detail", f.detail}});
        if (print_json(out) != exit_ok) return exit_failure;
    } else {
        for (const auto& f : found) std::printf("%-24s %s\n%-24s   %s\n", f.kind.c_str(), f.pipe.c_str(), "", f.detail.c_str());
        std::printf("%zu finding%s in %zu pipe%s (%zu rules)\n", found.size(), found.size() == 1 ? "" : "s", pipes.size(),
                    pipes.size() == 1 ? "" : "s", rules.rules.size());
    }
    return found.empty() ? exit_ok : exit_failure;
}

} // namespace

runner setup_audit(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<audit_args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("--rules", a->dirs, "Also match rules from DIR (repeatable)")->type_name("DIR");
    sub.add_flag("--no-default-rules", a->no_default, "Leave out the SigmaHQ rules shipped with npipe");
    sub.add_flag("--json", a->json, "Print a JSON array of findings (kind, pipe, detail)");
    sub.footer("Findings: open-acl (Everyone, Anonymous or NETWORK may write or create instances),\n"
               "rule-match (a Sigma rule flags the name or the server's program), root-server-open-to-all (a\n"
               "root server any local user or Anonymous may open), privilege-inversion (a root or system-account\n"
               "client connected to a server run by an ordinary user: the Potato pattern).\n"
               "Exit status: 0 nothing found, 1 findings (or the namespace could not be read).");
    return [a, &ctx] { return run_audit(*a, ctx); };
}

} // namespace npipe::cli
