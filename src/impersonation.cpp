#include "impersonation.hpp"

#include "win32_errors.hpp"

namespace npipe {
namespace {

thread_local std::optional<os::thread_credentials> t_before;

} // namespace

namespace detail {

void impersonate(const client_identity& who, std::error_code& ec) noexcept try {
    ec.clear();
    if (t_before) { // impersonating already: back to ourselves first
        if (auto e = os::restore_identity(*t_before)) {
            ec = to_win32(e);
            return;
        }
        t_before.reset();
    }
    auto saved = os::current_thread_credentials();
    if (!saved) {
        ec = to_win32(saved.error);
        return;
    }
    if (who.uid == saved.value.euid && who.gid == saved.value.egid) {
        t_before = std::move(saved.value); // the same user: nothing to change
        return;
    }
    if (!os::can_change_identity()) {
        ec = win32(win32_error::cannot_impersonate); // needs CAP_SETUID and CAP_SETGID
        return;
    }
    if (auto e = os::assume_identity(who.uid, who.gid, who.groups)) {
        ec = win32(win32_error::cannot_impersonate);
        return;
    }
    t_before = std::move(saved.value);
} catch (const std::bad_alloc&) {
    ec = win32(win32_error::not_enough_memory);
}

std::optional<os::thread_credentials> identity_before_impersonation() noexcept try {
    return t_before;
} catch (...) {
    return std::nullopt;
}

} // namespace detail

void revert_to_self(std::error_code& ec) noexcept {
    ec.clear();
    if (!t_before) return; // not impersonating: nothing to undo, as on Windows
    if (auto e = os::restore_identity(*t_before)) {
        ec = detail::to_win32(e);
        return;
    }
    t_before.reset();
}

void revert_to_self() {
    std::error_code ec;
    revert_to_self(ec);
    detail::throw_if(ec, "RevertToSelf");
}

bool is_impersonating() noexcept { return t_before.has_value(); }

} // namespace npipe
