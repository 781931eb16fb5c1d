// Sending requests and waiting for their responses (connection.hpp); the registry of shared
// connections.
#include "smb/connection.hpp"

#include "os/socket.hpp"
#include "smb/pipe_bridge.hpp"
#include "win32_errors.hpp"

#include <poll.h>

#include <chrono>
#include <map>
#include <tuple>

namespace npipe::smb {
namespace {

using detail::win32;

/// Credits a request of `bytes` payload costs (MS-SMB2 3.1.5.2): one per 64 KiB begun.
std::uint16_t charge_of(std::size_t bytes) noexcept {
    return static_cast<std::uint16_t>(bytes <= 65536 ? 1 : (bytes - 1) / 65536 + 1);
}

/// The payload a request moves, for its credit charge: a READ's length, a WRITE's data, an
/// IOCTL's larger direction.
std::size_t payload_of(smb2::command cmd, const byte_vector& body) noexcept {
    auto u32_at = [&](std::size_t at) -> std::size_t {
        if (body.size() < at + 4) return 0;
        std::size_t v = 0;
        for (std::size_t i = 0; i < 4; ++i) v |= std::to_integer<std::size_t>(body[at + i]) << (8 * i);
        return v;
    };
    switch (cmd) {
    case smb2::command::read: return u32_at(4);
    case smb2::command::write: return u32_at(4);
    case smb2::command::ioctl: return std::max(u32_at(28), u32_at(44));
    default: return 0;
    }
}

constexpr std::uint16_t credits_wanted = 256; // asked with every request: keeps the window open

} // namespace

connection::~connection() {
    stopping_ = true;
    if (wake_) os::set_wake_flag(wake_.get());
    if (io_.joinable()) {
        if (io_.get_id() == std::this_thread::get_id()) io_.detach();
        else io_.join();
    }
}

std::error_code connection::write_message(const byte_vector& message) {
    auto prefix = smb2::transport_prefix(message.size());
    std::size_t done = 0;
    const std::size_t total = prefix.size() + message.size();
    while (done < total) {
        os::sys_result<std::size_t> r;
        if (done < prefix.size())
            r = os::send_two(sock_.get(), prefix.data() + done, prefix.size() - done, message.data(), message.size(),
                             os::io_flags::dont_wait);
        else
            r = os::send_some(sock_.get(), message.data() + (done - prefix.size()), total - done,
                              os::io_flags::dont_wait);
        if (r) {
            done += r.value;
            continue;
        }
        if (r.error != std::errc::resource_unavailable_try_again) return r.error;
        auto ready = os::poll_one(sock_.get(), POLLOUT, -1);
        if (!ready) return ready.error;
    }
    return {};
}

/// Signs or encrypts a request once the session is secured (never NEGOTIATE/SESSION_SETUP).
bool connection::protect(byte_vector& message, const smb2::header& h) {
    if (!secured_ || h.session_id == 0) return true;
    if (encrypt_) {
        auto sealed = encrypt_message(message, keys_, session_id_);
        if (!sealed) return false;
        message = std::move(*sealed);
        return true;
    }
    return !sign_ || sign_message(message, keys_);
}

std::uint64_t connection::send_request(smb2::command cmd, const byte_vector& body, std::shared_ptr<pending> p,
                                       std::error_code& ec, byte_vector* sent) {
    const std::uint16_t charge = charge_of(payload_of(cmd, body));
    smb2::header h;
    {
        std::unique_lock lock(mu_);
        if (std::this_thread::get_id() == io_id_.load() && !failed_ && credits_ < charge) {
            ec = win32(win32_error::busy); // the I/O thread cannot wait for what only it receives
            return 0;
        }
        cv_.wait(lock, [&] { return failed_ || credits_ >= charge; });
        if (failed_) {
            ec = failure_;
            return 0;
        }
        credits_ -= charge;
        h.message_id = next_message_id_;
        next_message_id_ += charge;
        pending_[h.message_id] = std::move(p);
    }
    h.cmd = cmd;
    h.credit_charge = charge;
    h.credits = credits_wanted;
    h.session_id = cmd == smb2::command::negotiate ? 0 : session_id_;
    h.tree_id = (cmd == smb2::command::negotiate || cmd == smb2::command::session_setup ||
                 cmd == smb2::command::logoff) ? 0 : tree_id_;
    byte_vector message;
    message.reserve(smb2::header_size + body.size());
    smb2::encode_header(h, message);
    message.insert(message.end(), body.begin(), body.end());
    if (sent) *sent = message;
    {
        std::lock_guard send_lock(send_mutex_);
        if (!protect(message, h)) ec = win32(win32_error::internal_error);
        else ec = write_message(message);
    }
    if (ec) {
        // The handlers of pending requests run in fail_all: never with send_mutex_ held.
        fail_all(win32(win32_error::netname_deleted));
        ec = win32(win32_error::netname_deleted);
        return 0;
    }
    return h.message_id;
}

std::optional<response> connection::call(smb2::command cmd, const byte_vector& body, std::error_code& ec,
                                         int timeout_ms, byte_vector* sent) {
    auto p = std::make_shared<pending>();
    const std::uint64_t id = send_request(cmd, body, p, ec, sent);
    if (ec) return std::nullopt;
    std::unique_lock lock(mu_);
    auto done = [&] { return p->finished || failed_; };
    if (timeout_ms < 0) cv_.wait(lock, done);
    else if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), done)) {
        lock.unlock();
        cancel(id);
        lock.lock();
        pending_.erase(id);
        ec = win32(win32_error::sem_timeout);
        return std::nullopt;
    }
    if (!p->finished || !p->result) {
        ec = failure_ ? failure_ : win32(win32_error::unexp_net_err);
        return std::nullopt;
    }
    return std::move(p->result);
}

std::uint64_t connection::submit(smb2::command cmd, const byte_vector& body, handler done) {
    auto p = std::make_shared<pending>();
    p->done = std::move(done);
    std::error_code ec;
    return send_request(cmd, body, std::move(p), ec);
}

void connection::cancel(std::uint64_t message_id) {
    smb2::header h;
    {
        std::lock_guard lock(mu_);
        auto it = pending_.find(message_id);
        if (it != pending_.end() && it->second->async_id != 0) {
            h.flags = smb2::flags::async_command;
            h.async_id = it->second->async_id;
        }
    }
    // CANCEL takes no credit and no new message id: it names the request it cancels.
    h.cmd = smb2::command::cancel;
    h.message_id = message_id;
    h.session_id = session_id_;
    h.tree_id = h.is_async() ? 0 : tree_id_;
    byte_vector message;
    smb2::encode_header(h, message);
    auto body = smb2::encode_cancel();
    message.insert(message.end(), body.begin(), body.end());
    std::lock_guard send_lock(send_mutex_);
    if (protect(message, h)) write_message(message);
}

void connection::add_bridge(std::unique_ptr<pipe_bridge> bridge) {
    {
        std::lock_guard lock(mu_);
        arriving_.push_back(std::move(bridge));
    }
    os::set_wake_flag(wake_.get());
}

void connection::fail_all(std::error_code why) {
    std::unordered_map<std::uint64_t, std::shared_ptr<pending>> orphans;
    {
        std::lock_guard lock(mu_);
        if (!failed_) failure_ = why;
        failed_ = true;
        orphans.swap(pending_);
    }
    cv_.notify_all();
    for (auto& [id, p] : orphans)
        if (p->done) p->done(nullptr);
    if (wake_) os::set_wake_flag(wake_.get());
}

std::shared_ptr<connection> shared_connection(const connect_options& options, std::error_code& ec) {
    // Keyed by host (as written, lower case), port and user: a second user of the same server
    // gets a session of its own, as Windows keeps one per logon.
    using key = std::tuple<std::string, std::uint16_t, std::string>;
    static std::mutex registry_mutex;
    static std::map<key, std::weak_ptr<connection>> registry;
    std::string host = options.host;
    for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    key k{host, options.port, options.credentials ? options.credentials->user : std::string()};
    std::lock_guard lock(registry_mutex); // one handshake at a time per process: simple, and rare
    if (auto live = registry[k].lock(); live && !live->failed()) return live;
    auto fresh = connection::establish(options, ec);
    if (fresh) registry[k] = fresh;
    return fresh;
}

} // namespace npipe::smb
