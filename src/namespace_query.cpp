// Looking at the namespace: list, query, broker status and stop. None of these starts a broker.
#include "broker_link.hpp"
#include "runtime_dir.hpp"
#include "win32_errors.hpp"

#include <npipe/namespace.hpp>
#include <npipe/pipe_name.hpp>

namespace npipe {
namespace {

pipe_status to_status(const protocol::pipe_record& r) {
    pipe_status s;
    s.name = r.name;
    s.type = r.type == 1 ? pipe_type::message : pipe_type::byte;
    s.direction = static_cast<pipe_direction>(r.direction);
    s.max_instances = r.max_instances;
    s.owner_uid = r.owner_uid;
    s.owner_sid = r.owner_sid;
    s.sddl = r.sddl;
    s.remote = r.remote;
    s.out_buffer_size = r.out_buffer_size;
    s.in_buffer_size = r.in_buffer_size;
    s.default_timeout = std::chrono::milliseconds(r.default_timeout_ms);
    s.reject_remote_clients = r.reject_remote;
    for (const auto& i : r.instances) {
        instance_status is;
        is.state = static_cast<instance_state>(i.state);
        is.server_pid = i.server_pid;
        is.server_uid = i.server_uid;
        if (i.client_pid != 0) is.client_pid = i.client_pid;
        if (i.client_uid != 0xFFFFFFFFu) is.client_uid = i.client_uid;
        s.instances.push_back(is);
    }
    return s;
}

/// Sends one request and reads the reply frame.
bool ask(const endpoint& where, const std::vector<std::byte>& request, detail::frame& reply, std::error_code& ec) {
    os::fd sock = detail::connect_broker(where, false, ec);
    if (ec) return false;
    if ((ec = detail::send_frame(sock.get(), request))) return false;
    return detail::receive_frame(sock.get(), reply, 0, ec);
}

} // namespace

std::vector<pipe_status> list_pipes(const endpoint& where) {
    std::error_code ec;
    auto r = list_pipes(where, ec);
    detail::throw_if(ec, "list_pipes");
    return r;
}

std::vector<pipe_status> list_pipes(const endpoint& where, std::error_code& ec) noexcept try {
    ec.clear();
    detail::frame reply;
    if (!ask(where, protocol::encode(protocol::message_type::list, {}), reply, ec)) {
        if (ec == win32_error::service_not_active) ec.clear(); // no broker: nothing exists
        return {};
    }
    protocol::pipe_list_reply list;
    if (reply.type != protocol::message_type::pipe_list || !protocol::decode(reply.body, list)) {
        ec = detail::reply_error(reply);
        return {};
    }
    std::vector<pipe_status> out;
    for (const auto& p : list.pipes) out.push_back(to_status(p));
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
    detail::frame reply;
    if (!ask(where, protocol::encode(protocol::name_request{std::string(name)}), reply, ec)) {
        if (ec == win32_error::service_not_active) ec = detail::win32(win32_error::file_not_found);
        return {};
    }
    protocol::pipe_list_reply list;
    if (reply.type != protocol::message_type::pipe_list || !protocol::decode(reply.body, list) || list.pipes.size() != 1) {
        ec = detail::reply_error(reply);
        return {};
    }
    return to_status(list.pipes.front());
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
    detail::frame reply;
    if (!ask(where, protocol::encode(protocol::message_type::status, {}), reply, ec)) return {};
    protocol::broker_status_reply r;
    if (reply.type != protocol::message_type::broker_status || !protocol::decode(reply.body, r)) {
        ec = detail::reply_error(reply);
        return {};
    }
    broker_status s;
    s.pid = r.pid;
    s.uid = r.uid;
    s.system_scope = r.system_scope;
    s.runtime_dir = r.runtime_dir;
    s.protocol_version = r.protocol_version;
    s.uptime = std::chrono::seconds(r.uptime_seconds);
    s.pipes = r.pipes;
    s.instances = r.instances;
    s.connections_served = r.connections_served;
    s.control_connections = r.control_connections;
    s.limit_connections_per_uid = r.limit_connections_per_uid;
    s.limit_instances_per_uid = r.limit_instances_per_uid;
    s.limit_waiters_per_uid = r.limit_waiters_per_uid;
    s.limit_descriptor_bytes_per_uid = r.limit_descriptor_bytes_per_uid;
    s.handshake_timeout = std::chrono::milliseconds(r.handshake_timeout_ms);
    s.idle_timeout = std::chrono::milliseconds(r.idle_timeout_ms);
    s.refused_by_limits = r.refused_by_limits;
    s.waiters = r.waiters;
    s.events = r.events;
    s.events_retained = r.events_retained;
    s.event_capacity = r.event_capacity;
    s.events_lost = r.events_lost;
    s.monitors = r.monitors;
    return s;
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
    detail::frame reply;
    if (!ask(where, protocol::encode(protocol::message_type::stop, {}), reply, ec)) return;
    if (reply.type != protocol::message_type::ok) ec = detail::reply_error(reply);
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
    os::fd sock = detail::connect_broker(where, options.follow, ec);
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
