#include "broker_link.hpp"

#include "os/daemon.hpp"
#include "os/poller.hpp"
#include "os/socket.hpp"
#include "runtime_dir.hpp"
#include "win32_errors.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sys/socket.h>
#include <thread>

namespace npipe::detail {
namespace {

constexpr auto start_timeout = std::chrono::seconds(10);
/// How long a process waits for another's start of the broker before starting one itself.
constexpr auto start_lock_patience = std::chrono::seconds(2);

bool nobody_listens(const std::error_code& ec) {
    return ec == std::errc::no_such_file_or_directory || ec == std::errc::connection_refused;
}

std::error_code start_broker(const runtime_location& loc) {
    if (auto ec = check_runtime_dir(loc.dir, false, true)) return ec;
    std::string program = broker_program();
    if (!os::is_executable(program)) {
        std::fprintf(stderr, "npipe: cannot start the broker: %s is not an executable\n", program.c_str());
        return win32(win32_error::service_not_active);
    }
    os::fd ready_read, ready_write;
    if (auto ec = os::make_pipe(ready_read, ready_write)) return to_win32(ec);
    std::vector<std::string> args = {"--runtime-dir", loc.dir,
                                     "--idle-exit", "60",
                                     "--ready-fd", std::to_string(ready_write.get()),
                                     "--log-file", broker_log_path(loc.dir)};
    if (auto ec = os::spawn_daemon(program, args, ready_write.get())) return to_win32(ec);
    ready_write.reset();
    // One byte means it listens; end of file means it exited (usually: another broker won the
    // race and serves already). Either way the caller retries its connect.
    (void)os::wait_readable(ready_read.get(), static_cast<int>(std::chrono::milliseconds(start_timeout).count()));
    return {};
}

} // namespace

std::string broker_program() {
    if (const char* env = std::getenv("NPIPE_BROKER"); env && *env) return env;
    std::string self = os::object_path_of(reinterpret_cast<const void*>(&broker_program));
    if (auto slash = self.rfind('/'); slash != std::string::npos) {
        std::string candidate = self.substr(0, slash) + "/" NPIPE_LIBDIR_TO_BINDIR "/npiped";
        if (os::is_executable(candidate)) return candidate;
    }
    return std::string(NPIPE_INSTALL_BINDIR) + "/npiped";
}

namespace {

os::fd connect_or_start(const runtime_location& loc, bool allow_start, std::error_code& ec) {
    ec.clear();
    auto deadline = std::chrono::steady_clock::now() + start_timeout;
    bool started = false;
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
        auto dir_check = check_runtime_dir(loc.dir, loc.system, false);
        if (dir_check && dir_check != win32_error::service_not_active) {
            std::fprintf(stderr, "npipe: refusing runtime directory %s: not a private directory of this user\n",
                         loc.dir.c_str());
            ec = dir_check;
            return {};
        }
        bool died = false;
        if (!dir_check) {
            // System scope: this uid's own socket first (a flood from another uid fills only
            // its own accept queue); the shared one for a first contact, or a broker gone.
            if (loc.system)
                if (auto own = os::connect_unix(uid_socket_path_in(uid_sockets_dir(loc.dir), ::geteuid())))
                    return std::move(own.value);
            auto c = os::connect_unix(broker_socket_path(loc.dir));
            if (c) return std::move(c.value);
            if (!nobody_listens(c.error)) {
                ec = to_win32(c.error);
                return {};
            }
            // The socket is there but nobody listens: a broker died without tidying up. Its
            // pipes are coming back (their servers register again with the next one), so even
            // a lookup starts it rather than call them gone.
            died = c.error == std::errc::connection_refused;
        }
        if (!(allow_start || died) || !loc.autostart) {
            ec = win32(win32_error::service_not_active);
            return {};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            std::fprintf(stderr, "npipe: the broker did not start within %lld s (see %s)\n",
                         static_cast<long long>(std::chrono::duration_cast<std::chrono::seconds>(start_timeout).count()),
                         broker_log_path(loc.dir).c_str());
            ec = win32(win32_error::service_not_active);
            return {};
        }
        if (!started) {
            started = true;
            // One start per outage: every process and thread that finds no broker waits on the
            // same lock; the first starts one, the others then find it listening. A holder that
            // keeps it longer than a start takes is stuck - stopped (SIGSTOP, a debugger) between
            // finding the broker gone and starting the next - and must not stop every other
            // process with it: past start_lock_patience, start without the lock. Two starts are
            // harmless: the broker's own lock lets one serve, and the other exits.
            if (auto ec_dir = check_runtime_dir(loc.dir, false, true)) {
                ec = ec_dir;
                return {};
            }
            auto start_lock = os::lock_file(broker_start_lock_path(loc.dir), start_lock_patience);
            if (!start_lock && start_lock.error != std::errc::operation_would_block) {
                ec = to_win32(start_lock.error);
                return {};
            }
            if (auto c = os::connect_unix(broker_socket_path(loc.dir))) return std::move(c.value);
            if ((ec = start_broker(loc))) return {};
            continue; // the lock goes here, with the broker listening
        }
        // Another process's broker is starting (it holds the lock); give it a moment.
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

} // namespace

os::fd connect_broker(const endpoint& where, broker_access how, std::error_code& ec) {
    runtime_location loc = resolve_location(where);
    os::fd sock = connect_or_start(loc, how == broker_access::create, ec);
    // With no broker there are no pipes; one is started only to create a pipe, or in place of
    // one that died (its pipes come back to the new one). Without autostart, the caller learns
    // that nothing runs.
    if (how == broker_access::lookup && ec == win32_error::service_not_active && loc.autostart)
        ec = win32(win32_error::file_not_found);
    return sock;
}

std::error_code send_frame(int sock, const std::vector<std::byte>& bytes, std::span<const int> fds) {
    auto ec = os::send_with_fds(sock, {bytes.data(), bytes.size()}, fds);
    if (!ec) return {};
    if (ec == std::errc::broken_pipe || ec == std::errc::connection_reset) {
        // The broker hung up. It may have said why first (a refused connection gets an error
        // reply before it is closed): that reason beats "not running".
        // Only an error frame is taken: anything else (a client pushed to an instance link just
        // before the broker went) stays for the caller to read.
        auto ready = os::wait_readable(sock, 0);
        std::byte header[protocol::header_size];
        if (ready && ready.value) {
            auto peeked = os::recv_some(sock, header, sizeof header, os::io_flags::peek | os::io_flags::dont_wait);
            protocol::frame_header h;
            if (peeked && peeked.value == sizeof header &&
                protocol::decode_header(std::span<const std::byte, protocol::header_size>(header, sizeof header),
                                        protocol::max_reply_body, h) == protocol::header_problem::none &&
                h.type == protocol::message_type::error) {
                frame f;
                std::error_code rec;
                if (receive_frame(sock, f, 0, rec)) return reply_error(f);
            }
        }
        return win32(win32_error::service_not_active);
    }
    return to_win32(ec);
}

bool receive_frame(int sock, frame& out, std::size_t max_fds, std::error_code& ec, int timeout_ms) {
    frame_receiver rx;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        if (rx.step(sock, max_fds, out, ec)) return true;
        if (ec) return false;
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                ec = win32(win32_error::sem_timeout);
                return false;
            }
            wait_ms = static_cast<int>(left.count());
        }
        auto ready = os::wait_readable(sock, wait_ms);
        if (!ready) {
            ec = to_win32(ready.error);
            return false;
        }
    }
}

bool broker_request::start(const endpoint& where, broker_access how, const std::vector<std::byte>& request,
                           std::error_code& ec) noexcept try {
    where_ = where;
    how_ = how;
    request_ = request;
    asked_again_ = false;
    if (send(ec)) return true;
    if (ec != win32_error::service_not_active || asked_again_) return false;
    asked_again_ = true; // the broker went between our connect and our request
    return send(ec);
} catch (const std::bad_alloc&) {
    ec = win32(win32_error::not_enough_memory);
    return false;
}

bool broker_request::send(std::error_code& ec) noexcept {
    close();
    sock_ = connect_broker(where_, how_, ec);
    if (ec) return false;
    if ((ec = send_frame(sock_.get(), request_))) {
        close();
        return false;
    }
    return true;
}

bool broker_request::reply(frame& out, std::size_t max_fds, std::error_code& ec) noexcept {
    if (rx_.step(sock_.get(), max_fds, out, ec)) return true;
    // Part of an answer came: the broker had taken the request, and asking again could do it twice.
    if (ec != win32_error::service_not_active || asked_again_ || !rx_.idle()) return false;
    asked_again_ = true;
    ec.clear();
    send(ec); // with `ec` clear: wait for the next broker's answer
    return false;
}

void broker_request::close() noexcept {
    sock_.reset();
    rx_.reset();
}

std::error_code reply_error(const frame& f) {
    if (f.type == protocol::message_type::error) {
        protocol::error_reply e;
        if (protocol::decode(f.body, e) && e.code != 0) return {static_cast<int>(e.code), win32_category()};
    }
    return win32(win32_error::invalid_data);
}

call_status broker_exchange(int sock, const std::vector<std::byte>& request, frame& reply, std::error_code& ec,
                            const call_options& options) {
    ec.clear();
    if ((ec = send_frame(sock, request, options.send_fds))) return call_status::failed;
    if (!receive_frame(sock, reply, options.expect_fds, ec, options.timeout_ms)) return call_status::failed;
    return call_status::replied;
}

unsigned count_instances(const std::string& name, const endpoint& where, std::error_code& ec) {
    protocol::pipe_list_reply list;
    broker_call(where, broker_access::query, protocol::name_request{name}, list, ec);
    if (ec) return 0;
    if (list.pipes.size() != 1) {
        ec = win32(win32_error::invalid_data);
        return 0;
    }
    return static_cast<unsigned>(list.pipes.front().instances.size());
}

} // namespace npipe::detail
