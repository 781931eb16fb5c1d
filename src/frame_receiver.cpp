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

void frame_receiver::reset() noexcept {
    got_ = 0;
    partial_ = {};
}

bool frame_receiver::step(int sock, std::size_t max_fds, frame& out, std::error_code& ec) noexcept try {
    ec.clear();
    constexpr std::size_t h = protocol::header_size;
    while (got_ < h) {
        // Descriptors come with the first byte of the frame.
        auto r = os::recv_with_fds(sock, std::span<std::byte>(header_.data() + got_, h - got_), partial_.fds, max_fds,
                                   MSG_DONTWAIT);
        if (!r) {
            if (would_block(r.error)) return false;
            ec = receive_error(r.error);
            return false;
        }
        if (r.value == 0) {
            ec = win32(win32_error::service_not_active);
            return false;
        }
        got_ += r.value;
        if (got_ < h) continue;
        protocol::frame_header fh;
        if (protocol::decode_header(std::span<const std::byte, h>(header_.data(), h), protocol::max_reply_body, fh) !=
            protocol::header_problem::none) {
            ec = win32(win32_error::invalid_data);
            return false;
        }
        partial_.type = fh.type;
        partial_.body.resize(fh.length);
    }
    std::size_t length = partial_.body.size();
    while (got_ - h < length) {
        auto r = os::recv_some(sock, partial_.body.data() + (got_ - h), length - (got_ - h), MSG_DONTWAIT);
        if (!r) {
            if (would_block(r.error)) return false;
            ec = win32(win32_error::service_not_active);
            return false;
        }
        if (r.value == 0) {
            ec = win32(win32_error::service_not_active);
            return false;
        }
        got_ += r.value;
    }
    out = std::move(partial_);
    reset();
    return true;
} catch (const std::bad_alloc&) {
    ec = win32(win32_error::not_enough_memory);
    return false;
}

} // namespace npipe::detail
