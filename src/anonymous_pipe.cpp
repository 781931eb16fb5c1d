#include <npipe/anonymous_pipe.hpp>

#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <climits>
#include <poll.h>
#include <utility>

namespace npipe {

using detail::to_win32;
using detail::win32;

namespace {

// CreatePipe with size 0 picks the system default; GetNamedPipeInfo then reports one page.
constexpr std::uint32_t default_reported_size = 4096;

// Common preconditions of read/write/peek: an open handle of the right direction.
std::error_code check_end(int fd, pipe_end_role actual, pipe_end_role wanted) noexcept {
    if (fd < 0) return win32(win32_error::invalid_handle);
    if (actual != wanted) return win32(win32_error::access_denied);
    return {};
}

} // namespace

anonymous_pipe_end::anonymous_pipe_end(int fd, pipe_end_role role, std::uint32_t size) noexcept
    : fd_(fd), role_(role), size_(size) {}

anonymous_pipe_end::anonymous_pipe_end(anonymous_pipe_end&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), role_(other.role_), size_(other.size_),
      inheritable_(other.inheritable_) {}

anonymous_pipe_end& anonymous_pipe_end::operator=(anonymous_pipe_end&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        role_ = other.role_;
        size_ = other.size_;
        inheritable_ = other.inheritable_;
    }
    return *this;
}

anonymous_pipe_end::~anonymous_pipe_end() { close(); }

int anonymous_pipe_end::release() noexcept { return std::exchange(fd_, -1); }

void anonymous_pipe_end::close() noexcept { os::fd{std::exchange(fd_, -1)}; }

std::size_t anonymous_pipe_end::read(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec = check_end(fd_, role_, pipe_end_role::read);
    if (ec) return 0;
    if (buffer.empty()) { // as ReadFile: wait for data without taking any; the end is an error
        auto ahead = os::look_ahead(fd_, true);
        if (!ahead) ec = to_win32(ahead.error);
        else if (ahead.value == os::stream_ahead::end) ec = win32(win32_error::broken_pipe);
        return 0;
    }
    for (;;) {
        auto r = os::read_some(fd_, buffer.data(), buffer.size());
        if (r) {
            if (r.value == 0) ec = win32(win32_error::broken_pipe);
            return r.value;
        }
        // An adopted descriptor may be non-blocking; ReadFile on a blocking handle still waits.
        if (r.error != std::errc::resource_unavailable_try_again) {
            ec = to_win32(r.error);
            return 0;
        }
        if (auto p = os::wait_readable(fd_, -1); !p) {
            ec = to_win32(p.error);
            return 0;
        }
    }
}

std::size_t anonymous_pipe_end::read(std::span<std::byte> buffer) {
    std::error_code ec;
    auto n = read(buffer, ec);
    detail::throw_if(ec, "ReadFile");
    return n;
}

std::size_t anonymous_pipe_end::write(std::span<const std::byte> data,
                                      std::error_code& ec) noexcept {
    ec = check_end(fd_, role_, pipe_end_role::write);
    if (ec || data.empty()) return 0;
    ec = to_win32(os::write_all_nosigpipe(fd_, data.data(), data.size()));
    return ec ? 0 : data.size();
}

std::size_t anonymous_pipe_end::write(std::span<const std::byte> data) {
    std::error_code ec;
    auto n = write(data, ec);
    detail::throw_if(ec, "WriteFile");
    return n;
}

peek_result anonymous_pipe_end::peek(std::span<std::byte> buffer, std::error_code& ec) noexcept {
    ec = check_end(fd_, role_, pipe_end_role::read);
    if (ec) return {};
    // Hang-up first, count second: once the writer is gone nothing more can arrive, so a zero
    // count after a hang-up really is the end (the other order could miss a last write).
    auto events = os::poll_one(fd_, POLLIN, 0);
    if (!events) {
        ec = to_win32(events.error);
        return {};
    }
    auto available = os::readable_bytes(fd_);
    if (!available) {
        ec = to_win32(available.error);
        return {};
    }
    peek_result result;
    result.total_available = static_cast<std::size_t>(available.value);
    if (result.total_available == 0) {
        if (events.value & POLLHUP) ec = win32(win32_error::broken_pipe);
        return result;
    }
    auto copied = os::peek_pipe(fd_, buffer.data(), std::min(buffer.size(), result.total_available));
    if (!copied) {
        ec = to_win32(copied.error);
        return {};
    }
    result.bytes_read = copied.value;
    return result;
}

peek_result anonymous_pipe_end::peek(std::span<std::byte> buffer) {
    std::error_code ec;
    auto r = peek(buffer, ec);
    detail::throw_if(ec, "PeekNamedPipe");
    return r;
}

pipe_info anonymous_pipe_end::info() const noexcept {
    pipe_info i;
    // Windows implements an anonymous pipe as a named pipe whose read end is the server end.
    i.end = role_ == pipe_end_role::read ? pipe_end::server : pipe_end::client;
    i.type = pipe_type::byte;
    i.in_buffer_size = i.out_buffer_size = size_ ? size_ : default_reported_size;
    i.max_instances = 1;
    return i;
}

anonymous_pipe anonymous_pipe::create(std::uint32_t size, bool inheritable,
                                      std::error_code& ec) noexcept {
    ec.clear();
    auto p = os::make_pipe();
    if (!p) {
        ec = to_win32(p.error);
        return {};
    }
    // Only ever grow the kernel buffer: the size is a hint on Windows too, and a smaller
    // buffer would only make writers block sooner. Failure (over pipe-max-size) is harmless.
    if (size > 0) {
        auto current = os::pipe_capacity(p.value.write.get());
        if (current && size > static_cast<std::uint32_t>(current.value))
            (void)os::set_pipe_capacity(p.value.write.get(),
                                        static_cast<int>(std::min<std::uint32_t>(size, INT_MAX)));
    }
    anonymous_pipe result{anonymous_pipe_end(p.value.read.release(), pipe_end_role::read, size),
                          anonymous_pipe_end(p.value.write.release(), pipe_end_role::write, size)};
    result.read_end.set_inheritable(inheritable);
    result.write_end.set_inheritable(inheritable);
    return result;
}

anonymous_pipe anonymous_pipe::create(std::uint32_t size, bool inheritable) {
    std::error_code ec;
    auto p = create(size, inheritable, ec);
    detail::throw_if(ec, "CreatePipe");
    return p;
}

} // namespace npipe
