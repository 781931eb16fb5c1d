// AccessCheck over a DACL, the SIDs an identity holds, and the default descriptors.
#include "security/sddl_text.hpp"

#include <algorithm>

namespace npipe {
namespace {

std::string describe_ace(const ace& entry, std::size_t index) {
    return "ACE #" + std::to_string(index + 1) + " " + detail::ace_to_sddl(entry);
}

access_result refused(std::string reason) { return {false, 0, std::move(reason)}; }

} // namespace

std::vector<sid> identity_sids(const access_identity& who) {
    std::vector<sid> out;
    if (who.anonymous) {
        out.push_back(sid::anonymous());
        if (who.remote) out.push_back(sid::network());
        return out;
    }
    out.push_back(sid::user(who.uid));
    out.push_back(sid::group(who.gid));
    for (auto g : who.groups) {
        sid s = sid::group(g);
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
    out.push_back(sid::everyone());
    out.push_back(sid::authenticated_users());
    out.push_back(who.remote ? sid::network() : sid::interactive());
    if (who.uid == 0) out.push_back(sid::administrators());
    for (const auto& s : who.more_sids) {
        // Only the kernel's ids (or smbd's Unix token) and the origin say these.
        bool reserved = s.identifier_authority() == 22 || s == sid::administrators() || s == sid::local_system() ||
                        s == sid::interactive() || s == sid::anonymous();
        if (!reserved && std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
    return out;
}

access_result access_check(const security_descriptor& sd, const access_identity& who,
                           std::uint32_t desired, const generic_mapping& mapping) {
    const std::vector<sid> sids = identity_sids(who);
    auto holds = [&](const sid& s) { return std::find(sids.begin(), sids.end(), s) != sids.end(); };

    std::uint32_t wanted = map_generic(desired, mapping);
    const bool maximum = (wanted & rights::MAXIMUM_ALLOWED) != 0;
    wanted &= ~rights::MAXIMUM_ALLOWED;
    if (!maximum && wanted == 0) return refused("no access was requested");
    if (wanted & rights::ACCESS_SYSTEM_SECURITY)
        return refused("ACCESS_SYSTEM_SECURITY needs a privilege that npipe never grants");

    if (!sd.dacl) {
        const std::uint32_t all = maximum ? (wanted | mapping.all) : wanted;
        return {true, all, "the pipe has a NULL DACL, which grants everyone everything"};
    }
    const std::vector<ace>& dacl = *sd.dacl;

    const bool is_owner = sd.owner && holds(*sd.owner);
    bool owner_rights_ace = false;
    for (const auto& a : dacl)
        if (!(a.flags & ace_flags::INHERIT_ONLY) && a.trustee == sid::owner_rights()) owner_rights_ace = true;
    // OWNER RIGHTS ACEs stand for the owner; without one the owner implicitly gets these two.
    const std::uint32_t implicit =
        is_owner && !owner_rights_ace ? rights::READ_CONTROL | rights::WRITE_DAC : 0;
    auto applies = [&](const ace& a) {
        if (a.flags & ace_flags::INHERIT_ONLY) return false;
        if (a.trustee == sid::owner_rights()) return is_owner;
        return holds(a.trustee);
    };

    if (maximum) {
        std::uint32_t granted = implicit, denied = 0;
        for (const auto& a : dacl) {
            if (!applies(a)) continue;
            const std::uint32_t m = map_generic(a.mask, mapping);
            if (a.type == ace_type::access_allowed) granted |= m & ~denied;
            else denied |= m & ~granted;
        }
        if (granted == 0)
            return refused(dacl.empty() ? "the DACL is empty, so it grants nothing"
                                        : "no ACE grants anything to this caller");
        if (std::uint32_t missing = wanted & ~granted)
            return refused("no ACE grants " + access_mask_names(missing) +
                           (missing & denied ? " (a deny ACE comes first)" : ""));
        return {true, granted, "MAXIMUM_ALLOWED: " + access_mask_names(granted)};
    }

    std::uint32_t remaining = wanted & ~implicit;
    if (remaining == 0) return {true, wanted, "the owner may always read and change the DACL"};
    for (std::size_t i = 0; i < dacl.size(); ++i) {
        const ace& a = dacl[i];
        if (!applies(a)) continue;
        const std::uint32_t m = map_generic(a.mask, mapping);
        if (!(m & remaining)) continue;
        if (a.type == ace_type::access_denied)
            return refused(describe_ace(a, i) + " denies " + access_mask_names(m & remaining));
        remaining &= ~m;
        if (remaining == 0) return {true, wanted, "granted by " + describe_ace(a, i)};
    }
    if (dacl.empty()) return refused("the DACL is empty, so it grants nothing");
    return refused("no ACE grants " + access_mask_names(remaining));
}

security_descriptor default_descriptor(std::uint32_t owner_uid, default_dacl kind,
                                       std::optional<std::uint32_t> owner_gid) {
    security_descriptor sd;
    sd.owner = sid::user(owner_uid);
    if (owner_gid) sd.group = sid::group(*owner_gid);
    sd.control = sd_control::DACL_PRESENT;
    std::vector<ace> dacl{
        {ace_type::access_allowed, 0, rights::FILE_ALL_ACCESS, sid::user(owner_uid)},
        {ace_type::access_allowed, 0, rights::FILE_ALL_ACCESS, sid::administrators()},
    };
    switch (kind) {
    case default_dacl::owner_and_root:
        break;
    case default_dacl::windows_compatible:
        dacl.push_back({ace_type::access_allowed, 0, rights::FILE_GENERIC_READ, sid::everyone()});
        dacl.push_back({ace_type::access_allowed, 0, rights::FILE_GENERIC_READ, sid::anonymous()});
        break;
    }
    sd.dacl = std::move(dacl);
    return sd;
}

} // namespace npipe
