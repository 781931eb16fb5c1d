#include "broker.hpp"

#include "runtime_dir.hpp"

#include <npipe/pipe_name.hpp>

#include <algorithm>
#include <poll.h>
#include <cstring>
#include "os/process.hpp"
#include <csignal>
#include <cstdio>
#include <ctime>
#include <sys/socket.h>
#include <unistd.h>

namespace npipe::broker {
namespace {

constexpr std::uint64_t tag_listener = 1ull << 56;
constexpr std::uint64_t tag_signals = 2ull << 56;
constexpr std::uint64_t tag_connection = 3ull << 56;
constexpr std::uint64_t tag_server_end = 4ull << 56;
constexpr std::uint64_t tag_links = 5ull << 56; // the links poller has something ready
constexpr std::uint64_t tag_mask = 0xFFull << 56;

constexpr std::uint32_t default_wait_ms = 50; // nDefaultTimeOut 0 means 50 ms, as on Windows

std::span<const std::byte> as_bytes(const std::vector<std::byte>& v) { return {v.data(), v.size()}; }

/// An SQOS level as an event shows it.
const char* level_name(std::uint8_t level) {
    switch (level) {
    case 0: return "Anonymous";
    case 1: return "Identification";
    case 2: return "Impersonation";
    case 3: return "Delegation";
    }
    return "Unknown";
}

} // namespace

broker::broker(config cfg) : cfg_(std::move(cfg)), events_(cfg_.event_capacity), store_(cfg_.runtime_dir) {}

broker::~broker() {
    // Leave nothing behind that would make the next broker think we still run.
    if (owns_socket_) os::remove_file(detail::broker_socket_path(cfg_.runtime_dir));
}

void broker::log(const char* level, const std::string& text) const {
    // Many lines answer what peers do (denials, limits): a peer must not be able to flood the
    // log. A bucket of 200 lines refilled at 50 a second; what it drops is counted and said.
    // Errors and --verbose's debug lines always pass.
    bool always = std::strcmp(level, "error") == 0 || std::strcmp(level, "debug") == 0;
    auto now = clock::now();
    auto& b = log_bucket_;
    b.tokens = std::min(200.0, b.tokens + 50.0 * std::chrono::duration<double>(now - b.refilled).count());
    b.refilled = now;
    if (!always && b.tokens < 1.0) {
        ++b.dropped;
        return;
    }
    if (!always) b.tokens -= 1.0;
    if (b.dropped) {
        std::fprintf(stderr, "npiped[%d] warning: %llu log lines dropped (too many too fast)\n",
                     static_cast<int>(::getpid()), static_cast<unsigned long long>(b.dropped));
        b.dropped = 0;
    }
    std::fprintf(stderr, "npiped[%d] %s: %s\n", static_cast<int>(::getpid()), level, text.c_str());
}

std::error_code broker::start() {
    if (auto ec = detail::check_runtime_dir(cfg_.runtime_dir, cfg_.system_scope, true)) {
        log("error", "runtime directory " + cfg_.runtime_dir +
                         " is unsafe or unusable (must be a real directory owned by " +
                         (cfg_.system_scope ? std::string("root, not group/world-writable")
                                            : std::string("this user, mode 0700")) + ")");
        return ec;
    }
    auto lock = os::lock_file(detail::broker_lock_path(cfg_.runtime_dir));
    if (!lock) return lock.error;
    lock_ = std::move(lock.value);

    self_start_ = os::process_start_time(::getpid()).value_or(0);
    event_file_.configure(cfg_.event_file, cfg_.event_file_max_bytes, cfg_.event_file_keep);
    load_rules();
    journal_.enable(cfg_.journald);
    // What an earlier broker left: names whose servers are still running are kept for them.
    if (auto ec = store_.open()) {
        log("warning", "cannot keep state in " + cfg_.runtime_dir + "/pipes (" + ec.message() +
                           "): pipes will not be kept across a restart");
    } else {
        load_saved_pipes();
    }

    auto p = os::poller::create();
    if (!p) return p.error;
    poller_ = std::move(p.value);
    auto lp = os::poller::create();
    if (!lp) return lp.error;
    links_ = std::move(lp.value);
    if (auto ec = poller_.add(links_.native_handle(), EPOLLIN, tag_links)) return ec;

    const std::string path = detail::broker_socket_path(cfg_.runtime_dir);
    // systemd socket activation: the listening socket arrives as fd 3.
    const char* listen_pid = std::getenv("LISTEN_PID");
    const char* listen_fds = std::getenv("LISTEN_FDS");
    if (listen_pid && listen_fds && std::atoi(listen_pid) == ::getpid() && std::atoi(listen_fds) >= 1) {
        listener_.reset(3);
        os::set_nonblocking(3, true);
        os::set_cloexec(3, true);
        log("info", "using the socket systemd passed");
    } else {
        // We hold the lock, so any socket file here is a dead broker's.
        os::remove_file(path);
        auto l = os::listen_unix(path, 512, cfg_.system_scope ? 0666 : 0600);
        if (!l) {
            log("error", "cannot listen on " + path + ": " + l.error.message());
            return l.error;
        }
        listener_ = std::move(l.value);
        owns_socket_ = true;
    }
    if (auto ec = poller_.add(listener_.get(), EPOLLIN, tag_listener)) return ec;

    auto s = os::signal_descriptor({SIGTERM, SIGINT, SIGHUP});
    if (!s) return s.error;
    signals_ = std::move(s.value);
    poller_.add(signals_.get(), EPOLLIN, tag_signals);
    os::ignore_sigpipe();

    log("info", std::string("serving ") + (cfg_.system_scope ? "system" : "user") + " scope at " + path +
                    " (protocol " + std::to_string(protocol::version) + ")");
    {
        auto e = new_event(event_id::broker_started, "BrokerStarted", self_actor());
        e["Scope"] = cfg_.system_scope ? "system" : "user";
        e["RuntimeDirectory"] = cfg_.runtime_dir;
        e["KeptNames"] = reserved_names_.size();
        emit(std::move(e), ::geteuid(), std::nullopt);
    }
    if (cfg_.ready_fd >= 0) {
        char ok = '1';
        [[maybe_unused]] auto r = ::write(cfg_.ready_fd, &ok, 1);
        ::close(cfg_.ready_fd);
        cfg_.ready_fd = -1;
    }
    return {};
}

bool broker::idle() const {
    return registry_.pipes().empty() && connections_.empty();
}

int broker::next_timeout_ms() const {
    auto now = clock::now();
    std::optional<clock::time_point> next;
    auto consider = [&](clock::time_point t) { if (!next || t < *next) next = t; };
    for (const auto& [key, pipe] : registry_.pipes())
        for (const auto& w : pipe->waiters)
            if (w.deadline) consider(*w.deadline);
    for (const auto& [id, c] : connections_)
        if (c->kind == conn_kind::fresh) consider(c->opened_at + cfg_.handshake_timeout);
        else if (c->kind == conn_kind::query) consider(c->last_active + cfg_.idle_timeout);
    if (accept_paused_until_) consider(*accept_paused_until_);
    for (const auto& [key, r] : reserved_names_) {
        if (r.until) consider(*r.until);
        if (!r.holders.empty()) consider(next_sweep_);
    }
    if (cfg_.idle_exit.count() > 0 && idle()) consider(idle_since_ + cfg_.idle_exit);
    if (!next) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60000));
}

int broker::run() {
    std::vector<epoll_event> events;
    while (!stopping_) {
        bool was_idle = idle();
        if (auto ec = poller_.wait(events, next_timeout_ms())) {
            log("error", "epoll_wait: " + ec.message());
            return 1;
        }
        for (const auto& ev : events) {
            std::uint64_t kind = ev.data.u64 & tag_mask, id = ev.data.u64 & ~tag_mask;
            if (kind == tag_links) {
                take_link_events();
            } else if (kind == tag_listener) {
                accept_clients();
            } else if (kind == tag_signals) {
                auto sig = os::read_signal(signals_.get());
                if (sig && sig.value == SIGHUP) {
                    log("info", "SIGHUP: loading the Sigma rules again");
                    load_rules();
                } else if (sig) {
                    log("info", "stopping on signal " + std::to_string(sig.value));
                    stopping_ = true;
                }
            } else if (kind == tag_connection) {
                auto it = connections_.find(id);
                if (it == connections_.end()) continue;
                if (ev.events & EPOLLOUT) {
                    if (it->second->kind == conn_kind::monitor) pump_monitor(*it->second);
                    else send_unsent(*it->second);
                    it = connections_.find(id);
                    if (it == connections_.end()) continue;
                }
                if (ev.events & EPOLLIN) on_readable(*it->second, (ev.events & (EPOLLRDHUP | EPOLLHUP)) != 0);
                else if (ev.events & (EPOLLHUP | EPOLLERR)) close_connection(id, nullptr);
            }
        }
        expire_deadlines();
        if (idle() && !was_idle) idle_since_ = clock::now();
        if (cfg_.idle_exit.count() > 0 && idle() && clock::now() - idle_since_ >= cfg_.idle_exit) {
            log("info", "idle, exiting");
            break;
        }
    }
    // Monitors hear the end (as far as their sockets take it without waiting).
    auto e = new_event(event_id::broker_stopped, "BrokerStopped", self_actor());
    e["Pipes"] = registry_.pipes().size();
    emit(std::move(e), ::geteuid(), std::nullopt);
    return 0;
}

void broker::take_link_events() {
    // Level-triggered: a link whose bytes are all read is not ready any more, so rounds until
    // one comes back short have seen everything that was ready, however many links there are
    // (the bound only stops links that never stop sending; each round reads what they sent).
    std::vector<epoll_event> ready;
    for (int round = 0; round < 4096; ++round) {
        if (links_.wait(ready, 0)) return;
        for (const auto& ev : ready) on_link_event(ev);
        if (ready.size() < os::poller::batch) return;
    }
}

void broker::on_link_event(const epoll_event& ev) {
    std::uint64_t kind = ev.data.u64 & tag_mask, id = ev.data.u64 & ~tag_mask;
    if (kind == tag_server_end) {
        client_hung_up(id);
        return;
    }
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    if (ev.events & EPOLLOUT) {
        send_unsent(*it->second);
        it = connections_.find(id);
        if (it == connections_.end()) return;
    }
    // A closed link is read to its end now: its instance must be gone before the request that
    // made us look (a connected instance's close sends its counts, then the end).
    if (ev.events & EPOLLIN) on_readable(*it->second, (ev.events & (EPOLLRDHUP | EPOLLHUP)) != 0);
    else if (ev.events & (EPOLLHUP | EPOLLERR)) close_connection(id, nullptr);
}

void broker::reap_closed_connections() {
    take_link_events(); // closed instance links count too
    std::vector<epoll_event> ready;
    for (int round = 0; round < 16; ++round) {
        if (poller_.wait(ready, 0)) return;
        for (const auto& ev : ready) {
            if ((ev.data.u64 & tag_mask) != tag_connection || !(ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
                continue; // still ready next time (level-triggered)
            std::uint64_t id = ev.data.u64 & ~tag_mask;
            auto it = connections_.find(id);
            if (it == connections_.end()) continue;
            // Whatever it sent before closing is still taken.
            if (ev.events & EPOLLIN) on_readable(*it->second, true);
            else close_connection(id, nullptr);
        }
        if (ready.size() < os::poller::batch) return;
    }
}

void broker::accept_clients() {
    for (;;) {
        auto a = os::accept_nonblocking(listener_.get());
        if (!a) {
            if (a.error == std::errc::resource_unavailable_try_again) return;
            if (a.error == std::errc::too_many_files_open || a.error == std::errc::too_many_files_open_in_system) {
                // Out of descriptors: stop accepting for a moment instead of spinning; pending
                // clients wait in the backlog and everything already open keeps working.
                if (!out_of_descriptors_) // once per shortage, not every 100 ms
                    log("warning", "out of file descriptors: new connections wait until some close");
                out_of_descriptors_ = true;
                poller_.remove(listener_.get());
                accept_paused_until_ = clock::now() + std::chrono::milliseconds(100);
                return;
            }
            if (a.error == std::errc::connection_aborted) continue;
            log("error", "accept: " + a.error.message());
            return;
        }
        if (out_of_descriptors_) {
            log("info", "descriptors available again");
            out_of_descriptors_ = false;
        }
        auto c = std::make_unique<connection>();
        c->id = next_connection_id_++;
        c->sock = std::move(a.value);
        c->opened_at = clock::now();
        c->last_active = c->opened_at;
        auto cred = os::peer_credentials_of(c->sock.get());
        if (!cred) continue; // the peer vanished already
        c->peer = cred.value;
        // Connections closed a moment ago may not have been taken yet: a limit counts only
        // those really open.
        if (auto held_now = connections_per_uid_.find(c->peer.uid);
            held_now != connections_per_uid_.end() && held_now->second >= cfg_.limits.connections)
            reap_closed_connections();
        auto held_it = connections_per_uid_.find(c->peer.uid);
        unsigned held = held_it == connections_per_uid_.end() ? 0 : held_it->second;
        if (held >= cfg_.limits.connections) {
            ++refused_by_limits_;
            log("warning", "uid " + std::to_string(c->peer.uid) + " holds " + std::to_string(held) +
                               " connections (the limit): refusing pid " + std::to_string(c->peer.pid));
            // Say why before hanging up: the client's request gets this as its reply.
            auto refusal = protocol::encode(protocol::error_reply{static_cast<std::uint32_t>(win32_error::not_enough_quota)});
            (void)os::send_some(c->sock.get(), refusal.data(), refusal.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            continue;
        }
        if (poller_.add(c->sock.get(), EPOLLIN | EPOLLRDHUP, tag_connection | c->id)) continue;
        ++connections_per_uid_[c->peer.uid]; // counted only once really taken
        auto& added = *connections_.emplace(c->id, std::move(c)).first->second;
        // A client sends its request right after connecting: it is usually here already, and
        // taking it now saves a trip through epoll_wait.
        on_readable(added);
    }
}

void broker::on_readable(connection& c, bool to_the_end) {
    // Read what is there; a frame may arrive in pieces. Only create_instance carries a
    // descriptor; anything else that brings one is a protocol violation.
    std::byte buf[16384];
    std::uint64_t id = c.id;
    c.last_active = clock::now();
    for (;;) {
        // At most two descriptors: a page and, re-registering a connected instance, its client.
        auto r = os::recv_with_fds(c.sock.get(), buf, c.inbox_fds, 2, MSG_DONTWAIT);
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) break;
            close_connection(id, r.error == std::errc::bad_message ? "bad control data" : nullptr);
            return;
        }
        // The limit of two is per request, not per read: a peer that sends a few bytes with
        // two descriptors at a time must not fill the broker's descriptor table.
        if (c.inbox_fds.size() > (c.kind == conn_kind::fresh ? 2u : 0u)) {
            close_connection(id, "unexpected descriptors");
            return;
        }
        if (r.value == 0) {
            close_connection(id, c.inbox.empty() ? nullptr : "peer left mid-request");
            return;
        }
        c.inbox.insert(c.inbox.end(), buf, buf + r.value);
        if (c.inbox.size() > protocol::header_size + protocol::max_request_body) {
            close_connection(id, "request too large");
            return;
        }
        if (r.value < sizeof(buf) && !to_the_end) break;
    }
    take_requests(c);
}

void broker::take_requests(connection& c) {
    std::uint64_t id = c.id;
    // One request at a time: while an answer waits for room in the socket, the rest wait too.
    if (!c.unsent.empty()) return;
    if ((c.kind == conn_kind::fresh || c.kind == conn_kind::query) && c.inbox.size() >= protocol::header_size) {
        // A request: what the links had ready when it came goes first (see take_link_events).
        take_link_events();
        if (!connections_.count(id)) return;
    }
    while (c.unsent.empty() && c.inbox.size() >= protocol::header_size) {
        protocol::frame_header h;
        auto problem = protocol::decode_header(
            std::span<const std::byte, protocol::header_size>(c.inbox.data(), protocol::header_size),
            protocol::max_request_body, h);
        if (problem != protocol::header_problem::none) {
            close_connection(id, problem == protocol::header_problem::bad_version
                                     ? "protocol version mismatch"
                                     : "garbage instead of a request");
            return;
        }
        if (c.inbox.size() < protocol::header_size + h.length) return; // wait for the rest
        std::vector<std::byte> body(c.inbox.begin() + protocol::header_size,
                                    c.inbox.begin() + static_cast<std::ptrdiff_t>(protocol::header_size + h.length));
        c.inbox.erase(c.inbox.begin(), c.inbox.begin() + static_cast<std::ptrdiff_t>(protocol::header_size + h.length));
        if (!handle_frame(c, h, body)) return; // the connection is gone or handed over
    }
}

bool broker::handle_frame(connection& c, const protocol::frame_header& h, std::span<const std::byte> body) {
    using protocol::message_type;
    bool fds_allowed = h.type == message_type::create_instance && c.kind == conn_kind::fresh;
    if (!c.inbox_fds.empty() && !fds_allowed) {
        close_connection(c.id, "unexpected descriptors");
        return false;
    }
    if (c.kind == conn_kind::monitor) { // a reader only reads: anything more is a confused or hostile peer
        close_connection(c.id, "request on a monitor connection");
        return false;
    }
    // Requests that start a conversation are only valid on a fresh connection; listen and
    // disconnect only on an instance link; lookups on any connection but a link or a waiter.
    bool fresh = c.kind == conn_kind::fresh;
    bool link = c.kind == conn_kind::instance_link;
    bool lookup = !link && c.kind != conn_kind::waiter;
    bool valid = false;
    switch (h.type) {
    case message_type::create_instance:
    case message_type::open:
    case message_type::wait:
    case message_type::monitor:
    case message_type::get_security:
    case message_type::set_security: valid = fresh; break;
    case message_type::listen: valid = link && body.empty(); break;
    case message_type::disconnect: valid = link; break;
    case message_type::query: valid = lookup; break;
    case message_type::list:
    case message_type::status:
    case message_type::stop: valid = lookup && body.empty(); break;
    default: break;
    }
    if (!valid) {
        // Silently ignoring it would leave the peer waiting for an answer that never comes.
        close_connection(c.id, "unexpected request");
        return false;
    }
    switch (h.type) {
    case message_type::create_instance: return on_create(c, body);
    case message_type::open: return on_open(c, body);
    case message_type::wait: return on_wait(c, body);
    case message_type::listen: return on_listen(c);
    case message_type::disconnect: return on_disconnect(c, body);
    case message_type::query: return on_query(c, body);
    case message_type::list: return on_list(c);
    case message_type::status: return on_status(c);
    case message_type::stop: return on_stop(c);
    case message_type::monitor: return on_monitor(c, body);
    case message_type::get_security: return on_get_security(c, body);
    case message_type::set_security: return on_set_security(c, body);
    default: return false;
    }
}

void broker::reply(connection& c, const std::vector<std::byte>& frame) {
    // Never waits for the peer: what its socket does not take now is kept and sent when there
    // is room (EPOLLOUT), and its next requests wait until then. A peer that stops reading
    // holds one answer, not the broker.
    if (!c.unsent.empty()) {
        c.unsent.insert(c.unsent.end(), frame.begin(), frame.end());
        return;
    }
    auto r = os::send_once(c.sock.get(), as_bytes(frame), {});
    if (r.error && r.error != std::errc::resource_unavailable_try_again) {
        // The peer has gone; its connection's end is taken when epoll reports it.
        if (cfg_.verbose) log("debug", "reply to connection " + std::to_string(c.id) + " failed: " + r.error.message());
        return;
    }
    if (r.value == frame.size()) return;
    c.unsent.assign(frame.begin() + static_cast<std::ptrdiff_t>(r.value), frame.end());
    watch(c);
}

void broker::watch(connection& c) {
    auto& p = c.kind == conn_kind::instance_link ? links_ : poller_;
    // While an answer waits for room, only room matters: a peer that half-closes would make
    // EPOLLRDHUP fire on every wait (EPOLLHUP and EPOLLERR come anyway).
    p.modify(c.sock.get(), c.unsent.empty() ? EPOLLIN | EPOLLRDHUP : EPOLLOUT, tag_connection | c.id);
}

void broker::send_unsent(connection& c) {
    auto r = os::send_once(c.sock.get(), c.unsent, {});
    if (r.error) {
        if (r.error != std::errc::resource_unavailable_try_again) close_connection(c.id, nullptr);
        return;
    }
    c.unsent.erase(c.unsent.begin(), c.unsent.begin() + static_cast<std::ptrdiff_t>(r.value));
    if (r.value > 0) c.last_active = clock::now(); // a slow reader taking its answer is not idle
    if (!c.unsent.empty()) return;
    watch(c);
    take_requests(c); // those that came meanwhile and were read already
}

void broker::reply_error(connection& c, win32_error e) {
    reply(c, protocol::encode(protocol::error_reply{static_cast<std::uint32_t>(e)}));
}

namespace {

/// Who a peer is for an access check: the kernel's word, taken when it connected.
access_identity identity_of(const os::peer_credentials& p) {
    access_identity who;
    who.uid = p.uid;
    who.gid = p.gid;
    who.groups.assign(p.groups.begin(), p.groups.end());
    who.anonymous = p.anonymous;
    who.remote = false; // remote peers arrive with SMB support
    return who;
}

} // namespace

// ---- requests ---------------------------------------------------------------------------------

bool broker::on_create(connection& c, std::span<const std::byte> body) {
    protocol::create_instance_request req;
    bool decoded = protocol::decode(body, req);
    bool has_client = decoded && req.reregister &&
                      (req.state == static_cast<std::uint8_t>(instance_state::connected) ||
                       req.state == static_cast<std::uint8_t>(instance_state::closing));
    if (!decoded || c.inbox_fds.size() != (has_client ? 2u : 1u)) {
        close_connection(c.id, "malformed create_instance");
        return false;
    }
    os::fd page = std::move(c.inbox_fds.front());
    os::fd data = has_client ? std::move(c.inbox_fds.back()) : os::fd{};
    c.inbox_fds.clear();
    std::error_code ec;
    auto name = parse_pipe_name(req.name, ec);
    if (!name || !name->is_local()) { reply_error(c, win32_error::invalid_name); return true; }
    // Every refusal is an event: who tried to create what, and why not.
    auto refuse = [&](win32_error e, int id, const char* type, const std::string& reason, const pipe_entry* existing) {
        auto ev = new_event(id, type, actor_of(c));
        if (existing) add_pipe_fields(ev, *existing);
        else ev["PipeName"] = sysmon_pipe_name(name->full());
        ev["Result"] = "denied";
        ev["Reason"] = reason;
        ev["Error"] = win32_category().message(static_cast<int>(e));
        emit(std::move(ev), c.peer.uid, existing ? std::optional<uid_t>(existing->owner_uid) : std::nullopt);
        reply_error(c, e);
        return true;
    };
    if (req.direction < 1 || req.direction > 3 || req.type > 1 || req.max_instances < 1 ||
        req.max_instances > 255 || !os::shared_page::is_sealed_page(page.get())) {
        reply_error(c, win32_error::invalid_parameter);
        return true;
    }
    // A re-registered connected instance brings its data connection: the broker learns who the
    // client is from the kernel (the socket's peer), never from the server's word.
    std::optional<os::peer_credentials> client;
    if (has_client) {
        auto cred = os::peer_credentials_of(data.get());
        if (!cred) { reply_error(c, win32_error::invalid_parameter); return true; }
        client = cred.value;
    }
    pipe_entry* pipe = registry_.find(name->key);
    if (pipe) {
        // Another instance needs FILE_CREATE_PIPE_INSTANCE on the pipe, which write access
        // does not imply in npipe: nobody squats or extends a pipe its DACL does not let them.
        auto check = access_check(pipe->security, identity_of(c.peer), rights::FILE_CREATE_PIPE_INSTANCE);
        if (!check.granted) {
            log("warning", "squatting refused: uid " + std::to_string(c.peer.uid) + " (pid " +
                               std::to_string(c.peer.pid) + ") may not add an instance to " + pipe->display_name +
                               " owned by uid " + std::to_string(pipe->owner_uid) + ": " + check.reason);
            return refuse(win32_error::access_denied, event_id::squatting_attempt, "SquattingAttempt", check.reason, pipe);
        }
        // An instance coming back after a restart belongs to its own pipe, not to one someone
        // else made under the name meanwhile.
        if (req.reregister && req.pipe_id != 0 && req.pipe_id != pipe->id)
            return refuse(win32_error::access_denied, event_id::squatting_attempt, "SquattingAttempt",
                          "an instance of another pipe of this name came back after a restart", pipe);
        // FILE_FLAG_FIRST_PIPE_INSTANCE, or an instance that disagrees with the pipe. (An
        // instance coming back after a restart was not the first one, whatever it asked then.)
        if (req.first_instance && !req.reregister)
            return refuse(win32_error::access_denied, event_id::create_denied, "CreateDenied",
                          "FILE_FLAG_FIRST_PIPE_INSTANCE and the pipe exists", pipe);
        if (req.direction != pipe->direction || req.type != pipe->type || req.max_instances != pipe->max_instances)
            return refuse(win32_error::access_denied, event_id::create_denied, "CreateDenied",
                          "direction, type or instance limit differ from the pipe's", pipe);
        if (pipe->full())
            return refuse(win32_error::pipe_busy, event_id::create_denied, "CreateDenied", "all instances exist", pipe);
    }
    if (instances_of(c.peer.uid) >= cfg_.limits.instances) {
        ++refused_by_limits_;
        log("warning", "uid " + std::to_string(c.peer.uid) + " is at its limit of " +
                           std::to_string(cfg_.limits.instances) + " instances");
        return refuse(win32_error::not_enough_quota, event_id::create_denied, "CreateDenied",
                      "the uid is at its limit of " + std::to_string(cfg_.limits.instances) + " instances", pipe);
    }
    std::uint64_t start_time = actor_of(c).start_time;
    if (start_time == 0) { // it has exited already: nothing to register
        close_connection(c.id, nullptr);
        return false;
    }
    // Sigma rules see the create before it happens: in prevent mode a match refuses it.
    std::vector<std::shared_ptr<const sigma::rule>> hits;
    nlohmann::json probe;
    if (!rules_.rules.empty()) {
        probe = new_event(pipe ? event_id::instance_created : event_id::pipe_created, "CreatePipe", actor_of(c));
        if (pipe) add_pipe_fields(probe, *pipe);
        else probe["PipeName"] = sysmon_pipe_name(name->full());
        hits = match_rules(probe);
    }
    for (const auto& r : hits) {
        if (!prevents(*r)) continue;
        log("warning", "create of " + name->full() + " by pid " + std::to_string(c.peer.pid) +
                           " prevented by Sigma rule '" + r->title + "' (" + r->id + ")");
        emit_alerts(probe, hits, true, c.peer.uid, std::nullopt);
        return refuse(win32_error::access_denied, event_id::create_denied, "CreateDenied",
                      "prevented by Sigma rule '" + r->title + "' (" + r->id + ", " + r->author + ")", pipe);
    }
    bool created_pipe = false;
    if (!pipe) {
        // A name whose pipe just went, or whose servers have not come back since a restart, is
        // reserved for those who could add instances to it.
        const reservation* kept = nullptr;
        bool kept_in_force = false; // only then was the caller checked against it
        if (auto r = reserved_names_.find(name->key); r != reserved_names_.end()) {
            if (in_force(r->second)) {
                kept_in_force = true;
                auto check = access_check(r->second.security, identity_of(c.peer), rights::FILE_CREATE_PIPE_INSTANCE);
                if (!check.granted) {
                    log("warning", "squatting refused: uid " + std::to_string(c.peer.uid) + " (pid " +
                                       std::to_string(c.peer.pid) + ") may not take " + name->full() +
                                       ", reserved for uid " + std::to_string(r->second.owner_uid) + ": " +
                                       check.reason);
                    return refuse(win32_error::access_denied, event_id::squatting_attempt, "SquattingAttempt",
                                  "the name is reserved for uid " + std::to_string(r->second.owner_uid) + ": " +
                                      check.reason,
                                  nullptr);
                }
            }
            kept = &r->second;
            // Released once the new pipe exists (below): a create that fails keeps the name kept.
        }
        // The new pipe's security descriptor: the one it had before a restart, for an instance
        // of that pipe coming back; else the creator's SDDL, or npipe's default.
        security_descriptor sd;
        std::uint64_t id = 0;
        std::string display = name->full();
        bool restored = req.reregister && kept && kept_in_force && kept->pipe_id == req.pipe_id;
        if (restored) {
            sd = kept->security;
            id = kept->pipe_id;
            if (!kept->display_name.empty()) display = kept->display_name;
        } else if (req.sddl.empty()) {
            sd = default_descriptor(c.peer.uid, req.windows_default_acl ? default_dacl::windows_compatible
                                                                       : default_dacl::owner_and_root,
                                    c.peer.gid);
        } else {
            sddl_error where;
            auto parsed = parse_sddl(req.sddl, ec, &where);
            if (!parsed) {
                log("info", "create " + name->full() + " refused: " + where.message);
                return refuse(win32_error::invalid_parameter, event_id::create_denied, "CreateDenied",
                              "malformed SDDL: " + where.message, nullptr);
            }
            sd = std::move(*parsed);
            if (!sd.owner) sd.owner = sid::user(c.peer.uid); // the creator owns what it creates
            // Only root may give a pipe to someone else, as only a privileged thread can make
            // another user a file's owner on Windows.
            if (sd.owner != sid::user(c.peer.uid) && c.peer.uid != 0) {
                log("info", "create " + name->full() + " refused: uid " + std::to_string(c.peer.uid) +
                                " may not make " + sd.owner->to_string() + " the owner");
                return refuse(win32_error::invalid_owner, event_id::create_denied, "CreateDenied",
                              "only root may make " + sd.owner->to_string() + " the owner", nullptr);
            }
        }
        // The descriptor is kept in memory and on disk: its owner's budget must hold it (the
        // reservation it replaces gives its share back). A pipe coming back after a restart with
        // its kept descriptor had it counted already.
        std::size_t bytes = sd.to_sddl().size();
        uid_t charged = owner_uid_of(sd, c.peer.uid);
        std::size_t held = descriptor_bytes_of(charged) - (kept && kept->owner_uid == charged ? kept->descriptor_bytes : 0);
        if (!restored && held + bytes > cfg_.limits.descriptor_bytes) {
            ++refused_by_limits_;
            log("warning", "uid " + std::to_string(charged) + " would hold " + std::to_string(held + bytes) +
                               " bytes of security descriptors, over its limit of " +
                               std::to_string(cfg_.limits.descriptor_bytes));
            return refuse(win32_error::not_enough_quota, event_id::create_denied, "CreateDenied",
                          "the uid is at its limit of " + std::to_string(cfg_.limits.descriptor_bytes) +
                              " bytes of security descriptors",
                          nullptr);
        }
        if (kept) {
            if (kept->saved) store_.remove(kept->pipe_id);
            reserved_names_.erase(name->key); // `kept` dangles from here on
        }
        pipe = &registry_.add_pipe(name->key, id ? id : new_pipe_id());
        pipe->display_name = display;
        pipe->direction = req.direction;
        pipe->type = req.type;
        pipe->max_instances = req.max_instances;
        pipe->out_buffer_size = req.out_buffer_size;
        pipe->in_buffer_size = req.in_buffer_size;
        pipe->default_timeout_ms = req.default_timeout_ms;
        pipe->reject_remote = req.reject_remote;
        pipe->owner_uid = owner_uid_of(sd, c.peer.uid);
        pipe->security = std::move(sd);
        pipe->descriptor_bytes = bytes;
        if (cfg_.verbose) log("debug", "pipe created: " + pipe->display_name);
        created_pipe = true;
    }
    instance& inst = registry_.add_instance(*pipe);
    inst.link_connection = c.id;
    inst.server_pid = c.peer.pid;
    inst.server_start = start_time;
    inst.server_uid = c.peer.uid;
    inst.page = std::move(page);
    c.kind = conn_kind::instance_link;
    poller_.remove(c.sock.get());
    links_.add(c.sock.get(), EPOLLIN | EPOLLRDHUP, tag_connection | c.id);
    c.instance_id = inst.id;
    if (req.reregister) {
        // As it was before the restart: the same connection count (clients compare it with the
        // page), the same state, the same client.
        inst.generation = req.generation;
        inst.state = static_cast<instance_state>(req.state);
        if (client) {
            inst.client_pid = client->pid;
            inst.client_uid = client->uid;
            inst.client_start = os::process_start_time(client->pid).value_or(0);
            inst.connected_at = clock::now(); // as far as this broker knows
            inst.server_end = std::move(data);
            links_.add(inst.server_end.get(), EPOLLRDHUP, tag_server_end | inst.id);
        }
        log("info", "instance of " + pipe->display_name + " re-registered by pid " + std::to_string(c.peer.pid));
    }
    save_servers(*pipe);
    {
        // Sysmon logs EID 17 for every CreateNamedPipe: both are CreatePipe, EventId tells them apart.
        auto e = new_event(created_pipe ? event_id::pipe_created : event_id::instance_created, "CreatePipe", actor_of(c));
        add_pipe_fields(e, *pipe);
        if (req.reregister) e["Reason"] = "re-registered after a broker restart";
        if (!hits.empty()) e["RuleName"] = rule_names(hits);
        nlohmann::json trigger = e;
        emit(std::move(e), c.peer.uid, std::nullopt);
        emit_alerts(trigger, hits, false, c.peer.uid, std::nullopt);
    }
    reply(c, protocol::encode(protocol::created_reply{inst.id, pipe->id, ::getpid(), self_start_}));
    if (inst.state == instance_state::listening) instance_listening(*pipe);
    return true;
}

bool broker::on_open(connection& c, std::span<const std::byte> body) {
    protocol::open_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed open");
        return false;
    }
    std::error_code ec;
    auto name = parse_pipe_name(req.name, ec);
    if (!name) { reply_error(c, win32_error::invalid_name); return true; }
    if (!name->is_local()) { reply_error(c, win32_error::bad_netpath); return true; }
    pipe_entry* pipe = registry_.find(name->key);
    if (!pipe) { reply_error(c, win32_error::file_not_found); return true; }
    // The pipe's DACL must grant what the client asks for; CreateFile always adds SYNCHRONIZE
    // and FILE_READ_ATTRIBUTES, as Windows' does.
    std::uint32_t desired = req.desired_access ? req.desired_access
                                               : (req.read ? rights::GENERIC_READ : 0u) | (req.write ? rights::GENERIC_WRITE : 0u);
    desired |= rights::SYNCHRONIZE | rights::FILE_READ_ATTRIBUTES;
    auto denied = [&](const std::string& reason) {
        auto e = new_event(event_id::open_denied, "OpenDenied", actor_of(c));
        add_pipe_fields(e, *pipe);
        e["Result"] = "denied";
        e["Reason"] = reason;
        e["DesiredAccess"] = access_mask_names(desired);
        e["ImpersonationLevel"] = level_name(req.impersonation);
        emit(std::move(e), c.peer.uid, pipe->owner_uid);
        reply_error(c, win32_error::access_denied);
        return true;
    };
    auto check = access_check(pipe->security, identity_of(c.peer), desired);
    if (!check.granted) {
        log("info", "open of " + pipe->display_name + " denied to uid " + std::to_string(c.peer.uid) + " (pid " +
                        std::to_string(c.peer.pid) + "): " + check.reason);
        return denied(check.reason);
    }
    // Inbound: the client may only write. Outbound: only read.
    bool fits = !(req.read && !(pipe->direction & 2)) && !(req.write && !(pipe->direction & 1));
    if (!fits) return denied("the access asked for does not fit the pipe's direction");
    instance* inst = pipe->first_listening();
    // Sigma rules see the connect before it happens.
    std::vector<std::shared_ptr<const sigma::rule>> hits;
    if (inst && !rules_.rules.empty()) {
        auto probe = new_event(event_id::client_connected, "ConnectPipe", actor_of(c));
        add_pipe_fields(probe, *pipe);
        add_peer_fields(probe, inst->server_pid, inst->server_uid, inst->server_start);
        probe["ImpersonationLevel"] = level_name(req.impersonation);
        hits = match_rules(probe);
        for (const auto& r : hits) {
            if (!prevents(*r)) continue;
            log("warning", "open of " + pipe->display_name + " by pid " + std::to_string(c.peer.pid) +
                               " prevented by Sigma rule '" + r->title + "' (" + r->id + ")");
            emit_alerts(probe, hits, true, c.peer.uid, inst->server_uid);
            return denied("prevented by Sigma rule '" + r->title + "' (" + r->id + ", " + r->author + ")");
        }
    }
    if (!inst) { reply_error(c, win32_error::pipe_busy); return true; }
    if (!c.inbox.empty()) {
        // Bytes sent before the reply would belong to nobody: a confused or hostile client.
        close_connection(c.id, "data sent before open completed");
        return false;
    }

    // The server takes the client through its link: a link that cannot take the handover now
    // (its server does not read it) would turn this open into success followed by a broken
    // pipe, so the open is refused before anything is said.
    auto link = connections_.find(inst->link_connection);
    if (link == connections_.end() || !link->second->unsent.empty()) {
        reply_error(c, win32_error::pipe_busy);
        return true;
    }
    if (auto room = os::poll_one(link->second->sock.get(), POLLOUT, 0); !room || !(room.value & POLLOUT)) {
        reply_error(c, win32_error::pipe_busy);
        return true;
    }
    inst->generation++;
    protocol::opened_reply ok;
    ok.server_pid = inst->server_pid;
    ok.type = pipe->type;
    ok.direction = pipe->direction;
    ok.max_instances = pipe->max_instances;
    ok.out_buffer_size = pipe->out_buffer_size;
    ok.in_buffer_size = pipe->in_buffer_size;
    ok.generation = inst->generation;
    ok.pipe_id = pipe->id;
    ok.granted_access = check.granted_access;
    int page_fd = inst->page.get();
    auto opened = protocol::encode(ok);
    // The connection is handed over next: the answer must go whole now (a small frame on a
    // socket with nothing unsent always does, unless the peer is not reading at all).
    if (auto r = os::send_once(c.sock.get(), as_bytes(opened), std::span<const int>(&page_fd, 1));
        r.error || r.value != opened.size()) {
        close_connection(c.id, "the client does not read");
        return false;
    }
    protocol::client_arrived_push push;
    push.generation = inst->generation;
    push.pid = c.peer.pid;
    push.uid = c.peer.uid;
    push.gid = c.peer.gid;
    push.groups.assign(c.peer.groups.begin(), c.peer.groups.end());
    push.label = c.peer.label;
    push.anonymous = c.peer.anonymous;
    push.impersonation = req.impersonation;
    push.effective_only = req.effective_only;
    int data_fd = c.sock.get();
    auto pushed = protocol::encode(push);
    bool handed = false;
    {
        connection& l = *link->second;
        auto r = os::send_once(l.sock.get(), as_bytes(pushed), std::span<const int>(&data_fd, 1));
        handed = !r.error && r.value > 0; // the descriptor went with the first byte
        if (handed && r.value < pushed.size()) {
            l.unsent.assign(pushed.begin() + static_cast<std::ptrdiff_t>(r.value), pushed.end());
            watch(l);
        }
    }
    if (!handed) {
        // The server is gone, or does not read its link; the client sees its connection end.
        close_connection(c.id, nullptr);
        return false;
    }
    inst->state = instance_state::connected;
    inst->client_pid = c.peer.pid;
    inst->client_uid = c.peer.uid;
    inst->client_start = actor_of(c).start_time;
    inst->client_impersonation = req.impersonation;
    inst->connected_at = clock::now();
    connections_served_++;
    {
        auto e = new_event(event_id::client_connected, "ConnectPipe", actor_of(c));
        add_pipe_fields(e, *pipe);
        add_peer_fields(e, inst->server_pid, inst->server_uid, inst->server_start);
        e["ImpersonationLevel"] = level_name(req.impersonation);
        e["GrantedAccess"] = access_mask_names(check.granted_access);
        if (!hits.empty()) e["RuleName"] = rule_names(hits);
        nlohmann::json trigger = e;
        emit(std::move(e), c.peer.uid, inst->server_uid);
        emit_alerts(trigger, hits, false, c.peer.uid, inst->server_uid);
    }
    // Keep our copy of the server's end only to notice the client hanging up (no EPOLLIN: the
    // data is none of our business and must not wake us).
    inst->server_end = std::move(c.sock);
    poller_.remove(inst->server_end.get());
    links_.add(inst->server_end.get(), EPOLLRDHUP, tag_server_end | inst->id);
    // Handed over: no longer a control connection of the client's uid.
    count_out(c.peer.uid);
    connections_.erase(c.id);
    return false;
}

bool broker::on_wait(connection& c, std::span<const std::byte> body) {
    protocol::wait_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed wait");
        return false;
    }
    std::error_code ec;
    auto name = parse_pipe_name(req.name, ec);
    if (!name) { reply_error(c, win32_error::invalid_name); return true; }
    if (!name->is_local()) { reply_error(c, win32_error::bad_netpath); return true; }
    pipe_entry* pipe = registry_.find(name->key);
    if (!pipe) { reply_error(c, win32_error::file_not_found); return true; }
    if (pipe->any_listening()) {
        reply(c, protocol::encode(protocol::message_type::ok, {}));
        return true;
    }
    if (waiters_of(c.peer.uid) >= cfg_.limits.waiters) {
        ++refused_by_limits_;
        log("warning", "uid " + std::to_string(c.peer.uid) + " is at its limit of " +
                           std::to_string(cfg_.limits.waiters) + " waiting clients");
        reply_error(c, win32_error::not_enough_quota);
        return true;
    }
    std::uint32_t ms = req.timeout_ms;
    if (ms == 0) ms = pipe->default_timeout_ms ? pipe->default_timeout_ms : default_wait_ms;
    waiter w{c.id, std::nullopt};
    if (ms != 0xFFFFFFFFu) w.deadline = clock::now() + std::chrono::milliseconds(ms);
    pipe->waiters.push_back(w);
    c.kind = conn_kind::waiter;
    c.waiting_for = pipe->key;
    return true;
}

void broker::instance_listening(pipe_entry& p) {
    auto waiters = std::move(p.waiters);
    p.waiters.clear();
    for (const auto& w : waiters) {
        auto it = connections_.find(w.connection);
        if (it == connections_.end()) continue;
        reply(*it->second, protocol::encode(protocol::message_type::ok, {}));
        it->second->kind = conn_kind::query; // answered; the client closes it
        it->second->waiting_for.clear();
    }
}

bool broker::on_listen(connection& c) {
    instance* inst = registry_.find_instance(c.instance_id);
    if (!inst) return true;
    // Only a listen on an instance that was already listening needs an answer (has a client
    // come?); after a disconnect no client can be in flight, so the server does not wait.
    if (inst->state == instance_state::disconnected) {
        inst->state = instance_state::listening;
        instance_listening(*inst->pipe);
    } else {
        reply(c, protocol::encode(protocol::message_type::listening, {}));
    }
    return true;
}

bool broker::on_disconnect(connection& c, std::span<const std::byte> body) {
    protocol::disconnect_request counts;
    if (!protocol::decode(body, counts)) {
        close_connection(c.id, "malformed disconnect");
        return false;
    }
    instance* inst = registry_.find_instance(c.instance_id);
    if (!inst) return true;
    // Disconnecting a listening instance races with clients on their way: the answer marks
    // the point after which none can come. A connected instance needs no answer.
    bool was_listening = inst->state == instance_state::listening;
    if (inst->state == instance_state::connected || inst->state == instance_state::closing)
        emit_disconnected(*inst,
                          counts.client_closed ? "client closed" : counts.server_closing ? "server closed" : "server disconnected",
                          &counts);
    release_server_end(*inst);
    inst->state = instance_state::disconnected;
    inst->client_pid = 0;
    if (was_listening) reply(c, protocol::encode(protocol::message_type::disconnected, {}));
    return true;
}

void broker::release_server_end(instance& i) {
    if (!i.server_end) return;
    // The server holds the same socket: without an explicit removal epoll would keep watching.
    links_.remove(i.server_end.get());
    i.server_end.reset();
}

void broker::client_hung_up(std::uint64_t instance_id) {
    instance* inst = registry_.find_instance(instance_id);
    if (!inst) return;
    release_server_end(*inst);
    if (inst->state == instance_state::connected) inst->state = instance_state::closing;
}

bool broker::on_query(connection& c, std::span<const std::byte> body) {
    protocol::name_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed query");
        return false;
    }
    c.kind = conn_kind::query;
    std::error_code ec;
    auto name = parse_pipe_name(req.name, ec);
    if (!name) { reply_error(c, win32_error::invalid_name); return true; }
    pipe_entry* pipe = name->is_local() ? registry_.find(name->key) : nullptr;
    if (!pipe) { reply_error(c, win32_error::file_not_found); return true; }
    protocol::pipe_list_reply r;
    r.pipes.push_back(registry_.record(*pipe));
    reply(c, protocol::encode(r));
    return true;
}

bool broker::on_list(connection& c) {
    c.kind = conn_kind::query;
    protocol::pipe_list_reply r;
    for (const auto& [key, pipe] : registry_.pipes()) r.pipes.push_back(registry_.record(*pipe));
    reply(c, protocol::encode(r));
    return true;
}

uid_t broker::owner_uid_of(const security_descriptor& sd, uid_t fallback) {
    if (sd.owner && sd.owner->uid()) return *sd.owner->uid();
    if (sd.owner && sd.owner->to_string() == "S-1-5-32-544") return 0; // BA: root
    return fallback;
}

std::size_t broker::descriptor_bytes_of(uid_t uid) const {
    std::size_t n = 0;
    for (const auto& [key, p] : registry_.pipes())
        if (p->owner_uid == uid) n += p->descriptor_bytes;
    for (const auto& [key, r] : reserved_names_)
        if (r.owner_uid == uid) n += r.descriptor_bytes;
    return n;
}

unsigned broker::instances_of(uid_t uid) const {
    unsigned n = 0;
    for (const auto& [key, pipe] : registry_.pipes())
        for (const instance* i : pipe->instances) n += i->server_uid == uid;
    return n;
}

unsigned broker::waiters_of(uid_t uid) const {
    unsigned n = 0;
    for (const auto& [key, pipe] : registry_.pipes())
        for (const waiter& w : pipe->waiters) {
            auto it = connections_.find(w.connection);
            n += it != connections_.end() && it->second->peer.uid == uid;
        }
    return n;
}

bool broker::on_status(connection& c) {
    c.kind = conn_kind::query;
    protocol::broker_status_reply r;
    r.pid = ::getpid();
    r.uid = ::geteuid();
    r.system_scope = cfg_.system_scope;
    r.runtime_dir = cfg_.runtime_dir;
    r.uptime_seconds = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(clock::now() - started_).count());
    r.pipes = registry_.pipes().size();
    r.instances = registry_.instance_count();
    r.connections_served = connections_served_;
    r.control_connections = connections_.size();
    r.limit_connections_per_uid = cfg_.limits.connections;
    r.limit_instances_per_uid = cfg_.limits.instances;
    r.limit_waiters_per_uid = cfg_.limits.waiters;
    r.limit_descriptor_bytes_per_uid = cfg_.limits.descriptor_bytes;
    r.handshake_timeout_ms = static_cast<std::uint32_t>(cfg_.handshake_timeout.count());
    r.idle_timeout_ms = static_cast<std::uint32_t>(cfg_.idle_timeout.count());
    r.refused_by_limits = refused_by_limits_;
    for (const auto& [key, pipe] : registry_.pipes()) r.waiters += pipe->waiters.size();
    r.events = events_.next_seq() - 1;
    r.events_retained = events_.size();
    r.event_capacity = events_.capacity();
    r.events_lost = events_lost_;
    r.monitors = monitors_.size();
    reply(c, protocol::encode(r));
    return true;
}

bool broker::on_stop(connection& c) {
    c.kind = conn_kind::query;
    if (c.peer.uid != ::geteuid() && c.peer.uid != 0) {
        reply_error(c, win32_error::access_denied);
        return true;
    }
    log("info", "stop requested by pid " + std::to_string(c.peer.pid));
    reply(c, protocol::encode(protocol::message_type::ok, {}));
    stopping_ = true;
    return true;
}

// ---- events -----------------------------------------------------------------------------------

broker::actor broker::actor_of(connection& c) {
    if (c.peer_start == 0) c.peer_start = os::process_start_time(c.peer.pid).value_or(0);
    actor who{c.peer.pid, c.peer.uid, {c.peer.gid}, c.peer_start};
    for (auto g : c.peer.groups)
        if (g != c.peer.gid) who.gids.push_back(g);
    return who;
}

broker::actor broker::self_actor() const { return {::getpid(), ::geteuid(), {::getegid()}, self_start_}; }

nlohmann::json broker::new_event(int id, const char* type, const actor& who) {
    nlohmann::json e;
    e["EventId"] = id;
    e["EventType"] = type;
    auto now = std::chrono::system_clock::now();
    e["UtcTime"] = utc_time(now);
    e["UnixTimeMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto info = processes_.describe(who.pid, who.uid, who.start_time);
    e["ProcessGuid"] = info.guid;
    e["ProcessId"] = who.pid;
    e["Image"] = info.image;
    e["User"] = info.user;
    e["Uid"] = who.uid;
    if (!who.gids.empty()) e["Gids"] = who.gids;
    e["Remote"] = false; // remote peers arrive with SMB support
    e["Result"] = "success";
    return e;
}

void broker::add_pipe_fields(nlohmann::json& e, const pipe_entry& p) const {
    e["PipeName"] = sysmon_pipe_name(p.display_name);
    e["OwnerSid"] = p.security.owner ? p.security.owner->to_string() : sid::user(p.owner_uid).to_string();
    e["Sddl"] = p.security.to_sddl();
    e["Instances"] = p.instances.size();
    e["MaxInstances"] = p.max_instances;
    e["PipeType"] = p.type == 1 ? "Message" : "Byte";
}

void broker::add_peer_fields(nlohmann::json& e, pid_t pid, uid_t uid, std::uint64_t start_time) {
    auto info = processes_.describe(pid, uid, start_time);
    e["PeerProcessId"] = pid;
    e["PeerProcessGuid"] = info.guid;
    e["PeerUid"] = uid;
    e["PeerImage"] = info.image;
    e["PeerUser"] = info.user;
}

void broker::emit_disconnected(instance& i, const char* reason, const protocol::disconnect_request* counts) {
    // The server end is the actor; its groups are not kept per instance.
    auto e = new_event(event_id::disconnected, "DisconnectPipe", actor{i.server_pid, i.server_uid, {}, i.server_start});
    add_pipe_fields(e, *i.pipe);
    add_peer_fields(e, i.client_pid, i.client_uid, i.client_start);
    e["Reason"] = reason;
    e["DurationMs"] = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - i.connected_at).count();
    if (counts) {
        e["BytesFromClient"] = counts->bytes_from_client;
        e["BytesToClient"] = counts->bytes_to_client;
    }
    emit(std::move(e), i.server_uid, i.client_uid);
}

void broker::emit(nlohmann::json e, uid_t uid, std::optional<uid_t> peer_uid) {
    std::uint64_t seq = events_.next_seq();
    e["Sequence"] = seq;
    // Invalid UTF-8 (a name is checked, an image path is not) is replaced, never a reason to drop.
    std::string line = e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string problem;
    bool ok = event_file_.write(line, problem);
    if (ok && journal_.enabled()) {
        std::string result = e.value("Result", "");
        std::string type = e.value("EventType", "");
        int priority = type == "Alert" ? 2 : result == "denied" ? 4 : result == "timeout" ? 5 : 6;
        std::string summary = type + " " + e.value("PipeName", "") + " by pid " + std::to_string(e.value("ProcessId", 0)) +
                              " (" + e.value("Image", "") + ", " + e.value("User", "") + "): " + result;
        if (e.contains("Reason")) summary += ": " + e.value("Reason", "");
        ok = journal_.write(line, summary, priority, problem);
    }
    if (!ok && !sink_failing_) log("warning", "event sink: " + problem + " (the ring keeps every event)");
    if (ok && sink_failing_) log("info", "event sinks work again");
    sink_failing_ = !ok;
    events_.append(uid, peer_uid, e.value("UnixTimeMs", std::int64_t{0}), std::move(line));
    pump_monitors();
}

void broker::pump_monitors() {
    // A copy: pumping may close a monitor.
    std::vector<std::uint64_t> ids(monitors_.begin(), monitors_.end());
    for (auto id : ids)
        if (auto it = connections_.find(id); it != connections_.end()) pump_monitor(*it->second);
}

void broker::pump_monitor(connection& c) {
    for (;;) {
        while (!c.outbox.empty()) {
            c.last_active = clock::now(); // progress: a reader taking its events is not idle
            auto r = os::send_some(c.sock.get(), c.outbox.data(), c.outbox.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (!r) {
                if (r.error == std::errc::resource_unavailable_try_again) {
                    // A slow reader waits for room; nobody else does.
                    if (!c.waiting_writable) {
                        poller_.modify(c.sock.get(), EPOLLIN | EPOLLRDHUP | EPOLLOUT, tag_connection | c.id);
                        c.waiting_writable = true;
                    }
                    return;
                }
                close_connection(c.id, nullptr);
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
        if (!visible) continue;
        if (next->unix_ms < c.since_unix_ms) continue;
        c.outbox = protocol::encode(protocol::event_push{next->seq, next->json});
    }
    if (c.waiting_writable) {
        poller_.modify(c.sock.get(), EPOLLIN | EPOLLRDHUP, tag_connection | c.id);
        c.waiting_writable = false;
    }
    if (c.end_sent) { // everything retained, and the end marker, are sent: the reader closes
        c.kind = conn_kind::query;
        monitors_.erase(c.id);
        c.last_active = clock::now();
    }
}

bool broker::on_monitor(connection& c, std::span<const std::byte> body) {
    protocol::monitor_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed monitor");
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
    return connections_.count(id) != 0; // a reader that hung up already is gone

}

// ---- security descriptors after creation (GetSecurityInfo / SetSecurityInfo) -----------------

broker::pipe_lookup broker::find_pipe_for_handle(const std::string& spelled, std::uint64_t id) {
    std::error_code ec;
    auto name = parse_pipe_name(spelled, ec);
    if (!name || !name->is_local()) return {nullptr, win32_error::invalid_name};
    pipe_entry* pipe = registry_.find(name->key);
    // The handle's pipe is gone (perhaps replaced by another of the same name): nothing to do.
    if (!pipe || pipe->id != id) return {nullptr, win32_error::pipe_not_connected};
    return {pipe, win32_error::success};
}

bool broker::on_get_security(connection& c, std::span<const std::byte> body) {
    protocol::get_security_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed get_security");
        return false;
    }
    c.kind = conn_kind::query;
    auto [pipe, error] = find_pipe_for_handle(req.name, req.pipe_id);
    if (!pipe) { reply_error(c, error); return true; }
    auto check = access_check(pipe->security, identity_of(c.peer), rights::READ_CONTROL);
    if (!check.granted) {
        log("info", "reading the security of " + pipe->display_name + " denied to uid " +
                        std::to_string(c.peer.uid) + ": " + check.reason);
        reply_error(c, win32_error::access_denied);
        return true;
    }
    reply(c, protocol::encode(protocol::security_reply{pipe->security.to_sddl()}));
    return true;
}

bool broker::on_set_security(connection& c, std::span<const std::byte> body) {
    protocol::set_security_request req;
    if (!protocol::decode(body, req)) {
        close_connection(c.id, "malformed set_security");
        return false;
    }
    c.kind = conn_kind::query;
    namespace parts = protocol::security_parts;
    constexpr std::uint32_t protected_dacl = 0x80000000, unprotected_dacl = 0x20000000;
    constexpr std::uint32_t known = parts::owner | parts::group | parts::dacl | parts::sacl | protected_dacl |
                                    unprotected_dacl;
    if (req.parts == 0 || (req.parts & ~known) || ((req.parts & protected_dacl) && (req.parts & unprotected_dacl))) {
        reply_error(c, win32_error::invalid_parameter);
        return true;
    }
    auto [pipe, error] = find_pipe_for_handle(req.name, req.pipe_id);
    if (!pipe) { reply_error(c, error); return true; }
    // Pipes carry no SACL, and nobody here holds the privilege (SeSecurityPrivilege) to set one.
    if (req.parts & parts::sacl) { reply_error(c, win32_error::access_denied); return true; }
    std::uint32_t needed = ((req.parts & (parts::owner | parts::group)) ? rights::WRITE_OWNER : 0u) |
                           ((req.parts & (parts::dacl | protected_dacl | unprotected_dacl)) ? rights::WRITE_DAC : 0u);
    auto check = access_check(pipe->security, identity_of(c.peer), needed);
    if (!check.granted) {
        log("info", "changing the security of " + pipe->display_name + " denied to uid " +
                        std::to_string(c.peer.uid) + ": " + check.reason);
        auto e = new_event(event_id::security_changed, "SecurityChange", actor_of(c));
        add_pipe_fields(e, *pipe);
        e["Result"] = "denied";
        e["Reason"] = check.reason;
        emit(std::move(e), c.peer.uid, pipe->owner_uid);
        reply_error(c, win32_error::access_denied);
        return true;
    }
    std::error_code ec;
    sddl_error where;
    auto given = parse_sddl(req.sddl, ec, &where);
    if (!given) {
        log("info", "security of " + pipe->display_name + " not changed: " + where.message);
        reply_error(c, win32_error::invalid_parameter);
        return true;
    }
    security_descriptor next = pipe->security;
    if (req.parts & parts::owner) {
        if (!given->owner) { reply_error(c, win32_error::invalid_parameter); return true; }
        // As on Windows without SeRestorePrivilege: one may only make oneself the owner.
        if (*given->owner != sid::user(c.peer.uid) && c.peer.uid != 0) {
            reply_error(c, win32_error::invalid_owner);
            return true;
        }
        next.owner = given->owner;
    }
    if (req.parts & parts::group) {
        if (!given->group) { reply_error(c, win32_error::invalid_parameter); return true; }
        next.group = given->group;
    }
    if (req.parts & parts::dacl) {
        next.dacl = given->dacl; // nullopt: a NULL DACL, everyone may do everything
        next.control = static_cast<std::uint16_t>((next.control & ~(sd_control::DACL_PROTECTED |
                                                                     sd_control::DACL_AUTO_INHERITED |
                                                                     sd_control::DACL_AUTO_INHERIT_REQ)) |
                                                  (given->control & (sd_control::DACL_PROTECTED |
                                                                     sd_control::DACL_AUTO_INHERITED |
                                                                     sd_control::DACL_AUTO_INHERIT_REQ)) |
                                                  sd_control::DACL_PRESENT);
    }
    if (req.parts & protected_dacl) next.control |= sd_control::DACL_PROTECTED;
    if (req.parts & unprotected_dacl) next.control = static_cast<std::uint16_t>(next.control & ~sd_control::DACL_PROTECTED);
    std::string before = pipe->security.to_sddl();
    std::string after = next.to_sddl();
    uid_t charged = owner_uid_of(next, pipe->owner_uid);
    std::size_t held = descriptor_bytes_of(charged) - (charged == pipe->owner_uid ? pipe->descriptor_bytes : 0);
    if (held + after.size() > cfg_.limits.descriptor_bytes) {
        ++refused_by_limits_;
        log("warning", "security of " + pipe->display_name + " not changed: uid " + std::to_string(charged) +
                           " would be over its limit of " + std::to_string(cfg_.limits.descriptor_bytes) +
                           " bytes of security descriptors");
        reply_error(c, win32_error::not_enough_quota);
        return true;
    }
    log("info", "security of " + pipe->display_name + " changed by uid " + std::to_string(c.peer.uid) + " (pid " +
                    std::to_string(c.peer.pid) + "): " + before + " -> " + after);
    pipe->descriptor_bytes = after.size();
    uid_t owner_before = pipe->owner_uid;
    pipe->security = std::move(next);
    pipe->owner_uid = owner_uid_of(pipe->security, pipe->owner_uid);
    save_pipe(*pipe);
    {
        auto e = new_event(event_id::security_changed, "SecurityChange", actor_of(c));
        add_pipe_fields(e, *pipe);
        e["PreviousSddl"] = before;
        emit(std::move(e), c.peer.uid, owner_before);
    }
    reply(c, protocol::encode(protocol::security_reply{pipe->security.to_sddl()}));
    return true;
}

// ---- what survives a restart ------------------------------------------------------------------

std::uint64_t broker::new_pipe_id() {
    std::uint64_t id = 0;
    while (id == 0) id = (static_cast<std::uint64_t>(random_()) << 32) | random_();
    return id;
}

void broker::save_pipe(pipe_entry& p) {
    p.saved_servers = p.servers();
    saved_pipe s{p.id, p.key, p.display_name, p.owner_uid, p.security.to_sddl(), p.saved_servers};
    if (auto ec = store_.save(s)) log("warning", "cannot save the state of " + p.display_name + ": " + ec.message());
}

void broker::save_servers(pipe_entry& p) {
    if (p.servers() != p.saved_servers) save_pipe(p);
}

bool broker::in_force(const reservation& r) const {
    if (r.until && clock::now() < *r.until) return true;
    return std::any_of(r.holders.begin(), r.holders.end(),
                       [](const server_process& s) { return os::process_running(s.pid, s.start_time); });
}

void broker::load_saved_pipes() {
    std::vector<std::string> problems;
    auto saved = store_.load(problems);
    for (const auto& p : problems) log("warning", "ignoring a broken saved pipe: " + p);
    for (auto& p : saved) {
        std::error_code ec;
        auto sd = parse_sddl(p.sddl, ec, nullptr, sid_policy::any);
        if (!sd) {
            log("warning", "ignoring the saved pipe " + p.display_name + ": its security descriptor does not parse");
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
        r.saved = true;
        if (!in_force(r)) { // its servers are gone: nothing to keep
            store_.remove(p.id);
            continue;
        }
        log("info", "keeping " + p.display_name + " for its servers to re-register");
        reserved_names_[p.key] = std::move(r);
    }
}

void broker::sweep_reservations() {
    std::erase_if(reserved_names_, [&](const auto& entry) {
        if (in_force(entry.second)) return false;
        if (entry.second.saved) store_.remove(entry.second.pipe_id);
        return true;
    });
}

// ---- housekeeping -----------------------------------------------------------------------------

void broker::count_out(uid_t uid) {
    if (auto held = connections_per_uid_.find(uid); held != connections_per_uid_.end() && held->second > 0)
        if (--held->second == 0) connections_per_uid_.erase(held);
}

void broker::close_connection(std::uint64_t id, const char* why) {
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    connection& c = *it->second;
    if (why) log("warning", std::string("dropping connection from pid ") + std::to_string(c.peer.pid) + ": " + why);
    (c.kind == conn_kind::instance_link ? links_ : poller_).remove(c.sock.get());
    count_out(c.peer.uid);
    monitors_.erase(id);
    if (c.kind == conn_kind::waiter) {
        if (pipe_entry* p = registry_.find(c.waiting_for))
            std::erase_if(p->waiters, [&](const waiter& w) { return w.connection == id; });
    }
    if (c.kind == conn_kind::instance_link) {
        // The instance's handle is closed (or its process died): the instance is gone, and the
        // pipe with it when it was the last.
        if (instance* inst = registry_.find_instance(c.instance_id)) {
            if (inst->state == instance_state::connected || inst->state == instance_state::closing)
                emit_disconnected(*inst, "server closed", nullptr); // closed without its counts (it died)
            release_server_end(*inst);
            std::string name = inst->pipe->display_name;
            std::string key = inst->pipe->key;
            reservation kept;
            kept.security = inst->pipe->security;
            kept.descriptor_bytes = inst->pipe->descriptor_bytes;
            kept.owner_uid = inst->pipe->owner_uid;
            kept.until = clock::now() + cfg_.name_reservation;
            kept.pipe_id = inst->pipe->id;
            kept.display_name = name;
            pipe_entry* pipe = inst->pipe;
            std::vector<waiter> orphans;
            if (!registry_.remove_instance(c.instance_id, orphans)) {
                save_servers(*pipe);
            } else {
                if (cfg_.verbose) log("debug", "pipe gone: " + name);
                auto e = new_event(event_id::pipe_gone, "PipeGone", actor_of(c));
                e["PipeName"] = sysmon_pipe_name(name);
                e["OwnerSid"] = sid::user(kept.owner_uid).to_string();
                if (kept.security.owner) e["OwnerSid"] = kept.security.owner->to_string();
                e["Sddl"] = kept.security.to_sddl();
                e["Instances"] = 0;
                emit(std::move(e), c.peer.uid, std::nullopt);
                store_.remove(kept.pipe_id);
                // Reservations are bounded per owner like instances: a user who makes and drops
                // pipes in a loop cannot fill the broker's memory with them.
                bool room = true;
                if (reserved_names_.size() >= cfg_.limits.instances) {
                    unsigned held_by_owner = 0;
                    for (const auto& [k, r] : reserved_names_) held_by_owner += r.owner_uid == kept.owner_uid;
                    room = held_by_owner < cfg_.limits.instances;
                }
                if (cfg_.name_reservation.count() > 0 && room) reserved_names_[key] = std::move(kept);
                for (const auto& w : orphans) {
                    auto wit = connections_.find(w.connection);
                    if (wit == connections_.end()) continue;
                    reply_error(*wit->second, win32_error::file_not_found);
                    wit->second->kind = conn_kind::query;
                }
            }
        }
    }
    connections_.erase(it);
}

void broker::expire_deadlines() {
    auto now = clock::now();
    if (accept_paused_until_ && now >= *accept_paused_until_) {
        accept_paused_until_.reset();
        poller_.add(listener_.get(), EPOLLIN, tag_listener);
    }
    for (const auto& [key, pipe] : registry_.pipes()) {
        std::vector<waiter> keep;
        for (const auto& w : pipe->waiters) {
            if (w.deadline && now >= *w.deadline) {
                auto it = connections_.find(w.connection);
                if (it != connections_.end()) {
                    auto e = new_event(event_id::wait_timed_out, "WaitTimeout", actor_of(*it->second));
                    add_pipe_fields(e, *pipe);
                    e["Result"] = "timeout";
                    e["Reason"] = "no instance listened in time (ERROR_SEM_TIMEOUT)";
                    emit(std::move(e), it->second->peer.uid, pipe->owner_uid);
                    reply_error(*it->second, win32_error::sem_timeout);
                    it->second->kind = conn_kind::query;
                }
            } else {
                keep.push_back(w);
            }
        }
        pipe->waiters = std::move(keep);
    }
    // Reservations after a restart last while their servers run: looked at now and then.
    if (now >= next_sweep_) {
        sweep_reservations();
        next_sweep_ = now + std::chrono::seconds(5);
    } else {
        std::erase_if(reserved_names_, [&](const auto& r) {
            return r.second.holders.empty() && r.second.until && now >= *r.second.until;
        });
    }
    std::vector<std::uint64_t> stale, idle;
    for (const auto& [id, c] : connections_) {
        if (c->kind == conn_kind::fresh && now - c->opened_at >= cfg_.handshake_timeout) stale.push_back(id);
        // Answered: the peer has what it asked for and should have closed. Holding the
        // connection only holds one of its uid's connection slots.
        if (c->kind == conn_kind::query && now - c->last_active >= cfg_.idle_timeout) idle.push_back(id);
    }
    for (auto id : stale) close_connection(id, "no complete request in time");
    for (auto id : idle) close_connection(id, "answered, then idle");
}

} // namespace npipe::broker
