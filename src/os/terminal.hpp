// os/terminal.hpp - a terminal that reads key by key for a while: what conio.h's _getch and
// _kbhit need from the kernel. In the style of os/fd.hpp: EINTR is retried, errno comes back as
// a generic-category error_code.
#pragma once

#include "os/fd.hpp"

#include <csignal>
#include <mutex>
#include <termios.h>

namespace npipe::os {

/// While an object lives, the terminal it was started on delivers every key at once instead of
/// whole edited lines: no line editing, CR stays CR (Enter reads as '\r', as a Windows console
/// reports it), echo only when asked; Ctrl+C and the other signal keys keep working. Destruction
/// restores the terminal's previous settings - and so does SIGINT, SIGQUIT, SIGTERM or SIGHUP
/// ending the process meanwhile (a handler is installed for each of them whose action is the
/// default, for the object's lifetime only), and exit() called by another thread.
///
/// Thread safety: one at a time in the process; start() waits for the previous one to end.
class key_input {
public:
    key_input() noexcept = default;
    key_input(key_input&& other) noexcept;
    key_input& operator=(key_input&& other) noexcept;
    key_input(const key_input&) = delete;
    key_input& operator=(const key_input&) = delete;
    ~key_input();

    /// Switches the terminal `raw` to key-by-key input. ENOTTY when `raw` is not a terminal;
    /// EPERM, and the terminal untouched, when this process runs in the background of it (the
    /// kernel would stop the process with SIGTTOU for changing its mode).
    static sys_result<key_input> start(int raw, bool echo) noexcept;

    bool active() const noexcept { return fd_ >= 0; }

private:
    void restore() noexcept;

    int fd_ = -1;
    termios saved_{};
    std::unique_lock<std::mutex> turn_;
    static constexpr int signal_count = 4;
    struct sigaction previous_[signal_count]{};
    bool replaced_[signal_count]{};
};

} // namespace npipe::os
