// Opening and waiting for remote pipes (remote_pipe.hpp).
#include "smb/remote_pipe.hpp"

#include "os/socket.hpp"
#include "protocol/smb2_wire.hpp"
#include "smb/connection.hpp"
#include "smb/pipe_bridge.hpp"
#include "win32_errors.hpp"

#include <cstdlib>
#include <map>
#include <mutex>

namespace npipe::smb {
namespace {

using detail::win32;

constexpr int open_timeout_ms = 60000;

std::mutex credentials_mutex;
std::map<std::string, explicit_credentials>& credentials_by_host() {
    static std::map<std::string, explicit_credentials> m;
    return m;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

connect_options options_for(const std::string& host) {
    connect_options o;
    o.host = host;
    o.port = smb_port();
    std::lock_guard lock(credentials_mutex);
    auto& m = credentials_by_host();
    if (auto it = m.find(lower(host)); it != m.end()) o.credentials = it->second;
    return o;
}

/// The generic rights of dwDesiredAccess as the file rights they stand for on a pipe (what
/// Windows' I/O manager sends; servers are not obliged to map generic bits themselves).
std::uint32_t file_access(std::uint32_t desired) noexcept {
    constexpr std::uint32_t generic_read = 0x80000000, generic_write = 0x40000000, generic_all = 0x10000000;
    std::uint32_t a = desired & 0x0FFFFFFF;
    if (desired & generic_read) a |= 0x00120089;  // FILE_GENERIC_READ
    if (desired & generic_write) a |= 0x00120116; // FILE_GENERIC_WRITE
    if (desired & generic_all) a |= 0x001F01FF;   // FILE_ALL_ACCESS
    return a;
}

} // namespace

std::uint16_t smb_port() noexcept {
    const char* v = std::getenv("NPIPE_SMB_PORT");
    if (!v || !*v) return 445;
    char* end = nullptr;
    const long p = std::strtol(v, &end, 10);
    if (*end != '\0' || p <= 0 || p > 65535) return 445;
    return static_cast<std::uint16_t>(p);
}

std::error_code add_connection(const std::string& host, explicit_credentials credentials) {
    connect_options o;
    o.host = host;
    o.port = smb_port();
    o.credentials = credentials;
    std::error_code ec;
    if (!shared_connection(o, ec)) return ec;
    std::lock_guard lock(credentials_mutex);
    credentials_by_host()[lower(host)] = std::move(credentials);
    return {};
}

bool forget_credentials(const std::string& host) {
    std::lock_guard lock(credentials_mutex);
    return credentials_by_host().erase(lower(host)) != 0;
}

std::optional<remote_end> open_remote_pipe(const remote_open_request& request, std::error_code& ec) {
    std::vector<std::byte> name;
    if (!protocol::smb2::to_utf16le(request.name, name)) {
        ec = win32(win32_error::invalid_name);
        return std::nullopt;
    }
    auto c = shared_connection(options_for(request.host), ec);
    if (!c) return std::nullopt;
    smb2::create_request q;
    q.name_utf16 = name;
    q.desired_access = file_access(request.desired_access);
    q.impersonation_level = request.impersonation_level;
    // An open is one exchange: a server that does not answer in a minute has gone (as
    // Windows' redirector gives up on a session).
    auto r = c->call(smb2::command::create, smb2::encode_create(q), ec, open_timeout_ms);
    if (!r) return std::nullopt;
    if (r->h.status != smb2::status::success) {
        ec = win32(win32_error_from_ntstatus(r->h.status));
        return std::nullopt;
    }
    auto created = smb2::decode_create(r->message);
    if (!created) {
        ec = win32(win32_error::unexp_net_err);
        return std::nullopt;
    }
    os::fd app, bridge_end;
    auto page = os::shared_page::create();
    auto page_for_app = page ? os::dup_cloexec(page.value.descriptor()) : os::sys_result<os::fd>{{}, page.error};
    if (!page_for_app) ec = page_for_app.error;
    else ec = os::make_socketpair(app, bridge_end);
    if (ec) {
        c->submit(smb2::command::close, smb2::encode_close(created->id), [](const response*) {});
        ec = detail::to_win32(ec);
        return std::nullopt;
    }
    c->add_bridge(std::make_unique<pipe_bridge>(*c, created->id, std::move(bridge_end), true, std::move(page.value)));
    return remote_end{std::move(app), std::move(page_for_app.value)};
}

std::error_code wait_remote_pipe(const std::string& host, const std::string& name,
                                 std::optional<std::chrono::milliseconds> timeout) {
    std::vector<std::byte> utf16;
    if (!protocol::smb2::to_utf16le(name, utf16)) return win32(win32_error::invalid_name);
    std::error_code ec;
    auto c = shared_connection(options_for(host), ec);
    if (!c) return ec;
    std::optional<std::int64_t> wait_100ns;
    if (timeout) wait_100ns = -static_cast<std::int64_t>(timeout->count()) * 10000; // relative, as Windows sends it
    auto input = smb2::encode_pipe_wait_input(utf16, wait_100ns);
    auto r = c->call(smb2::command::ioctl, smb2::encode_ioctl({smb2::fsctl::pipe_wait, smb2::no_file, input, 0}), ec);
    if (!r) return ec;
    switch (r->h.status) {
    case smb2::status::success: return {};
    case smb2::status::fs_driver_required: // smbd: no FSCTL_PIPE_WAIT (README: "smbd's limits")
    case smb2::status::not_supported:
    case smb2::status::invalid_device_request: return {};
    case smb2::status::io_timeout: return win32(win32_error::sem_timeout);
    default: return win32(win32_error_from_ntstatus(r->h.status));
    }
}

} // namespace npipe::smb
