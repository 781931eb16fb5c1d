// Requests held for pipes coming back after a restart. A broker that starts again knows, from
// what the one before saved, the pipes whose servers still run: they register again within a
// moment. A CreateFile or WaitNamedPipe of such a name meanwhile is not told ERROR_FILE_NOT_FOUND
// (a client gives up on a pipe that exists): it waits for the pipe, bounded by the time its
// servers are given (config::restore_wait) and, for WaitNamedPipe, by the caller's own timeout.
#include "broker.hpp"

#include <algorithm>

namespace npipe::broker {

void broker::hold(connection& c, const std::string& key, held_request h) {
    c.kind = conn_kind::waiter; // no handshake deadline: it is answered when the pipe is back
    c.waiting_for = key;
    ++held_per_uid_[h.uid];
    held_[key].push_back(std::move(h));
}

void broker::forget_held(const connection& c) {
    auto it = held_.find(c.waiting_for);
    if (it == held_.end()) return;
    auto& list = it->second;
    auto gone = std::find_if(list.begin(), list.end(), [&](const held_request& h) { return h.connection == c.id; });
    if (gone == list.end()) return;
    if (auto n = held_per_uid_.find(gone->uid); n != held_per_uid_.end() && --n->second == 0) held_per_uid_.erase(n);
    list.erase(gone);
    if (list.empty()) held_.erase(it);
}

void broker::retake(held_request h) {
    connection* c = connections_.find(h.connection);
    if (!c) return;
    if (auto n = held_per_uid_.find(h.uid); n != held_per_uid_.end() && --n->second == 0) held_per_uid_.erase(n);
    c->kind = conn_kind::query; // answered below (or held as an ordinary waiter)
    c->waiting_for.clear();
    if (auto* open = std::get_if<protocol::open_request>(&h.request)) {
        open_pipe(*c, *open);
        return;
    }
    auto wait = std::get<protocol::wait_request>(h.request);
    if (h.wait_deadline) { // what is left of the caller's time
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*h.wait_deadline - clock::now()).count();
        if (left <= 0) {
            connections_.reply_error(*c, win32_error::sem_timeout);
            return;
        }
        wait.timeout_ms = static_cast<std::uint32_t>(left);
    }
    wait_for_pipe(*c, wait);
}

void broker::release_held(pipe_entry& p) {
    // Oldest first. Waits are answered now; an open takes a listening instance, so opens are
    // taken again only while one listens (the rest wait for the next instance).
    for (;;) {
        auto it = held_.find(p.key);
        if (it == held_.end()) return;
        auto& list = it->second;
        auto next = std::find_if(list.begin(), list.end(), [&](const held_request& h) {
            return std::holds_alternative<protocol::wait_request>(h.request) || p.any_listening();
        });
        if (next == list.end()) return;
        held_request h = std::move(*next);
        list.erase(next);
        if (list.empty()) held_.erase(it);
        retake(std::move(h));
    }
}

void broker::expire_held(clock::time_point now) {
    std::vector<held_request> due;
    for (auto it = held_.begin(); it != held_.end();) {
        // Its servers are gone (the reservation ended) and no pipe came: "no such pipe" now.
        bool will_not_come = !reserved_.find(it->first) && !registry_.find(it->first);
        auto& list = it->second;
        for (auto h = list.begin(); h != list.end();) {
            bool expired = now >= h->until || (h->wait_deadline && now >= *h->wait_deadline);
            if (expired || will_not_come) {
                due.push_back(std::move(*h));
                h = list.erase(h);
            } else {
                ++h;
            }
        }
        it = list.empty() ? held_.erase(it) : std::next(it);
    }
    for (auto& h : due) retake(std::move(h));
}

std::optional<clock::time_point> broker::next_held_deadline() const {
    std::optional<clock::time_point> next;
    for (const auto& [key, list] : held_)
        for (const auto& h : list) {
            auto t = h.wait_deadline ? std::min(h.until, *h.wait_deadline) : h.until;
            if (!next || t < *next) next = t;
        }
    return next;
}

} // namespace npipe::broker
