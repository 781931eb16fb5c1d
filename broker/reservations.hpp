// reservations.hpp - names kept for those who may add instances to the pipe they had: for a
// while after the pipe's last instance closed, and after a broker restart while one of the
// processes that held its instances runs (saved_pipes.hpp keeps them on disk). A squatter never
// takes such a name (docs/SECURITY.md, hostile cases 3 and 9).
#pragma once

#include "registry.hpp"
#include "saved_pipes.hpp"

#include <npipe/security.hpp>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace npipe::broker {

struct reservation {
    security_descriptor security; ///< of the pipe that was
    std::size_t descriptor_bytes = 0; ///< its SDDL's size, counted against the owner's limit
    uid_t owner_uid = 0;
    std::optional<clock::time_point> until; ///< kept until then (after the last instance closed)
    std::vector<server_process> holders;    ///< kept while one of these runs (after a restart)
    /// After a restart, until when the pipe is expected back (its servers ran when it was
    /// saved): opens and waits of the name wait for it meanwhile instead of failing.
    std::optional<clock::time_point> restoring_until;
    std::uint64_t pipe_id = 0;
    std::string display_name;
    bool saved = false; ///< its file is still in the store
    bool explicit_dacl = false; ///< pipe_entry::explicit_dacl of the pipe that was
};

class reservation_table {
public:
    /// `running`: whether a process is still alive (os::process_running; tests give their own).
    reservation_table(pipe_store& store, std::function<bool(const server_process&)> running)
        : store_(store), running_(std::move(running)) {}

    const reservation* find(const std::string& key) const;
    /// Whether the reservation still holds its name at `now`.
    bool in_force(const reservation& r, clock::time_point now) const;
    /// Keeps the name of a pipe that just went, unless its owner holds `max_per_owner` already.
    /// The pipe's saved file stays until the reservation ends, so a broker that restarts
    /// meanwhile keeps the name too. False when it was not kept (the caller removes the file).
    bool keep(const std::string& key, reservation r, unsigned max_per_owner);
    /// The name is taken by a new pipe: the reservation (and its saved file) go.
    void release(const std::string& key);
    /// Drops reservations no longer in force. `check_holders`: also those whose processes are
    /// gone (a /proc look per holder, so done now and then).
    void sweep(clock::time_point now, bool check_holders);
    /// Reserves what an earlier broker saved, for as long as its servers run and for `grace`
    /// at least (a pipe that went just before the restart keeps its reservation; when it went
    /// is not saved, so every name gets the whole reservation time). Returns the problems to log.
    /// Names whose pipes had servers are expected back for `restore_wait`.
    std::vector<std::string> load_saved(std::chrono::milliseconds grace, std::chrono::milliseconds restore_wait);

    std::size_t size() const noexcept { return names_.size(); }
    std::size_t descriptor_bytes_of(uid_t uid) const;
    /// The earliest `until`, and whether some reservation waits on its holders.
    std::optional<clock::time_point> next_expiry() const;
    bool any_held_by_processes() const;

private:
    pipe_store& store_;
    std::function<bool(const server_process&)> running_;
    std::map<std::string, reservation> names_; // canonical key -> the last pipe's rights
};

} // namespace npipe::broker
