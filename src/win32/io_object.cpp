#include "win32/io_object.hpp"

#include "win32/overlapped.hpp"
#include "server_impl.hpp"

#include "os/fd.hpp"
#include "os/process.hpp"
#include "os/socket.hpp"
#include "win32_errors.hpp"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <poll.h>
#include "os/users.hpp"
#include <span>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace npipe::win32 {
namespace {

DWORD code(const std::error_code& ec) noexcept {
    return static_cast<DWORD>(detail::to_win32(ec).value());
}

std::span<std::byte> bytes(void* p, DWORD n) noexcept { return {static_cast<std::byte*>(p), n}; }
std::span<const std::byte> bytes(const void* p, DWORD n) noexcept {
    return {static_cast<const std::byte*>(p), n};
}

DWORD flags_of(const pipe_info& i) noexcept {
    return (i.end == pipe_end::server ? PIPE_SERVER_END : PIPE_CLIENT_END) |
           (i.type == pipe_type::message ? PIPE_TYPE_MESSAGE : PIPE_TYPE_BYTE);
}

/// FlushFileBuffers on a pipe descriptor whose buffer the kernel counts (FIONREAD works on
/// either end of a pipe): returns once the reader has taken everything, ERROR_BROKEN_PIPE if
/// it went away first. The kernel offers no wake-up for "buffer drained", so this polls with a
/// growing pause, as the named-pipe flush does for the socket queue.
DWORD drain_pipe(int fd) noexcept {
    auto pause = std::chrono::microseconds(50);
    for (;;) {
        auto queued = os::readable_bytes(fd);
        if (!queued) return code(queued.error);
        if (queued.value == 0) return 0;
        if (os::error_pending(fd)) return ERROR_BROKEN_PIPE;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
}

} // namespace

void io_object::begin_io() noexcept {
    std::lock_guard lock(dispatch().mutex);
    ++busy_;
}

void io_object::end_io() noexcept {
    {
        std::lock_guard lock(dispatch().mutex);
        --busy_;
    }
    notify_waiters();
}

namespace {

/// A zero-byte ReadFile on a pipe descriptor: waits (PIPE_WAIT) until data or the end is there,
/// takes nothing, and reports the end as ERROR_BROKEN_PIPE, as Windows does.
io_result zero_byte_read(int fd, bool block) noexcept {
    auto ahead = os::look_ahead(fd, block);
    if (!ahead) return {code(ahead.error), 0};
    if (ahead.value == os::stream_ahead::nothing) return {ERROR_NO_DATA, 0}; // PIPE_NOWAIT and nothing there
    return {ahead.value == os::stream_ahead::end ? DWORD{ERROR_BROKEN_PIPE} : DWORD{0}, 0};
}

/// A zero-byte WriteFile: nothing to send, but a pipe whose reader has gone is ERROR_NO_DATA.
io_result zero_byte_write(int fd) noexcept {
    auto ev = os::poll_one(fd, POLLOUT, 0);
    if (ev && (ev.value & (POLLERR | POLLHUP))) return {ERROR_NO_DATA, 0};
    return {0, 0};
}

} // namespace

// ---- named pipes ----------------------------------------------------------------------------

named_pipe_object::named_pipe_object(server_instance server, pipe_direction direction)
    : server_(std::move(server)), may_set_state_(direction != pipe_direction::inbound) {}

named_pipe_object::named_pipe_object(client c, bool can_write_attributes)
    : client_(std::move(c)), may_set_state_(can_write_attributes) {}

bool named_pipe_object::signaled() const noexcept {
    return io_object::signaled() && !(client_ && client_->disconnected());
}

pipe_end_base& named_pipe_object::end() noexcept {
    if (server_) return *server_;
    return *client_;
}
const pipe_end_base& named_pipe_object::end() const noexcept {
    if (server_) return *server_;
    return *client_;
}

io_result named_pipe_object::read(void* buffer, DWORD size) {
    std::error_code ec;
    auto r = end().read(bytes(buffer, size), ec);
    return {code(ec), static_cast<DWORD>(r.bytes)};
}

io_result named_pipe_object::write(const void* data, DWORD size) {
    std::error_code ec;
    auto n = end().write(bytes(data, size), ec);
    return {code(ec), static_cast<DWORD>(n)};
}

DWORD named_pipe_object::flush() {
    std::error_code ec;
    end().flush(ec);
    return code(ec);
}

DWORD named_pipe_object::peek(void* buffer, DWORD size, peek_counts& counts) {
    std::error_code ec;
    auto p = end().peek(bytes(buffer, size), ec);
    if (ec) return code(ec);
    counts.read = static_cast<DWORD>(p.bytes_read);
    counts.available = static_cast<DWORD>(p.total_available);
    // Windows computes "left" as the head message's unread length minus what was copied; a byte
    // pipe's message length is 0, so there it is 0 - copied (verified on Windows).
    counts.left = end().info().type == pipe_type::message ? static_cast<DWORD>(p.left_this_message)
                                                          : static_cast<DWORD>(0u - counts.read);
    return 0;
}

io_result named_pipe_object::transact(const void* in, DWORD in_size, void* out, DWORD out_size) {
    std::error_code ec;
    auto r = end().transact(bytes(in, in_size), bytes(out, out_size), ec);
    return {code(ec), static_cast<DWORD>(r.bytes)};
}

DWORD named_pipe_object::connect(const std::function<void()>& listening) {
    if (!server_) return ERROR_INVALID_FUNCTION;
    std::error_code ec;
    bool already = server()->connect(ec, listening);
    if (ec) return code(ec);
    return already ? ERROR_PIPE_CONNECTED : 0;
}

DWORD named_pipe_object::disconnect() {
    if (!server_) return ERROR_INVALID_FUNCTION;
    // Pending reads and writes of the connection end with it (STATUS_PIPE_DISCONNECTED), as
    // NPFS ends them; a pending ConnectNamedPipe is not this connection's.
    cancel_overlapped(*this, false, detail::win32(win32_error::pipe_not_connected));
    std::error_code ec;
    server_->disconnect(ec);
    return code(ec);
}

detail::pipe_channel* named_pipe_object::channel() noexcept { return detail::channel_of(end()); }

detail::server_impl* named_pipe_object::server() noexcept {
    return server_ ? static_cast<detail::server_impl*>(detail::channel_of(*server_)) : nullptr;
}

DWORD named_pipe_object::info(pipe_facts& facts) {
    if (client_) {
        // A client the server disconnected has no pipe to describe any more.
        std::error_code ec;
        (void)client_->state(ec);
        if (ec == win32_error::pipe_not_connected) return ERROR_PIPE_NOT_CONNECTED;
    }
    auto i = end().info();
    facts = {flags_of(i), i.out_buffer_size, i.in_buffer_size, i.max_instances};
    return 0;
}

DWORD named_pipe_object::get_state(DWORD& state, DWORD& instances) {
    std::error_code ec;
    auto s = end().state(ec);
    if (ec) return code(ec);
    state = (s.read_mode == read_mode::message ? PIPE_READMODE_MESSAGE : 0) |
            (s.wait_mode == wait_mode::nowait ? PIPE_NOWAIT : 0);
    instances = s.current_instances;
    return 0;
}

DWORD named_pipe_object::client_user(std::string& name) {
    // Windows answers by impersonating the client: that needs a server end with a client.
    if (!server_) return ERROR_INVALID_PARAMETER;
    auto uid = server_->client_uid();
    if (!uid) return ERROR_CANNOT_IMPERSONATE;
    name = user_name_of(*uid);
    return 0;
}

DWORD named_pipe_object::set_mode(DWORD mode) {
    // Changing the mode needs FILE_WRITE_ATTRIBUTES, which a read-only end lacks (Windows checks
    // access before the value).
    if (!may_set_state_) return ERROR_ACCESS_DENIED;
    if (mode & ~(PIPE_READMODE_MESSAGE | PIPE_NOWAIT)) return ERROR_INVALID_PARAMETER;
    std::error_code ec;
    end().set_state((mode & PIPE_READMODE_MESSAGE) ? read_mode::message : read_mode::byte,
                    (mode & PIPE_NOWAIT) ? wait_mode::nowait : wait_mode::wait, ec);
    return code(ec);
}

DWORD named_pipe_object::process_id(bool client_end, ULONG& pid) {
    // As Wine's tests see Windows answer: the ids outlive a close of either end, not a
    // disconnect - the server end then has no client id (ERROR_NOT_FOUND, its own id stays), and
    // the client end has neither (ERROR_PIPE_NOT_CONNECTED).
    if (client_) {
        std::error_code ec;
        (void)client_->state(ec);
        if (ec == win32_error::pipe_not_connected) return ERROR_PIPE_NOT_CONNECTED;
    } else if (client_end) {
        auto s = server_->current_state();
        if (s == instance_state::listening || s == instance_state::disconnected) return ERROR_NOT_FOUND;
    }
    pid = static_cast<ULONG>(client_end ? end().client_process_id() : end().server_process_id());
    return 0;
}

DWORD named_pipe_object::client_computer(std::string& name) {
    // Windows keeps a client computer name only for a client its SMB server brought (firehazard's
    // doc tests, run on Windows, get ERROR_PIPE_LOCAL for server ends of local pipes and for
    // anonymous pipes); a client end has none either.
    auto who = server_ ? server_->client_identity() : std::nullopt;
    if (!who || !who->remote) return ERROR_PIPE_LOCAL;
    name = who->computer_name.empty() ? who->address : who->computer_name;
    return 0;
}

DWORD named_pipe_object::impersonate_client() {
    if (!server_) return ERROR_INVALID_FUNCTION;
    std::error_code ec;
    server_->impersonate_client(ec);
    return code(ec);
}

void named_pipe_object::last_handle_closed() noexcept {
    // Ends the connection (or, for a listening instance, its registration with the broker) so a
    // call blocked on it returns; the object itself goes when that call lets go of it.
    int fd = end().native_handle();
    if (fd >= 0) os::shutdown_both(fd);
    // Its pending operations end with the handle (ERROR_OPERATION_ABORTED, as a cancel).
    cancel_overlapped(*this, true, detail::win32(win32_error::operation_aborted));
}

int named_pipe_object::child_descriptor() const noexcept {
    if (server_ && server_->current_state() != instance_state::connected) return -1;
    return end().native_handle();
}

// ---- anonymous pipes ------------------------------------------------------------------------

io_result anonymous_pipe_object::read(void* buffer, DWORD size) {
    if (nowait_.load() && end_.role() == pipe_end_role::read) {
        auto ev = os::poll_one(end_.native_handle(), POLLIN, 0);
        if (!ev) return {code(ev.error), 0};
        if (ev.value == 0) return {ERROR_NO_DATA, 0};
    }
    std::error_code ec; // a zero-byte read too: the C++ end waits for data or the end
    auto n = end_.read(bytes(buffer, size), ec);
    return {code(ec), static_cast<DWORD>(n)};
}

io_result anonymous_pipe_object::write(const void* data, DWORD size) {
    if (size == 0 && end_.role() == pipe_end_role::write) return zero_byte_write(end_.native_handle());
    std::error_code ec;
    auto n = end_.write(bytes(data, size), ec);
    return {code(ec), static_cast<DWORD>(n)};
}

DWORD anonymous_pipe_object::flush() {
    if (end_.role() != pipe_end_role::write) return 0;
    return drain_pipe(end_.native_handle());
}

DWORD anonymous_pipe_object::peek(void* buffer, DWORD size, peek_counts& counts) {
    std::error_code ec;
    auto p = end_.peek(bytes(buffer, size), ec);
    if (ec) return code(ec);
    counts.read = static_cast<DWORD>(p.bytes_read);
    counts.available = static_cast<DWORD>(p.total_available);
    counts.left = static_cast<DWORD>(0u - counts.read); // a byte pipe: see named_pipe_object::peek
    return 0;
}

DWORD anonymous_pipe_object::info(pipe_facts& facts) {
    auto i = end_.info();
    facts = {flags_of(i), i.out_buffer_size, i.in_buffer_size, i.max_instances};
    return 0;
}

DWORD anonymous_pipe_object::get_state(DWORD& state, DWORD& instances) {
    state = nowait_.load() ? PIPE_NOWAIT : 0;
    instances = 1;
    return 0;
}

DWORD anonymous_pipe_object::set_mode(DWORD mode) {
    if (mode & ~(PIPE_READMODE_MESSAGE | PIPE_NOWAIT)) return ERROR_INVALID_PARAMETER;
    if (mode & PIPE_READMODE_MESSAGE) return ERROR_INVALID_PARAMETER; // a byte pipe
    nowait_.store((mode & PIPE_NOWAIT) != 0);
    return 0;
}

DWORD anonymous_pipe_object::process_id(bool, ULONG& pid) {
    // Both ends were opened by the process that called CreatePipe.
    pid = static_cast<ULONG>(::getpid());
    return 0;
}

// ---- plain descriptors ----------------------------------------------------------------------

file_object::file_object(int fd, bool readable, bool writable)
    : fd_(fd), readable_(readable), writable_(writable), stream_(false), socket_(false) {
    auto t = os::type_of(fd);
    socket_ = t.value == os::descriptor_type::socket;
    stream_ = socket_ || t.value == os::descriptor_type::fifo;
}

file_object::~file_object() { os::fd closing(fd_); }

io_result file_object::read(void* buffer, DWORD size) {
    if (!readable_) return {ERROR_ACCESS_DENIED, 0};
    if (size == 0) return stream_ ? zero_byte_read(fd_, true) : io_result{0, 0};
    auto r = os::read_some(fd_, buffer, size);
    if (!r) return {r.error.value() == EPIPE || r.error.value() == ECONNRESET ? DWORD{ERROR_BROKEN_PIPE}
                                                                               : code(r.error), 0};
    // End of data: a file reads 0 bytes successfully; a pipe's writer has gone.
    if (r.value == 0 && stream_) return {ERROR_BROKEN_PIPE, 0};
    return {0, static_cast<DWORD>(r.value)};
}

io_result file_object::write(const void* data, DWORD size) {
    if (!writable_) return {ERROR_ACCESS_DENIED, 0};
    if (size == 0) return stream_ ? zero_byte_write(fd_) : io_result{0, 0};
    auto ec = os::write_all_nosigpipe(fd_, data, size);
    if (ec) return {stream_ && (ec.value() == EPIPE || ec.value() == ECONNRESET) ? DWORD{ERROR_NO_DATA}
                                                                                 : code(ec), 0};
    return {0, size};
}

DWORD file_object::flush() {
    if (!writable_) return ERROR_ACCESS_DENIED;
    if (socket_) {
        auto pause = std::chrono::microseconds(50);
        for (;;) {
            auto left = os::unread_by_peer(fd_);
            if (!left) return code(left.error);
            if (left.value == 0) return 0;
            auto ev = os::poll_one(fd_, 0, 0);
            if (ev && (ev.value & (POLLERR | POLLHUP))) return ERROR_BROKEN_PIPE;
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::microseconds(20000));
        }
    }
    if (stream_) return drain_pipe(fd_);
    auto t = os::type_of(fd_);
    if (t.value != os::descriptor_type::regular) return 0; // a terminal: nothing buffered here
    return code(os::sync_to_disk(fd_));
}

DWORD file_object::peek(void* buffer, DWORD size, peek_counts& counts) {
    if (!stream_) return ERROR_INVALID_FUNCTION;
    if (!readable_) return ERROR_ACCESS_DENIED;
    auto avail = os::readable_bytes(fd_);
    if (!avail) return code(avail.error);
    std::size_t copied = 0;
    if (size > 0 && avail.value > 0) {
        if (socket_) {
            auto r = os::recv_some(fd_, buffer, size, os::io_flags::peek | os::io_flags::dont_wait);
            if (!r) return code(r.error);
            copied = r.value;
        } else {
            auto r = os::peek_pipe(fd_, buffer, size);
            if (!r) return code(r.error);
            copied = r.value;
        }
    }
    if (avail.value == 0) {
        // Nothing buffered: has the writer gone? (readable with nothing to read = end of data)
        auto ev = os::poll_one(fd_, POLLIN, 0);
        if (ev && (ev.value & (POLLIN | POLLHUP))) return ERROR_BROKEN_PIPE;
    }
    counts.read = static_cast<DWORD>(copied);
    counts.available = static_cast<DWORD>(avail.value);
    counts.left = static_cast<DWORD>(0u - counts.read);
    return 0;
}

std::string user_name_of(uid_t uid) { return os::user_name(uid).value_or(std::to_string(uid)); }

std::shared_ptr<io_object> adopt_descriptor(int fd, char kind) {
    if (kind == 'r') return std::make_shared<anonymous_pipe_object>(anonymous_pipe_end(fd, pipe_end_role::read));
    if (kind == 'w') return std::make_shared<anonymous_pipe_object>(anonymous_pipe_end(fd, pipe_end_role::write));
    return std::make_shared<file_object>(fd, true, true);
}

} // namespace npipe::win32
