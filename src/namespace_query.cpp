// Looking at the namespace: list, query, broker status and stop. None of these starts a broker.
#include "broker_link.hpp"
#include "namespace_records.hpp"
#include "runtime_dir.hpp"
#include "win32_errors.hpp"

#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>

namespace npipe {

std::vector<pipe_status> list_pipes(const endpoint& where) {
    std::error_code ec;
    auto r = list_pipes(where, ec);
    detail::throw_if(ec, "list_pipes");
    return r;
}

std::vector<pipe_status> list_pipes(const endpoint& where, std::error_code& ec) noexcept try {
    ec.clear();
    protocol::pipe_list_reply list;
    detail::broker_call(where, detail::broker_access::query, protocol::message_type::list, list, ec);
    if (ec) {
        if (ec == win32_error::service_not_active) ec.clear(); // no broker: nothing exists
        return {};
    }
    std::vector<pipe_status> out;
    for (const auto& p : list.pipes) out.push_back(detail::to_pipe_status(p));
    return out;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

pipe_status query_pipe(std::string_view name, const endpoint& where) {
    std::error_code ec;
    auto r = query_pipe(name, where, ec);
    detail::throw_if(ec, "query_pipe");
    return r;
}

pipe_status query_pipe(std::string_view name, const endpoint& where, std::error_code& ec) noexcept try {
    ec.clear();
    if (!parse_pipe_name(name, ec)) return {};
    protocol::pipe_list_reply list;
    detail::broker_call(where, detail::broker_access::query, protocol::name_request{std::string(name)}, list, ec);
    if (ec == win32_error::service_not_active) ec = detail::win32(win32_error::file_not_found); // no broker: no pipe
    if (ec) return {};
    if (list.pipes.size() != 1) {
        ec = detail::win32(win32_error::invalid_data);
        return {};
    }
    return detail::to_pipe_status(list.pipes.front());
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

broker_status get_broker_status(const endpoint& where) {
    std::error_code ec;
    auto r = get_broker_status(where, ec);
    detail::throw_if(ec, "broker status");
    return r;
}

broker_status get_broker_status(const endpoint& where, std::error_code& ec) noexcept try {
    ec.clear();
    broker_status r;
    detail::broker_call(where, detail::broker_access::query, protocol::message_type::status, r, ec);
    if (ec) return {};
    return r;
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

void stop_broker(const endpoint& where) {
    std::error_code ec;
    stop_broker(where, ec);
    detail::throw_if(ec, "broker stop");
}

void stop_broker(const endpoint& where, std::error_code& ec) noexcept try {
    ec.clear();
    detail::ok_reply ok;
    detail::broker_call(where, detail::broker_access::query, protocol::message_type::stop, ok, ec);
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
}

std::string resolve_runtime_dir(const endpoint& where) { return detail::resolve_location(where).dir; }

void monitor_events(const monitor_options& options,
                    const std::function<bool(std::uint64_t, const std::string&)>& on_event,
                    const std::function<void(std::uint64_t)>& on_lost, const endpoint& where,
                    std::error_code& ec) try {
    ec.clear();
    // A follower may come first (a defender watching before anything runs): it starts the user's
    // broker as any client that creates would.
    os::fd sock = detail::connect_broker(
        where, options.follow ? detail::broker_access::create : detail::broker_access::query, ec);
    if (ec) return;
    protocol::monitor_request req;
    req.follow = options.follow;
    req.since_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.since.time_since_epoch()).count();
    if ((ec = detail::send_frame(sock.get(), protocol::encode(req)))) return;
    for (;;) {
        detail::frame f;
        if (!detail::receive_frame(sock.get(), f, 0, ec)) return;
        if (f.type == protocol::message_type::events_end) return;
        if (f.type == protocol::message_type::events_lost) {
            protocol::events_lost_push lost;
            if (!protocol::decode(f.body, lost)) { ec = detail::win32(win32_error::invalid_data); return; }
            if (on_lost) on_lost(lost.count);
            continue;
        }
        protocol::event_push ev;
        if (f.type != protocol::message_type::event || !protocol::decode(f.body, ev)) {
            ec = detail::reply_error(f);
            return;
        }
        if (!on_event(ev.seq, ev.json)) return;
    }
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
}

} // namespace npipe
