// Events leave the broker here: every sink (the event file, the journal), the ring, and the
// monitors reading it - each as far as its socket takes without waiting.
#include "broker.hpp"

#include "os/process.hpp"

#include <npipe/event_fields.hpp>

#include <sys/socket.h>
#include <unistd.h>

namespace npipe::broker {

actor broker::actor_of(connection& c) {
    if (c.peer_start == 0) c.peer_start = os::process_start_time(c.peer.pid).value_or(0);
    actor who{c.peer.pid, c.peer.uid, {c.peer.gid}, c.peer_start, {}};
    for (auto g : c.peer.groups)
        if (g != c.peer.gid) who.gids.push_back(g);
    return who;
}

actor broker::self_actor() const { return {::getpid(), ::geteuid(), {::getegid()}, self_start_, {}}; }

void broker::emit(nlohmann::json e, uid_t uid, std::optional<uid_t> peer_uid) {
    namespace f = event_field;
    std::uint64_t seq = events_.next_seq();
    e[f::sequence] = seq;
    // Invalid UTF-8 (a name is checked, an image path is not) is replaced, never a reason to drop.
    std::string line = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string problem;
    bool ok = event_file_.write(line, problem);
    if (ok && journal_.enabled()) {
        std::string result = e.value(f::result, "");
        std::string type = e.value(f::event_type, "");
        int priority = type == event_type::alert ? 2 : result == "denied" ? 4 : result == "timeout" ? 5 : 6;
        std::string summary = type + " " + e.value(f::pipe_name, "") + " by pid " +
                              std::to_string(e.value(f::process_id, 0)) + " (" + e.value(f::image, "") + ", " +
                              e.value(f::user, "") + "): " + result;
        if (e.contains(f::reason)) summary += ": " + e.value(f::reason, "");
        ok = journal_.write(line, summary, priority, problem);
    }
    if (!ok && !sink_failing_) log("warning", "event sink: " + problem + " (the ring keeps every event)");
    if (ok && sink_failing_) log("info", "event sinks work again");
    sink_failing_ = !ok;
    events_.append(uid, peer_uid, e.value(f::unix_time_ms, std::int64_t{0}), std::move(line));
    pump_monitors();
}

void broker::pump_monitors() {
    // A copy: pumping may close a monitor.
    std::vector<std::uint64_t> ids(monitors_.begin(), monitors_.end());
    for (auto id : ids)
        if (connection* c = connections_.find(id)) pump_monitor(*c);
}

void broker::pump_monitor(connection& c) {
    for (;;) {
        while (!c.outbox.empty()) {
            c.last_active = clock::now(); // progress: a reader taking its events is not idle
            auto r = os::send_some(c.sock.get(), c.outbox.data(), c.outbox.size(), os::io_flags::dont_wait);
            if (!r) {
                // A slow reader waits for room; nobody else does.
                if (r.error == std::errc::resource_unavailable_try_again) connections_.watch_for_room(c, true);
                else connections_.close(c.id, nullptr);
                return;
            }
            c.outbox.erase(c.outbox.begin(), c.outbox.begin() + static_cast<std::ptrdiff_t>(r.value));
        }
        if (c.end_sent) break; // nothing follows the end marker
        if (c.cursor < events_.oldest_seq()) {
            // The ring moved on before this reader took these: say how many, never pretend.
            std::uint64_t lost = events_.oldest_seq() - c.cursor;
            events_lost_ += lost;
            c.cursor = events_.oldest_seq();
            c.outbox = protocol::encode(protocol::events_lost_push{lost});
            continue;
        }
        const event_record* next = c.follow || c.cursor < c.end_seq ? events_.at(c.cursor) : nullptr;
        if (!next) {
            // Up to date. A reader that does not follow gets the end marker (through the outbox,
            // like any frame: its socket may be full), then the connection is an answered one.
            if (c.follow || c.end_sent) break;
            c.outbox = protocol::encode(protocol::message_type::events_end, {});
            c.end_sent = true;
            continue;
        }
        ++c.cursor;
        bool visible = c.sees_all || next->uid == c.peer.uid || (next->peer_uid && *next->peer_uid == c.peer.uid);
        if (!visible || next->unix_ms < c.since_unix_ms) continue;
        c.outbox = protocol::encode(protocol::event_push{next->seq, next->json});
    }
    connections_.watch_for_room(c, false);
    if (c.end_sent) { // everything retained, and the end marker, are sent: the reader closes
        c.kind = conn_kind::query;
        monitors_.erase(c.id);
        c.last_active = clock::now();
    }
}

bool broker::on_monitor(connection& c, std::span<const std::byte> body) {
    protocol::monitor_request req;
    if (!protocol::decode(body, req)) {
        connections_.close(c.id, "malformed monitor");
        return false;
    }
    c.kind = conn_kind::monitor;
    monitors_.insert(c.id);
    c.follow = req.follow;
    c.since_unix_ms = req.since_unix_ms;
    // Other users' events are root's and the broker user's to read (in user scope that is
    // everyone who can reach the socket: the directory is the user's own).
    c.sees_all = c.peer.uid == 0 || c.peer.uid == ::geteuid();
    c.cursor = events_.oldest_seq();
    c.end_seq = events_.next_seq(); // a reader that does not follow gets what exists now
    std::uint64_t id = c.id;
    pump_monitor(c);
    return connections_.find(id) != nullptr; // a reader that hung up already is gone
}

} // namespace npipe::broker
