// The connection's I/O thread (connection.hpp): reading, checking and dispatching the server's
// messages, and moving the data of the connection's pipes (pipe_bridge.hpp).
#include "smb/connection.hpp"

#include "os/socket.hpp"
#include "smb/pipe_bridge.hpp"
#include "win32_errors.hpp"

#include <chrono>
#include <cstdlib>
#include <mutex>

namespace npipe::smb {

using detail::win32;

namespace {

/// The I/O threads that run, and their connections, for stop_all_connections().
struct io_threads {
    std::mutex mutex;
    std::condition_variable ended;
    int running = 0;
    std::vector<std::weak_ptr<connection>> connections;
};

io_threads& threads() {
    static io_threads* t = new io_threads; // never destroyed: used by the atexit handler itself
    return *t;
}

} // namespace

void connection::start_io() {
    static std::once_flag once;
    std::call_once(once, [] {
        init_crypto(); // OpenSSL registers its clean-up now, so ours (next) runs before it
        std::atexit([] { stop_all_connections(); });
    });
    {
        std::lock_guard lock(threads().mutex);
        ++threads().running;
        std::erase_if(threads().connections, [](const auto& w) { return w.expired(); });
        threads().connections.push_back(weak_from_this());
    }
    // The thread holds the connection; when it ends it drops that hold last of all, so the
    // connection may be destroyed on it (the destructor then detaches instead of joining).
    io_ = std::thread([self = shared_from_this()]() mutable {
        self->io_main();
        self.reset();
        release_thread_crypto();
        std::lock_guard lock(threads().mutex);
        --threads().running;
        threads().ended.notify_all();
    });
    io_id_ = io_.get_id();
}

void stop_all_connections() noexcept {
    std::vector<std::weak_ptr<connection>> all;
    {
        std::lock_guard lock(threads().mutex);
        all = threads().connections;
    }
    for (auto& w : all) {
        if (auto c = w.lock()) {
            c->stopping_ = true;
            os::set_wake_flag(c->wake_.get());
        }
    }
    std::unique_lock lock(threads().mutex);
    if (threads().ended.wait_for(lock, std::chrono::seconds(5), [] { return threads().running == 0; }))
        release_crypto(); // else a thread is stuck: leave OpenSSL's objects to it
}

void connection::io_main() {
    std::vector<pollfd> fds;
    auto idle_since = std::chrono::steady_clock::now();
    while (!stopping_ && !failed_) {
        if (!poll_once(fds)) break;
        bool busy = !bridges_.empty();
        {
            std::lock_guard lock(mu_);
            busy = busy || !pending_.empty() || !arriving_.empty();
        }
        const auto now = std::chrono::steady_clock::now();
        if (busy) idle_since = now;
        else if (now - idle_since > std::chrono::milliseconds(idle_ms)) break;
    }
    if (!failed_) fail_all(win32(win32_error::netname_deleted)); // idle, or stopping: no one may use it now
    for (auto& b : bridges_) b->abort();
    bridges_.clear();
    std::lock_guard lock(mu_);
    for (auto& b : arriving_) b->abort();
    arriving_.clear();
}

/// One round: adopt new bridges, wait for the socket, the wake flag or a pipe, then serve them.
bool connection::poll_once(std::vector<pollfd>& fds) {
    {
        std::lock_guard lock(mu_);
        for (auto& b : arriving_) bridges_.push_back(std::move(b));
        arriving_.clear();
    }
    for (auto& b : bridges_) b->pump();
    std::erase_if(bridges_, [](const auto& b) { return b->finished(); });
    fds.assign({pollfd{sock_.get(), POLLIN, 0}, pollfd{wake_.get(), POLLIN, 0}});
    // A bridge with nothing to wait for on its local end is left out: a closed end would report
    // POLLHUP on every round.
    for (auto& b : bridges_) {
        const short e = b->events();
        fds.push_back(pollfd{e ? b->descriptor() : -1, e, 0});
    }
    auto r = os::poll_all(fds, idle_ms);
    if (!r && r.error != std::errc::interrupted) return false;
    if (fds[1].revents) os::clear_wake_flag(wake_.get());
    if (fds[0].revents && !read_messages()) {
        fail_all(win32(win32_error::netname_deleted));
        return false;
    }
    for (std::size_t i = 0; i < bridges_.size(); ++i)
        if (fds[i + 2].revents) bridges_[i]->on_ready(fds[i + 2].revents);
    return true;
}

/// Whatever the socket has, cut into messages. False: the connection is over or broke a rule.
bool connection::read_messages() {
    std::byte buffer[65536];
    for (int rounds = 0; rounds < 64; ++rounds) {
        auto r = os::recv_some(sock_.get(), buffer, sizeof buffer, os::io_flags::dont_wait);
        if (!r) return r.error == std::errc::resource_unavailable_try_again;
        if (r.value == 0) return false;
        inbox_.insert(inbox_.end(), buffer, buffer + r.value);
        while (inbox_.size() >= 4) {
            auto length = smb2::transport_length(std::span<const std::byte, 4>(inbox_.data(), 4));
            if (!length) return false;
            if (inbox_.size() < 4 + *length) break;
            byte_vector message(inbox_.begin() + 4, inbox_.begin() + static_cast<std::ptrdiff_t>(4 + *length));
            inbox_.erase(inbox_.begin(), inbox_.begin() + static_cast<std::ptrdiff_t>(4 + *length));
            if (!take_message(std::move(message))) return false;
        }
    }
    return true;
}

bool connection::take_message(byte_vector message) {
    if (smb2::is_transform(message)) {
        if (!secured_) return false;
        auto plain = decrypt_message(message, keys_, session_id_);
        return plain && accept_response(*plain, true);
    }
    return accept_response(message, false);
}

/// Checks one response, counts its credits, and hands it to its request.
bool connection::accept_response(const byte_vector& message, bool was_encrypted) {
    auto h = smb2::decode_header(message);
    if (!h || !h->is_response()) return false;
    const bool interim = h->is_async() && h->status == smb2::status::pending;
    if (secured_ && h->session_id == session_id_ && !interim) {
        // Once the session is secured, nothing unprotected is believed.
        if (encrypt_ && !was_encrypted) return false;
        if (!was_encrypted && sign_ && !verify_message(message, keys_)) return false;
    }
    std::shared_ptr<pending> p;
    {
        std::lock_guard lock(mu_);
        credits_ += h->credits;
        auto it = pending_.find(h->message_id);
        if (it == pending_.end()) {
            cv_.notify_all();
            return true; // a request given up (timed out), or an oplock break: nothing waits
        }
        if (interim) {
            it->second->async_id = h->async_id;
            cv_.notify_all();
            return true;
        }
        p = std::move(it->second);
        pending_.erase(it);
        if (!p->done) {
            p->result = response{*h, message};
            p->finished = true;
        }
    }
    cv_.notify_all();
    if (p->done) {
        response r{*h, message};
        p->done(&r);
    }
    return true;
}

} // namespace npipe::smb
