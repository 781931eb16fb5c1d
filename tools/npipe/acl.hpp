// acl.hpp - a pipe's security descriptor for people: `npipe acl` (the DACL in words, the way
// accesschk shows it to Windows admins) and `npipe list --risky`.
#pragma once

#include <npipe/namespace.hpp>
#include <npipe/security.hpp>

#include <nlohmann/json.hpp>

#include <string>

namespace npipe::cli {

/// "Everyone", "NT AUTHORITY\ANONYMOUS LOGON", "Unix User\alice", or the SID itself.
std::string trustee_name(const sid& s);

/// The descriptor of `p` in words: owner, group, then one entry per ACE.
std::string format_acl(const pipe_status& p, const security_descriptor& sd);
nlohmann::json acl_to_json(const pipe_status& p, const security_descriptor& sd);

/// Why a pipe is risky - its DACL lets Everyone, Anonymous or NETWORK write to it or create
/// instances of it - or empty when it does not.
std::string risk_of(const security_descriptor& sd);

} // namespace npipe::cli
