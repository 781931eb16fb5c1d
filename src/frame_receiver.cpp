#include "frame_receiver.hpp"

#include "os/socket.hpp"
#include "win32_errors.hpp"

#include <sys/socket.h>

namespace npipe::detail {
namespace {

bool would_block(const std::error_code& ec) noexcept {
    return ec == std::errc::resource_unavailable_try_again || ec == std::errc::operation_would_block;
}

/// The error for a failed receive: the broker's end, or what the kernel said.
std::error_code receive_error(const std::error_code& e) {
    return e == std::errc::connection_reset ? win32(win32_error::service_not_active) : to_win32(e);
}

} // namespace

bool frame_receiver::step(int sock, std::size_t max_fds, frame& out, std::error_code& ec) noexcept try {
    ec.clear();
    reader_.limit_descriptors(max_fds);
    while (!reader_.has_frame()) {
        if (reader_.problem() != protocol::frame_problem::none) {
            ec = win32(win32_error::invalid_data);
            return false;
        }
        // Exactly what the frame still lacks: the server's data may follow it on this socket.
        std::vector<os::fd> fds;
        auto r = os::recv_with_fds(sock, reader_.space(reader_.needed()), fds, max_fds, os::io_flags::dont_wait);
        if (!r) {
            if (would_block(r.error)) return false;
            ec = receive_error(r.error);
            return false;
        }
        if (r.value == 0) {
            ec = win32(win32_error::service_not_active);
            return false;
        }
        reader_.received(r.value, fds);
    }
    out = std::move(*reader_.next());
    return true;
} catch (const std::bad_alloc&) {
    ec = win32(win32_error::not_enough_memory);
    return false;
}

} // namespace npipe::detail
