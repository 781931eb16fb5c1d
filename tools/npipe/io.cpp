#include "io.hpp"

#include "os/process.hpp"
#include "os/stdio.hpp"

#include <npipe/error.hpp>

#include <array>

namespace npipe::cli {
namespace {

/// Waits until a non-blocking `fd` takes more (or fails: the next write tells).
void wait_writable(int fd) {
    os::io_watch w{fd, os::io_ready::writable};
    (void)os::wait_ready(std::span(&w, 1), -1);
}

} // namespace

event::event() : fd_(os::make_wake_flag().value) {}

void event::set() noexcept {
    if (set_.exchange(true)) return;
    (void)os::set_wake_flag(fd_.get()); // without a descriptor (none could be made) only is_set() tells
}

woke wait_readable(int fd, std::initializer_list<const event*> events, int timeout_ms) {
    std::array<os::io_watch, os::max_watches> watches;
    std::size_t count = 0;
    watches[count++] = {fd, os::io_ready::readable};
    for (const event* e : events)
        if (e && count < watches.size()) watches[count++] = {e->fd(), os::io_ready::readable};
    auto r = os::wait_ready(std::span(watches).first(count), timeout_ms);
    if (!r) return woke::ready; // let the read report it
    if (r.value == 0) return woke::timeout;
    for (std::size_t i = 1; i < count; ++i)
        if (watches[i].found != os::io_ready::none) return woke::event;
    return woke::ready;
}

bool write_all(int fd, std::span<const std::byte> data, std::error_code& ec) {
    while (!data.empty()) {
        auto r = os::write_some(fd, data.data(), data.size());
        if (!r) {
            if (r.error == std::errc::resource_unavailable_try_again) { // a non-blocking stdout
                wait_writable(fd);
                continue;
            }
            ec = r.error;
            return false;
        }
        data = data.subspan(r.value);
    }
    return true;
}

std::size_t read_some(int fd, std::span<std::byte> buffer, std::error_code& ec) {
    for (;;) {
        auto r = os::read_some(fd, buffer.data(), buffer.size());
        if (r) return r.value;
        if (r.error == std::errc::resource_unavailable_try_again) { // a non-blocking stdin
            wait_readable(fd, {});
            continue;
        }
        if (r.error != std::errc::bad_file_descriptor) ec = r.error;
        return 0;
    }
}

std::vector<std::byte> read_all(int fd, std::error_code& ec) {
    std::vector<std::byte> out;
    for (;;) {
        std::size_t used = out.size();
        out.resize(used + chunk_size);
        std::size_t n = read_some(fd, std::span(out).subspan(used), ec);
        out.resize(used + n);
        if (n == 0 || ec) return out;
    }
}

bool read_unit(pipe_end_base& p, bool whole_message, std::vector<std::byte>& out, std::error_code& ec) {
    out.clear();
    std::size_t used = 0;
    for (;;) {
        out.resize(used + chunk_size);
        auto r = p.read(std::span(out).subspan(used, chunk_size), ec);
        used += r.bytes;
        if (r.more_data && whole_message) {
            ec.clear();
            continue;
        }
        out.resize(used);
        if (r.more_data) ec.clear();
        return !ec;
    }
}

bool peer_gone(const std::error_code& ec) {
    return ec == win32_error::broken_pipe || ec == win32_error::pipe_not_connected || ec == win32_error::no_data;
}

} // namespace npipe::cli
