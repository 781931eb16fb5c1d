#include "samba_identity.hpp"

#include <algorithm>

namespace npipe::broker {
namespace {

constexpr std::uint64_t unix_authority = 22; // S-1-22-1-uid, S-1-22-2-gid (Samba's Unix SIDs)

/// A token SID npipe takes as it is (see the header for the ones it does not).
bool taken_from_token(const sid& s) {
    if (s.identifier_authority() == unix_authority) return false;
    return s != sid::interactive() && s != sid::local_system() && s != sid::administrators() &&
           s != sid::anonymous();
}

} // namespace

std::optional<identity> remote_identity(const protocol::samba::request& r, std::string& why) {
    if (!r.session_info) {
        why = "smbd sent no session";
        return std::nullopt;
    }
    const auto& s = *r.session_info;
    if (!s.token_sids || !s.unix_ids) {
        why = "smbd sent no security token or no Unix token";
        return std::nullopt;
    }
    identity who;
    who.from = identity::origin::remote;
    who.uid = s.unix_ids->uid;
    who.gid = s.unix_ids->gid;
    who.groups.assign(s.unix_ids->groups.begin(), s.unix_ids->groups.end());
    const auto& sids = *s.token_sids;
    who.anonymous = !s.authenticated || std::find(sids.begin(), sids.end(), sid::anonymous()) != sids.end();
    if (!who.anonymous)
        std::copy_if(sids.begin(), sids.end(), std::back_inserter(who.token_sids), taken_from_token);
    who.account = s.account_name;
    who.domain = s.domain_name;
    who.address = r.remote_client.address;
    who.computer = r.remote_client.name;
    who.port = r.remote_client.port;
    return who;
}

} // namespace npipe::broker
