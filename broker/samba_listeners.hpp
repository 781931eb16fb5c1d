// samba_listeners.hpp - the sockets smbd connects to for exported pipes: one per pipe, at
// `<np dir>/<the pipe's name in lower case>`, where smbd looks for a pipe an SMB client opens on
// IPC$ (see protocol/samba_npa.hpp for what it sends there).
//
// The np/ directory is smbd's (root's, or the user its RPC side runs as), mode 0700: anything
// that can connect there is trusted to speak for a user, so the broker refuses a directory that
// others may enter, and takes connections only from root or the directory's owner
// (SO_PEERCRED), never from a process it cannot tell is smbd.
//
// A socket is made when an exported pipe appears and removed when it goes. A name smbd could
// not ask for (a '/' or a non-ASCII character in it: smbd lower-cases Unicode, npipe compares
// ASCII) is not exported; neither is one whose socket file belongs to a live server (Samba's
// own pipes: a file there that nobody listens on is a dead broker's and is replaced).
// Not thread-safe: the broker's loop owns it.
#pragma once

#include "os/fd.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <sys/types.h>

namespace npipe::broker {

class samba_listeners {
public:
    /// Checks `dir` (made 0700 when missing): a directory nobody but its owner may enter, owned
    /// by root or by the broker's user.
    std::error_code open(const std::string& dir);
    /// Removes the sockets it made.
    ~samba_listeners();

    bool enabled() const noexcept { return !dir_.empty(); }
    /// Whether a peer of this uid may be smbd: root or the directory's owner.
    bool trusted(uid_t uid) const noexcept { return uid == 0 || uid == owner_; }
    /// The file name smbd connects to for the pipe whose canonical key is `key` (NAME upper-
    /// cased), or nullopt when smbd could not ask for it.
    static std::optional<std::string> leaf_for(const std::string& key);

    /// Makes the socket for pipe `key`: its descriptor, or -1 with the reason in `ec`.
    int add(const std::string& key, std::error_code& ec);
    /// Removes pipe `key`'s socket file and gives its descriptor back (empty when it has none).
    os::fd remove(const std::string& key);
    /// The pipe served by listening descriptor `fd`, or nullptr.
    const std::string* pipe_of(int fd) const;
    const std::map<std::string, os::fd>& all() const noexcept { return sockets_; }

private:
    std::string dir_;
    uid_t owner_ = 0;
    std::map<std::string, os::fd> sockets_; ///< pipe key -> its listening socket
};

} // namespace npipe::broker
