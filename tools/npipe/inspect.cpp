// npipe list, info, acl: what the namespace holds - every pipe with its instances, one pipe in
// detail, and a pipe's owner and DACL in words (the way accesschk shows it to Windows admins).
// Tables for people, JSON for scripts. None of them starts a broker.
#include "inspect.hpp"

#include "commands.hpp"
#include "output.hpp"

#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "os/users.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace npipe::cli {
namespace {

// ---- pipes in words and JSON -------------------------------------------------------------------

const char* to_string(pipe_type t) noexcept { return t == pipe_type::message ? "message" : "byte"; }

const char* to_string(pipe_direction d) noexcept {
    switch (d) {
    case pipe_direction::inbound: return "inbound";
    case pipe_direction::outbound: return "outbound";
    case pipe_direction::duplex: return "duplex";
    }
    return "unknown";
}

const char* to_string(instance_state s) noexcept {
    switch (s) {
    case instance_state::listening: return "listening";
    case instance_state::connected: return "connected";
    case instance_state::closing: return "closing";
    case instance_state::disconnected: return "disconnected";
    }
    return "unknown";
}

std::string max_text(unsigned max_instances) {
    return max_instances >= unlimited_instances ? std::string("unlimited") : fmt::format("{}", max_instances);
}

template <typename T>
std::string optional_text(const std::optional<T>& v) {
    return v ? fmt::format("{}", *v) : std::string("-");
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

/// The CLIENT cell: the process id, or for an SMB client (no process here) who and where from.
std::string client_text(const instance_status& i) {
    if (i.client_address.empty()) return optional_text(i.client_pid);
    return fmt::format("{}@{} (SMB)", i.client_account.empty() ? "anonymous" : i.client_account, i.client_address);
}

std::vector<std::string> instance_cells(std::size_t index, const instance_status& i) {
    return {fmt::format("#{}", index), to_string(i.state), fmt::format("{}", i.server_pid), client_text(i),
            optional_text(i.client_uid)};
}

nlohmann::json text_or_null(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

/// One pipe as JSON: name, type, access, max_instances, current_instances, owner_uid, owner_sid,
/// sddl, remote, buffer sizes, default_timeout_ms, reject_remote_clients and instances (state,
/// server_pid, server_uid, client_pid, client_uid, client_account and client_address (an SMB
/// client's DOMAIN\\account and address:port) - null where there is none - and the instance's
/// own buffer sizes).
nlohmann::json to_json(const pipe_status& p) {
    nlohmann::json instances = nlohmann::json::array();
    for (const auto& i : p.instances) {
        instances.push_back({{"state", to_string(i.state)},
                             {"server_pid", i.server_pid},
                             {"server_uid", i.server_uid},
                             {"client_pid", optional_json(i.client_pid)},
                             {"client_uid", optional_json(i.client_uid)},
                             {"client_account", text_or_null(i.client_account)},
                             {"client_address", text_or_null(i.client_address)},
                             {"out_buffer_size", i.out_buffer_size},
                             {"in_buffer_size", i.in_buffer_size}});
    }
    return {{"name", p.name},
            {"type", to_string(p.type)},
            {"access", to_string(p.direction)},
            {"max_instances", p.max_instances},
            {"current_instances", p.instances.size()},
            {"owner_uid", p.owner_uid},
            {"owner_sid", p.owner_sid},
            {"sddl", p.sddl},
            {"remote", p.remote},
            {"out_buffer_size", p.out_buffer_size},
            {"in_buffer_size", p.in_buffer_size},
            {"default_timeout_ms", p.default_timeout.count()},
            {"reject_remote_clients", p.reject_remote_clients},
            {"instances", std::move(instances)}};
}

nlohmann::json to_json(const std::vector<pipe_status>& pipes) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& p : pipes) out.push_back(to_json(p));
    return out;
}

/// `npipe list`: one row per pipe, an indented row per instance; "(no pipes)" when empty.
std::string format_pipe_table(const std::vector<pipe_status>& pipes) {
    if (pipes.empty()) return "(no pipes)\n";
    text_table t({"NAME", "TYPE", "ACCESS", "INSTANCES", "OWNER", "STATE", "SERVER", "CLIENT", "CLIENT-UID"});
    for (const auto& p : pipes) {
        t.add({p.name, to_string(p.type), to_string(p.direction),
               fmt::format("{}/{}", p.instances.size(), max_text(p.max_instances)), uid_text(p.owner_uid)});
        for (std::size_t n = 0; n < p.instances.size(); ++n) {
            auto cells = instance_cells(n, p.instances[n]);
            t.add({"  " + cells[0], "", "", "", "", cells[1], cells[2], cells[3], cells[4]});
        }
    }
    return t.render();
}

/// `npipe info`: the pipe's fields one per line, then its instances as a table.
std::string format_pipe_detail(const pipe_status& p) {
    std::string timeout = p.default_timeout.count() == 0 ? std::string("0 (WaitNamedPipe default: 50 ms)")
                                                          : fmt::format("{} ms", p.default_timeout.count());
    text_table fields({"name:", p.name});
    fields.add({"type:", to_string(p.type)});
    fields.add({"access:", to_string(p.direction)});
    fields.add({"instances:", fmt::format("{} of {}", p.instances.size(), max_text(p.max_instances))});
    fields.add({"owner uid:", uid_text(p.owner_uid)});
    fields.add({"owner sid:", p.owner_sid});
    fields.add({"security:", p.sddl});
    fields.add({"out buffer size:", fmt::format("{}", p.out_buffer_size)});
    fields.add({"in buffer size:", fmt::format("{}", p.in_buffer_size)});
    fields.add({"default timeout:", timeout});
    fields.add({"remote clients:", p.reject_remote_clients ? "rejected" : "accepted"});
    std::string out = fields.render();
    if (!p.instances.empty()) {
        // Each instance has buffer sizes of its own (the pipe's above are its first instance's).
        text_table t({"INSTANCE", "STATE", "SERVER", "CLIENT", "CLIENT-UID", "OUT-BUFFER", "IN-BUFFER"});
        for (std::size_t n = 0; n < p.instances.size(); ++n) {
            auto cells = instance_cells(n, p.instances[n]);
            cells.push_back(fmt::format("{}", p.instances[n].out_buffer_size));
            cells.push_back(fmt::format("{}", p.instances[n].in_buffer_size));
            t.add(cells);
        }
        out += '\n';
        out += t.render();
    }
    return out;
}

// ---- a DACL in words ---------------------------------------------------------------------------


/// "Everyone", "NT AUTHORITY\ANONYMOUS LOGON", "Unix User\alice", or the SID itself.
std::string trustee_name(const sid& s) {
    if (auto uid = s.uid()) return "Unix User\\" + os::user_name(*uid).value_or(std::to_string(*uid));
    if (auto gid = s.gid()) return "Unix Group\\" + os::group_name(*gid).value_or(std::to_string(*gid));
    auto alias = s.alias();
    if (alias == "WD") return "Everyone";
    if (alias == "AN") return "NT AUTHORITY\\ANONYMOUS LOGON";
    if (alias == "NU") return "NT AUTHORITY\\NETWORK";
    if (alias == "IU") return "NT AUTHORITY\\INTERACTIVE";
    if (alias == "AU") return "NT AUTHORITY\\Authenticated Users";
    if (alias == "SY") return "NT AUTHORITY\\SYSTEM (the broker)";
    if (alias == "BA") return "BUILTIN\\Administrators (root)";
    if (alias == "CO") return "CREATOR OWNER";
    if (alias == "CG") return "CREATOR GROUP";
    if (alias == "OW") return "OWNER RIGHTS";
    return s.to_string();
}

/// accesschk's short summary: R (read data), W (write data), C (create instances).
std::string letters(std::uint32_t mapped) {
    std::string out;
    out += (mapped & rights::FILE_READ_DATA) ? 'R' : ' ';
    out += (mapped & rights::FILE_WRITE_DATA) ? 'W' : ' ';
    out += (mapped & rights::FILE_CREATE_PIPE_INSTANCE) ? 'C' : ' ';
    return out;
}

/// The descriptor of `p` in words: owner, group, then one entry per ACE.
std::string format_acl(const pipe_status& p, const security_descriptor& sd) {
    std::string out = p.name + "\n";
    if (sd.owner) out += fmt::format("  Owner: {} ({})\n", trustee_name(*sd.owner), sd.owner->to_string());
    if (sd.group) out += fmt::format("  Group: {} ({})\n", trustee_name(*sd.group), sd.group->to_string());
    if (!sd.dacl) return out + "  No DACL: everyone has full control\n";
    if (sd.dacl->empty()) return out + "  Empty DACL: nobody has access (the owner may still change it)\n";
    for (const auto& ace : *sd.dacl) {
        std::uint32_t mapped = map_generic(ace.mask, pipe_generic_mapping);
        bool deny = ace.type == ace_type::access_denied;
        out += fmt::format("  {} {}{} ({})\n", deny ? "DENY" : letters(mapped), trustee_name(ace.trustee),
                           (ace.flags & ace_flags::INHERIT_ONLY) ? " [inherit only]" : "",
                           ace.trustee.to_string());
        out += fmt::format("        {}\n", access_mask_names(mapped));
    }
    return out;
}

nlohmann::json acl_to_json(const pipe_status& p, const security_descriptor& sd) {
    nlohmann::json aces = nlohmann::json::array();
    if (sd.dacl)
        for (const auto& ace : *sd.dacl) {
            std::uint32_t mapped = map_generic(ace.mask, pipe_generic_mapping);
            aces.push_back({{"type", ace.type == ace_type::access_denied ? "deny" : "allow"},
                            {"sid", ace.trustee.to_string()},
                            {"trustee", trustee_name(ace.trustee)},
                            {"mask", mapped},
                            {"rights", access_mask_names(mapped)},
                            {"flags", ace.flags}});
        }
    return {{"name", p.name},
            {"owner_sid", sd.owner ? sd.owner->to_string() : ""},
            {"group_sid", sd.group ? sd.group->to_string() : ""},
            {"sddl", sd.to_sddl()},
            {"dacl", sd.dacl ? nlohmann::json(aces) : nlohmann::json(nullptr)}};
}

// ---- the commands ------------------------------------------------------------------------------

struct list_args {
    bool json = false;
    bool risky = false;
};

int run_list(const list_args& a, const context& ctx) {
    std::error_code ec;
    auto pipes = list_pipes(ctx.endpoint(), ec);
    if (ec) {
        report("cannot list pipes", ec);
        return exit_failure;
    }
    if (!a.risky) return a.json ? print_json(to_json(pipes)) : print(format_pipe_table(pipes));
    std::vector<pipe_status> flagged;
    std::vector<std::string> reasons;
    for (auto& p : pipes) {
        std::error_code parse_ec;
        auto sd = parse_sddl(p.sddl, parse_ec, nullptr, sid_policy::any);
        std::string why = sd ? risk_of(*sd) : "its descriptor cannot be read: " + p.sddl;
        if (why.empty()) continue;
        flagged.push_back(p);
        reasons.push_back(why);
    }
    if (a.json) {
        auto out = to_json(flagged);
        for (std::size_t i = 0; i < flagged.size(); ++i) out[i]["risk"] = reasons[i];
        return print_json(out);
    }
    if (flagged.empty()) return print("(no risky pipes)\n");
    std::string text;
    for (std::size_t i = 0; i < flagged.size(); ++i)
        text += fmt::format("{}\n    risk: {}\n    sddl: {}\n", flagged[i].name, reasons[i], flagged[i].sddl);
    return print(text);
}

/// The pipe `name` names, or empty after saying why not.
std::optional<pipe_status> query_or_report(const std::string& name, const context& ctx) {
    std::error_code ec;
    auto p = query_pipe(name, ctx.endpoint(), ec);
    if (!ec) return p;
    report(fmt::format("cannot query {}", name), ec);
    return std::nullopt;
}

int run_info(const std::string& raw_name, bool json, const context& ctx) {
    auto p = query_or_report(expand_pipe_name(raw_name), ctx);
    if (!p) return exit_failure;
    return json ? print_json(to_json(*p)) : print(format_pipe_detail(*p));
}

int run_acl(const std::string& raw_name, bool json, const context& ctx) {
    std::string name = expand_pipe_name(raw_name);
    auto found = query_or_report(name, ctx);
    if (!found) return exit_failure;
    const pipe_status& p = *found;
    std::error_code ec;
    sddl_error where;
    auto sd = parse_sddl(p.sddl, ec, &where, sid_policy::any);
    if (!sd) {
        report_line(fmt::format("{}: the broker reported a descriptor npipe cannot read ({}): {}", name,
                                where.message, p.sddl));
        return exit_failure;
    }
    return json ? print_json(acl_to_json(p, *sd)) : print(format_acl(p, *sd));
}

/// A command that takes one pipe NAME and --json.
runner name_and_json_command(CLI::App& sub, context& ctx, const char* json_help,
                             int (*run)(const std::string&, bool, const context&)) {
    struct args {
        std::string name;
        bool json = false;
    };
    auto a = std::make_shared<args>();
    add_endpoint_options(sub, ctx);
    sub.add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME or NAME")->required();
    sub.add_flag("--json", a->json, json_help);
    return [a, &ctx, run] { return run(a->name, a->json, ctx); };
}

} // namespace

std::string risk_of(const security_descriptor& sd) {
    if (!sd.dacl) return "no DACL: anyone may do anything";
    // Ask the DACL itself, the way the broker does, for three strangers: an anonymous peer, a
    // remote one (NETWORK) and a local user nobody named (Everyone).
    struct stranger {
        const char* who;
        access_identity id;
    };
    const std::uint32_t nobody_known = 0xFFFFFFF0u;
    stranger strangers[3];
    strangers[0] = {"Anonymous", {}};
    strangers[0].id.anonymous = true;
    strangers[1] = {"NETWORK", {}};
    strangers[1].id.uid = nobody_known;
    strangers[1].id.gid = nobody_known;
    strangers[1].id.remote = true;
    strangers[2] = {"Everyone", {}};
    strangers[2].id.uid = nobody_known;
    strangers[2].id.gid = nobody_known;
    std::string out;
    for (auto& s : strangers)
        for (std::uint32_t right : {rights::FILE_WRITE_DATA, rights::FILE_CREATE_PIPE_INSTANCE}) {
            if (!access_check(sd, s.id, right).granted) continue;
            if (!out.empty()) out += ", ";
            out += fmt::format("{} may {}", s.who, right == rights::FILE_WRITE_DATA ? "write" : "create instances");
        }
    return out;
}

runner setup_list(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<list_args>();
    add_endpoint_options(sub, ctx);
    sub.add_flag("--json", a->json, "Print a JSON array of pipes");
    sub.add_flag("--risky", a->risky,
                 "Only pipes whose DACL lets Everyone, Anonymous or NETWORK write to them or create instances");
    sub.footer("Plain output: one row per pipe and an indented row per instance; \"(no pipes)\" when there are\n"
               "none. With --risky, each pipe is followed by why it is risky (JSON: a \"risk\" key). Never starts\n"
               "a broker.");
    return [a, &ctx] { return run_list(*a, ctx); };
}

runner setup_info(CLI::App& sub, context& ctx) {
    return name_and_json_command(sub, ctx, "Print a JSON object", run_info);
}

runner setup_acl(CLI::App& sub, context& ctx) {
    sub.footer("One entry per ACE, in the order they are evaluated: R W C = may read, write, create instances\n"
               "(DENY for a deny ACE), the trustee, then its rights. Users and groups are Samba's SIDs\n"
               "(S-1-22-1-<uid>, S-1-22-2-<gid>).");
    return name_and_json_command(sub, ctx, "Print a JSON object (owner_sid, group_sid, sddl, dacl)", run_acl);
}

} // namespace npipe::cli
