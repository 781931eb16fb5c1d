// Driving an operation on the calling thread.
#include "pipe_ops.hpp"

#include "os/fd.hpp"

#include <thread>

namespace npipe::detail {

void wait_blocking(const step_result& r) noexcept {
    if (r.what == wait_for::nothing) return;
    if (r.what == wait_for::time || r.fd < 0) {
        if (r.retry_after.count() > 0) std::this_thread::sleep_for(r.retry_after);
        return;
    }
    int timeout_ms = -1;
    if (r.retry_after.count() >= 0) // rounded up: a wake-up never comes early
        timeout_ms = static_cast<int>((r.retry_after.count() + 999) / 1000);
    if (r.what == wait_for::readable) (void)os::wait_readable(r.fd, timeout_ms);
    else (void)os::wait_writable(r.fd, timeout_ms);
}

} // namespace npipe::detail
