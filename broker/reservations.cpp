#include "reservations.hpp"

#include <algorithm>
#include <chrono>

namespace npipe::broker {

const reservation* reservation_table::find(const std::string& key) const {
    auto it = names_.find(key);
    return it == names_.end() ? nullptr : &it->second;
}

bool reservation_table::in_force(const reservation& r, clock::time_point now) const {
    if (r.until && now < *r.until) return true;
    return std::any_of(r.holders.begin(), r.holders.end(), running_);
}

bool reservation_table::keep(const std::string& key, reservation r, unsigned max_per_owner) {
    // Bounded per owner like instances: a user who makes and drops pipes in a loop cannot fill
    // the broker's memory (and its directory) with reservations.
    if (names_.size() >= max_per_owner) {
        auto held = std::count_if(names_.begin(), names_.end(),
                                  [&](const auto& n) { return n.second.owner_uid == r.owner_uid; });
        if (static_cast<std::size_t>(held) >= max_per_owner) return false;
    }
    r.saved = true; // the pipe's file: removed when the reservation ends
    names_[key] = std::move(r);
    return true;
}

void reservation_table::release(const std::string& key) {
    auto it = names_.find(key);
    if (it == names_.end()) return;
    if (it->second.saved) store_.remove(it->second.pipe_id);
    names_.erase(it);
}

void reservation_table::sweep(clock::time_point now, bool check_holders) {
    std::erase_if(names_, [&](const auto& entry) {
        const reservation& r = entry.second;
        bool gone = check_holders ? !in_force(r, now) : r.holders.empty() && r.until && now >= *r.until;
        if (gone && r.saved) store_.remove(r.pipe_id);
        return gone;
    });
}

std::vector<std::string> reservation_table::load_saved(std::chrono::milliseconds grace,
                                                       std::chrono::milliseconds restore_wait) {
    std::vector<std::string> problems;
    auto saved = store_.load(problems);
    for (auto& p : problems) p = "ignoring a broken saved pipe: " + p;
    for (auto& p : saved) {
        std::error_code ec;
        auto sd = parse_sddl(p.sddl, ec, nullptr, sid_policy::any);
        if (!sd) {
            problems.push_back("ignoring the saved pipe " + p.display_name + ": its security descriptor does not parse");
            store_.remove(p.id);
            continue;
        }
        reservation r;
        r.descriptor_bytes = p.sddl.size();
        r.security = std::move(*sd);
        r.owner_uid = p.owner_uid;
        r.holders = std::move(p.servers);
        r.pipe_id = p.id;
        r.display_name = p.display_name;
        r.explicit_dacl = p.explicit_dacl;
        r.saved = true;
        if (grace.count() > 0) r.until = clock::now() + grace;
        if (!r.holders.empty() && restore_wait.count() > 0) r.restoring_until = clock::now() + restore_wait;
        if (!in_force(r, clock::now())) { // its servers are gone and no grace: nothing to keep
            store_.remove(p.id);
            continue;
        }
        names_[p.key] = std::move(r);
    }
    return problems;
}

std::size_t reservation_table::descriptor_bytes_of(uid_t uid) const {
    std::size_t n = 0;
    for (const auto& [key, r] : names_)
        if (r.owner_uid == uid) n += r.descriptor_bytes;
    return n;
}

std::optional<clock::time_point> reservation_table::next_expiry() const {
    std::optional<clock::time_point> next;
    for (const auto& [key, r] : names_)
        if (r.until && (!next || *r.until < *next)) next = r.until;
    return next;
}

bool reservation_table::any_held_by_processes() const {
    return std::any_of(names_.begin(), names_.end(), [](const auto& n) { return !n.second.holders.empty(); });
}

} // namespace npipe::broker
