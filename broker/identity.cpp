#include "identity.hpp"

namespace npipe::broker {

identity local_identity(const os::peer_credentials& peer) {
    identity who;
    who.from = identity::origin::local;
    who.pid = peer.pid;
    who.uid = peer.uid;
    who.gid = peer.gid;
    who.groups = peer.groups;
    who.label = peer.label;
    who.anonymous = peer.anonymous;
    return who;
}

access_identity access_identity_of(const identity& who) {
    access_identity a;
    a.uid = who.uid;
    a.gid = who.gid;
    a.groups.assign(who.groups.begin(), who.groups.end());
    a.anonymous = who.anonymous;
    a.remote = who.remote();
    a.more_sids = who.token_sids;
    return a;
}


} // namespace npipe::broker
