#include "acl.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <grp.h>
#include <vector>

namespace npipe::cli {
namespace {

std::string user_name(std::uint32_t uid) {
    std::vector<char> buf(4096);
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found) return found->pw_name;
    return std::to_string(uid);
}

std::string group_name(std::uint32_t gid) {
    std::vector<char> buf(4096);
    group gr{};
    group* found = nullptr;
    if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found) return found->gr_name;
    return std::to_string(gid);
}

/// accesschk's short summary: R (read data), W (write data), C (create instances).
std::string letters(std::uint32_t mapped) {
    std::string out;
    out += (mapped & rights::FILE_READ_DATA) ? 'R' : ' ';
    out += (mapped & rights::FILE_WRITE_DATA) ? 'W' : ' ';
    out += (mapped & rights::FILE_CREATE_PIPE_INSTANCE) ? 'C' : ' ';
    return out;
}

} // namespace

std::string trustee_name(const sid& s) {
    if (auto uid = s.uid()) return "Unix User\\" + user_name(*uid);
    if (auto gid = s.gid()) return "Unix Group\\" + group_name(*gid);
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

} // namespace npipe::cli
