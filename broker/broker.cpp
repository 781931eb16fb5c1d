// The broker's life: start (directory, lock, socket, saved state), the loop, its deadlines,
// and its log.
#include "broker.hpp"

#include "os/process.hpp"
#include "runtime_dir.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

namespace npipe::broker {

broker::broker(config cfg)
    : cfg_(std::move(cfg)),
      connections_(cfg_, *this, [this](const char* level, const std::string& text) { log(level, text); }),
      store_(cfg_.runtime_dir),
      reserved_(store_, [](const server_process& s) { return os::process_running(s.pid, s.start_time); }),
      events_(cfg_.event_capacity) {}

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

namespace {

/// The listening socket: the one systemd passed (socket activation, fd 3), else a new one.
os::sys_result<os::fd> listening_socket(const config& cfg, bool& owns) {
    const char* listen_pid = std::getenv("LISTEN_PID");
    const char* listen_fds = std::getenv("LISTEN_FDS");
    if (listen_pid && listen_fds && std::atoi(listen_pid) == ::getpid() && std::atoi(listen_fds) >= 1) {
        os::set_nonblocking(3, true);
        os::set_cloexec(3, true);
        return {os::fd(3), {}};
    }
    // We hold the lock, so any socket file here is a dead broker's.
    const std::string path = detail::broker_socket_path(cfg.runtime_dir);
    os::remove_file(path);
    auto l = os::listen_unix(path, 512, cfg.system_scope ? 0666 : 0600);
    owns = static_cast<bool>(l);
    return l;
}

} // namespace

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

    fit_to_descriptors();
    self_start_ = os::process_start_time(::getpid()).value_or(0);
    event_file_.configure(cfg_.event_file, cfg_.event_file_max_bytes, cfg_.event_file_keep);
    load_rules();
    journal_.enable(cfg_.journald);
    // What an earlier broker left: names whose servers are still running are kept for them.
    if (auto ec = store_.open()) {
        log("warning", "cannot keep state in " + cfg_.runtime_dir + "/pipes (" + ec.message() +
                           "): pipes will not be kept across a restart");
    } else {
        for (const auto& problem : reserved_.load_saved(cfg_.name_reservation, cfg_.restore_wait)) log("warning", problem);
        if (reserved_.size()) log("info", "keeping " + std::to_string(reserved_.size()) + " names for their servers to re-register");
    }

    auto listener = listening_socket(cfg_, owns_socket_);
    const std::string path = detail::broker_socket_path(cfg_.runtime_dir);
    if (!listener) {
        log("error", "cannot listen on " + path + ": " + listener.error.message());
        return listener.error;
    }
    if (!owns_socket_) log("info", "using the socket systemd passed");
    auto s = os::signal_descriptor({SIGTERM, SIGINT, SIGHUP});
    if (!s) return s.error;
    signals_ = std::move(s.value);
    if (auto ec = connections_.open(std::move(listener.value), signals_.get())) return ec;
    if (cfg_.system_scope)
        if (auto ec = connections_.give_uids_sockets(detail::uid_sockets_dir(cfg_.runtime_dir)))
            log("warning", "every uid shares " + path + " (cannot use " + detail::uid_sockets_dir(cfg_.runtime_dir) +
                               ": " + ec.message() + "): a flood of connections from one uid delays the others");
    if (cfg_.samba) {
        if (auto ec = connections_.serve_samba(cfg_.samba_dir)) {
            log("error", "cannot serve SMB clients from " + cfg_.samba_dir + ": " + ec.message() +
                             " (it must be a directory only its owner, root or this broker's user, may enter)");
            return ec;
        }
        log("info", "serving exported pipes to SMB clients through smbd at " + cfg_.samba_dir);
    }
    os::ignore_sigpipe();

    log("info", std::string("serving ") + (cfg_.system_scope ? "system" : "user") + " scope at " + path +
                    " (protocol " + std::to_string(protocol::version) + ")");
    emit(events_built_.broker_started(self_actor(), cfg_.system_scope, cfg_.runtime_dir, reserved_.size()),
         ::geteuid(), std::nullopt);
    if (cfg_.ready_fd >= 0) {
        char ok = '1';
        [[maybe_unused]] auto r = ::write(cfg_.ready_fd, &ok, 1);
        ::close(cfg_.ready_fd);
        cfg_.ready_fd = -1;
    }
    return {};
}

void broker::fit_to_descriptors() {
    // A shell's soft limit (often 1,024) would stop the broker at about 500 instances: take the
    // hard limit, then keep every uid's limits within a share of it.
    auto limit = os::raise_descriptor_limit();
    if (!limit) return;
    auto before = cfg_.limits;
    if (fit_limits_to_descriptors(cfg_.limits, limit.value, cfg_.system_scope))
        log("warning", "descriptor limit " + std::to_string(limit.value) + ": per-uid limits lowered to fit it (" +
                           std::to_string(before.connections) + " -> " + std::to_string(cfg_.limits.connections) +
                           " connections, " + std::to_string(before.instances) + " -> " +
                           std::to_string(cfg_.limits.instances) + " instances)");
}

bool broker::idle() const { return registry_.pipes().empty() && connections_.empty(); }

int broker::next_timeout_ms() const {
    auto now = clock::now();
    std::optional<clock::time_point> next = connections_.next_deadline();
    auto consider = [&](std::optional<clock::time_point> t) { if (t && (!next || *t < *next)) next = t; };
    for (const auto& [key, pipe] : registry_.pipes())
        for (const auto& w : pipe->waiters) consider(w.deadline);
    consider(reserved_.next_expiry());
    consider(next_held_deadline());
    if (reserved_.any_held_by_processes()) consider(next_sweep_);
    if (cfg_.idle_exit.count() > 0 && idle()) consider(idle_since_ + cfg_.idle_exit);
    if (!next) return -1;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - now).count();
    return static_cast<int>(std::clamp<long long>(ms, 0, 60000));
}

void broker::on_signal() {
    auto sig = os::read_signal(signals_.get());
    if (sig && sig.value == SIGHUP) {
        log("info", "SIGHUP: loading the Sigma rules again");
        load_rules();
    } else if (sig) {
        log("info", "stopping on signal " + std::to_string(sig.value));
        stopping_ = true;
    }
}

int broker::run() {
    while (!stopping_) {
        bool was_idle = idle();
        if (auto ec = connections_.wait(next_timeout_ms(), [this] { on_signal(); })) {
            log("error", "epoll_wait: " + ec.message());
            return 1;
        }
        housekeeping();
        if (idle() && !was_idle) idle_since_ = clock::now();
        if (cfg_.idle_exit.count() > 0 && idle() && clock::now() - idle_since_ >= cfg_.idle_exit) {
            log("info", "idle, exiting");
            break;
        }
    }
    // Monitors hear the end (as far as their sockets take it without waiting).
    emit(events_built_.broker_stopped(self_actor(), registry_.pipes().size()), ::geteuid(), std::nullopt);
    return 0;
}

void broker::housekeeping() {
    auto now = clock::now();
    expire_waits(now);
    // Reservations after a restart last while their servers run: looked at now and then.
    bool check_holders = now >= next_sweep_;
    reserved_.sweep(now, check_holders);
    if (check_holders) next_sweep_ = now + std::chrono::seconds(5);
    expire_held(now);
    connections_.expire(now);
}

// ---- what survives a restart ------------------------------------------------------------------

std::uint64_t broker::new_pipe_id() {
    std::uint64_t id = 0;
    while (id == 0) id = (static_cast<std::uint64_t>(random_()) << 32) | random_();
    return id;
}

void broker::save_pipe(pipe_entry& p) {
    p.saved_servers = p.servers();
    saved_pipe s{p.id, p.key, p.display_name, p.owner_uid, p.security.to_sddl(), p.saved_servers, p.explicit_dacl};
    if (auto ec = store_.save(s)) log("warning", "cannot save the state of " + p.display_name + ": " + ec.message());
}

void broker::save_servers(pipe_entry& p) {
    if (p.servers() != p.saved_servers) save_pipe(p);
}

} // namespace npipe::broker
