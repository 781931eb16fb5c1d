// uid_sockets.hpp - a listening socket of its own for each uid that talks to a system-scope
// broker, so that one uid's flood of connections cannot queue ahead of another uid's.
//
// The kernel keeps one accept queue per listening socket, first come first served. On one
// shared socket, a uid opening tens of thousands of connections a second keeps that queue
// full, and every other uid's connect waits behind its backlog before the broker can even see
// whose it is (./dev soak: root's open p50 went from 0.4 to 22 ms). So the broker gives each
// uid it hears from its own socket, `<runtime dir>/by-uid/<uid>`, mode 0600 and owned by that
// uid: nobody else can connect there (root aside), and the broker takes a few connections from
// each ready socket in turn. The library connects to its own socket first and falls back to
// the shared one (broker.sock), which stays the way in for a uid's first contact and for a
// broker that cannot give files away (not root).
//
// The directory is the broker's (mode 0755 inside its checked runtime directory): nobody else
// can plant a socket there. Not thread-safe: the broker's loop owns it.
#pragma once

#include "os/fd.hpp"

#include <map>
#include <string>
#include <system_error>

namespace npipe::broker {

class uid_sockets {
public:
    /// At most this many uids get a socket of their own (the rest share broker.sock).
    static constexpr std::size_t max_uids = 256;

    /// Empties (or makes) `dir`: the sockets a dead broker left there lead nowhere.
    std::error_code open(const std::string& dir);
    /// Removes the sockets (the next broker would clear them anyway).
    ~uid_sockets();

    bool enabled() const noexcept { return !dir_.empty(); }
    bool has(uid_t uid) const { return sockets_.count(uid) != 0; }
    /// Makes `uid`'s socket; -1 when it cannot be made (full, or the file cannot be given to
    /// `uid`). Not tried again for that uid; `ec` says why (once only for "full").
    int add(uid_t uid, std::error_code& ec);
    const std::map<uid_t, os::fd>& all() const noexcept { return sockets_; }

private:
    std::string dir_;
    std::map<uid_t, os::fd> sockets_; ///< an invalid fd: tried and failed
    bool said_full_ = false;
};

} // namespace npipe::broker
