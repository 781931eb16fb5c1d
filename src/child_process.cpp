#include <npipe/anonymous_pipe.hpp>

#include "os/process.hpp"
#include "win32_errors.hpp"

#include <algorithm>
#include <new>
#include <utility>

namespace npipe {

using detail::to_win32;
using detail::win32;

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)), pidfd_(std::exchange(other.pidfd_, -1)),
      exit_code_(std::exchange(other.exit_code_, std::nullopt)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
    if (this != &other) {
        os::fd{std::exchange(pidfd_, std::exchange(other.pidfd_, -1))};
        pid_ = std::exchange(other.pid_, 0);
        exit_code_ = std::exchange(other.exit_code_, std::nullopt);
    }
    return *this;
}

// Like closing a process handle on Windows: the process runs on.
child_process::~child_process() { os::fd{pidfd_}; }

child_process child_process::spawn(const spawn_options& options, std::error_code& ec) noexcept {
    ec.clear();
    const std::optional<int> std_fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    os::spawn_request request;
    for (int i = 0; i < 3; ++i) {
        if (!std_fds[i]) continue;
        if (*std_fds[i] < 0) {
            ec = win32(win32_error::invalid_handle);
            return {};
        }
        request.std_fds[i] = *std_fds[i];
    }
    try {
        // Everything the child needs is built here: after fork() it must not allocate.
        std::vector<char*> argv;
        argv.reserve(options.args.size() + 2);
        argv.push_back(const_cast<char*>(options.program.c_str()));
        for (const auto& a : options.args) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);

        std::vector<int> keep;
        for (int fd : options.inherit) {
            if (fd < 0) {
                ec = win32(win32_error::invalid_handle);
                return {};
            }
            if (fd > 2) keep.push_back(fd);
        }
        std::sort(keep.begin(), keep.end());
        keep.erase(std::unique(keep.begin(), keep.end()), keep.end());

        request.file = options.program.c_str();
        request.argv = argv.data();
        request.working_directory =
            options.working_directory ? options.working_directory->c_str() : nullptr;
        request.keep = keep.data();
        request.keep_count = keep.size();

        auto pid = os::spawn(request);
        if (!pid) {
            ec = to_win32(pid.error);
            return {};
        }
        child_process child;
        child.pid_ = pid.value;
        // Without a pidfd (old kernel, or out of descriptors) wait() falls back to polling.
        child.pidfd_ = os::pidfd_open(pid.value).value.release();
        return child;
    } catch (const std::bad_alloc&) {
        ec = win32(win32_error::not_enough_memory);
        return {};
    }
}

child_process child_process::spawn(const spawn_options& options) {
    std::error_code ec;
    auto child = spawn(options, ec);
    detail::throw_if(ec, "CreateProcess");
    return child;
}

int child_process::wait(std::optional<std::chrono::milliseconds> timeout,
                        std::error_code& ec) noexcept {
    ec.clear();
    if (exit_code_) return *exit_code_;
    if (pid_ <= 0) {
        ec = win32(win32_error::invalid_handle);
        return -1;
    }
    if (timeout && *timeout < wait_forever) {
        auto deadline = std::chrono::steady_clock::now() +
                        std::max(*timeout, std::chrono::milliseconds::zero());
        auto exited = os::wait_exited(pid_, pidfd_, deadline);
        if (!exited || !exited.value) {
            ec = exited ? win32(win32_error::wait_timeout) : to_win32(exited.error);
            return -1;
        }
    }
    auto code = os::reap(pid_, true);
    if (!code || !code.value) {
        ec = code ? win32(win32_error::gen_failure) : to_win32(code.error);
        return -1;
    }
    exit_code_ = code.value;
    return *exit_code_;
}

int child_process::wait(std::optional<std::chrono::milliseconds> timeout) {
    std::error_code ec;
    int code = wait(timeout, ec);
    detail::throw_if(ec, "WaitForSingleObject");
    return code;
}

std::optional<int> child_process::exit_code() noexcept {
    if (!exit_code_ && pid_ > 0) {
        auto code = os::reap(pid_, false);
        if (code) exit_code_ = code.value;
    }
    return exit_code_;
}

void child_process::kill() noexcept {
    // After the exit was observed the pid may belong to someone else.
    if (pid_ > 0 && !exit_code_) (void)os::kill_process(pid_, pidfd_);
}

} // namespace npipe
