#include "os/terminal.hpp"

#include <atomic>
#include <cstdlib>
#include <iterator>
#include <unistd.h>
#include <utility>

namespace npipe::os {
namespace {

constexpr int watched_signals[] = {SIGINT, SIGQUIT, SIGTERM, SIGHUP};
static_assert(std::size(watched_signals) == 4);

std::mutex one_at_a_time;

// What the signal handler puts back. Written before the handlers go in, read only by them.
std::atomic<int> terminal_to_restore{-1};
termios settings_to_restore{};

// A signal whose default action ends the process would leave the terminal without echo and line
// editing for the shell that started the program. Restore it, then let the signal do what it
// would have done (SA_RESETHAND has put the default action back).
void restore_then_resignal(int signal_number) {
    int fd = terminal_to_restore.load();
    if (fd >= 0) ::tcsetattr(fd, TCSANOW, &settings_to_restore);
    ::raise(signal_number);
}

// The same when another thread ends the process with exit() (ExitProcess) while one waits for a
// key.
void restore_at_exit() {
    int fd = terminal_to_restore.load();
    if (fd >= 0) ::tcsetattr(fd, TCSANOW, &settings_to_restore);
}

termios key_settings(const termios& from, bool echo) noexcept {
    termios keys = from;
    keys.c_lflag &= ~static_cast<tcflag_t>(echo ? ICANON : ICANON | ECHO);
    keys.c_iflag &= ~static_cast<tcflag_t>(ICRNL);
    keys.c_cc[VMIN] = 1;
    keys.c_cc[VTIME] = 0;
    return keys;
}

} // namespace

key_input::key_input(key_input&& other) noexcept { *this = std::move(other); }

key_input& key_input::operator=(key_input&& other) noexcept {
    if (this == &other) return *this;
    restore();
    fd_ = std::exchange(other.fd_, -1);
    saved_ = other.saved_;
    turn_ = std::move(other.turn_);
    for (int i = 0; i < signal_count; ++i) {
        previous_[i] = other.previous_[i];
        replaced_[i] = std::exchange(other.replaced_[i], false);
    }
    return *this;
}

key_input::~key_input() { restore(); }

sys_result<key_input> key_input::start(int raw, bool echo) noexcept {
    key_input k;
    k.turn_ = std::unique_lock(one_at_a_time);
    auto got = sys_call([&] { return ::tcgetattr(raw, &k.saved_); });
    if (!got) return {key_input{}, got.error};
    pid_t foreground = ::tcgetpgrp(raw); // -1 when it is not our controlling terminal: no job control
    if (foreground > 0 && foreground != ::getpgrp())
        return {key_input{}, std::make_error_code(std::errc::operation_not_permitted)};

    static const bool exit_hook = std::atexit(restore_at_exit) == 0;
    (void)exit_hook;
    settings_to_restore = k.saved_;
    terminal_to_restore.store(raw);
    for (int i = 0; i < signal_count; ++i) {
        struct sigaction current {};
        if (::sigaction(watched_signals[i], nullptr, &current) != 0 || (current.sa_flags & SA_SIGINFO) ||
            current.sa_handler != SIG_DFL)
            continue; // the program handles (or ignores) it: its handler stays
        struct sigaction ours {};
        ours.sa_handler = restore_then_resignal;
        ours.sa_flags = SA_RESETHAND;
        sigemptyset(&ours.sa_mask);
        k.replaced_[i] = ::sigaction(watched_signals[i], &ours, &k.previous_[i]) == 0;
    }

    termios keys = key_settings(k.saved_, echo);
    auto set = sys_call([&] { return ::tcsetattr(raw, TCSANOW, &keys); });
    if (!set) return {key_input{}, set.error}; // k's destructor takes the handlers out again
    k.fd_ = raw;
    return {std::move(k), {}};
}

void key_input::restore() noexcept {
    // The terminal first: a signal that arrives after it is restored finds it right either way.
    if (fd_ >= 0) (void)sys_call([&] { return ::tcsetattr(fd_, TCSANOW, &saved_); });
    fd_ = -1;
    for (int i = 0; i < signal_count; ++i)
        if (std::exchange(replaced_[i], false)) ::sigaction(watched_signals[i], &previous_[i], nullptr);
    if (turn_.owns_lock()) {
        terminal_to_restore.store(-1);
        turn_.unlock();
    }
}

} // namespace npipe::os
