// samba_identity.hpp - who a remote SMB user is, from what smbd says in its named_pipe_auth
// handshake (protocol/samba_npa.hpp). smbd has authenticated the user before it connects to
// np/, and np/ is reachable only by smbd's side (root, mode 0700): what it says is trusted as the
// kernel's credentials are for a local peer.
//
// The identity a DACL sees: the Unix token's uid, gid and groups (S-1-22-1-uid, S-1-22-2-gid,
// ...), NETWORK instead of Interactive, Everyone and Authenticated Users, and the token's other
// SIDs (the domain user and its groups, S-1-5-21-...). Left out of the token on purpose: the
// Unix SIDs (said by the Unix token), Interactive and LocalSystem (never true of a network
// user), and Administrators (which npipe grants for uid 0 alone, so that a Samba group mapping
// cannot make a remote user an administrator of pipes). A session smbd did not authenticate, or
// whose token holds Anonymous, is anonymous: Anonymous and NETWORK, nothing else.
#pragma once

#include "identity.hpp"

#include "protocol/samba_npa.hpp"

#include <optional>
#include <string>

namespace npipe::broker {

/// The remote user of `r`, or nullopt with the reason when `r` names nobody (no session, no
/// security token or no Unix token).
std::optional<identity> remote_identity(const protocol::samba::request& r, std::string& why);

} // namespace npipe::broker
