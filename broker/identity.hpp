// identity.hpp - who asks the broker, and from where: a value the decisions take, never read
// by them from a socket. Today every peer is local (the kernel's SO_PEERCRED, SO_PEERGROUPS and
// SO_PEERSEC, taken at accept); a remote SMB user (Samba's named_pipe_auth handshake: the
// account, its SIDs and the client's address) is the second origin.
#pragma once

#include "os/socket.hpp"

#include <npipe/security.hpp>

#include <string>
#include <sys/types.h>
#include <vector>

namespace npipe::broker {

struct identity {
    enum class origin : std::uint8_t { local, remote };
    origin from = origin::local;
    pid_t pid = 0; ///< the peer process (local peers)
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    std::vector<gid_t> groups; ///< supplementary groups
    std::string label;         ///< LSM label, empty without one
    bool anonymous = false;    ///< nobody we can name (an unmapped user-namespace peer)
    // Remote peers (SMB through Samba): who they are to the domain and where they come from.
    std::string account;  ///< the account name, without the domain
    std::string domain;   ///< its domain
    std::string address;  ///< the client's address as Samba saw it
    std::string computer; ///< the client's computer name (GetNamedPipeClientComputerName)
    std::uint16_t port = 0;
    /// The token's SIDs that the Unix ids do not already say (the domain user, its groups);
    /// samba_identity.cpp chooses which are taken. Access checks hold them beside the Unix
    /// SIDs (access_identity::more_sids), and the server is told them.
    std::vector<sid> token_sids;

    bool remote() const noexcept { return from == origin::remote; }
    /// DOMAIN\account, or the account alone when there is no domain.
    std::string qualified_account() const { return domain.empty() ? account : domain + "\\" + account; }
};

/// A local peer as the kernel describes it.
identity local_identity(const os::peer_credentials& peer);

/// The identity as an access check sees it (its SIDs: identity_sids()).
access_identity access_identity_of(const identity& who);

} // namespace npipe::broker
