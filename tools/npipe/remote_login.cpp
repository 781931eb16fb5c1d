// The explicit credentials of connect, call and wait (see remote_login.hpp).
#include "remote_login.hpp"

#include "context.hpp"
#include "output.hpp"

#include "os/credentials.hpp"
#include "os/fd.hpp"
#include "os/process.hpp"
#include "os/terminal.hpp"

#include <npipe/error.hpp>
#include <npipe/pipe_name.hpp>
#include <npipe/win32.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <string.h> // explicit_bzero

namespace npipe::cli {
namespace {

/// A password that is wiped when it goes: it passes through no other copy on its way to
/// WNetAddConnection2 (which holds it only while it acquires the credential).
struct secret {
    std::string text;
    secret() { text.reserve(256); } // a password longer than this may leave a copy behind a reallocation
    ~secret() { explicit_bzero(text.data(), text.capacity()); }
    secret(const secret&) = delete;
    secret& operator=(const secret&) = delete;
};

/// The whole of the open file `f` (at most 64 KiB: a credentials file is a few lines).
bool read_small_file(int f, secret& out) {
    char buf[4096];
    for (;;) {
        auto r = os::read_some(f, buf, sizeof buf);
        if (!r) return false;
        if (r.value == 0) break;
        out.text.append(buf, r.value);
        if (out.text.size() > 65536) return false;
    }
    explicit_bzero(buf, sizeof buf);
    return true;
}

/// `username=`, `password=` and `domain=` lines (the format of mount.cifs' and smbclient's
/// credentials files); '#' starts a comment line. The password is the rest of its line as it is.
bool parse_credentials(const std::string& text, std::string& user, secret& password) {
    std::string domain;
    bool have_password = false;
    std::size_t at = 0;
    while (at < text.size()) {
        auto end = text.find('\n', at);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + at, end - at);
        at = end + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string_view::npos) continue;
        auto key = line.substr(0, eq);
        while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
        auto value = line.substr(eq + 1);
        if (key == "username") user = value;
        else if (key == "domain") domain = value;
        else if (key == "password") password.text.assign(value), have_password = true;
    }
    if (!domain.empty() && user.find('\\') == std::string::npos && user.find('@') == std::string::npos)
        user = domain + "\\" + user;
    return !user.empty() && have_password;
}

/// Reads FILE, which only its owner - the caller - may read: a password in a file others can
/// read is one they know.
bool credentials_from_file(const std::string& path, std::string& user, secret& password) {
    auto f = os::open_path(path.c_str(), O_RDONLY | O_NOFOLLOW, 0);
    if (!f) {
        report(fmt::format("cannot open {}", path), f.error);
        return false;
    }
    auto facts = os::inspect_file(f.value.get());
    if (!facts || !facts.value.regular || facts.value.owner != os::thread_effective_uid() ||
        (facts.value.mode & 077) != 0) {
        report_line(fmt::format("--credentials: {} must be a file of yours that only you can read and write "
                                "(chmod 600 it)", path));
        return false;
    }
    secret text;
    if (!read_small_file(f.value.get(), text)) {
        report_line(fmt::format("--credentials: cannot read {}", path));
        return false;
    }
    if (!parse_credentials(text.text, user, password)) {
        report_line(fmt::format("--credentials: {} needs a username= and a password= line", path));
        return false;
    }
    return true;
}

/// The password typed at the terminal (/dev/tty, so stdin stays the data's), not echoed.
bool password_from_terminal(const std::string& prompt, secret& password) {
    auto tty = os::open_path("/dev/tty", O_RDWR | O_NOCTTY, 0);
    if (!tty) {
        report_line("--user: no terminal to ask for the password on (use --credentials FILE)");
        return false;
    }
    const int t = tty.value.get();
    bool done = false;
    {
        // Echo off before the prompt: what is typed once the prompt shows is never echoed.
        auto keys = os::key_input::start(t, false);
        if (!keys) {
            report("--user: cannot turn the terminal's echo off", keys.error);
            return false;
        }
        if (os::write_all_nosigpipe(t, prompt.data(), prompt.size())) return false;
        for (char c = 0;;) {
            auto r = os::read_some(t, &c, 1);
            if (!r || r.value == 0 || c == 4) break; // the end (Ctrl+D): no password given
            if (c == '\r' || c == '\n') {
                done = true;
                break;
            }
            if (c == 0x7f || c == 0x08) {
                if (!password.text.empty()) password.text.pop_back();
            } else {
                password.text.push_back(c);
            }
        }
    }
    (void)os::write_all_nosigpipe(t, "\n", 1);
    return done;
}

} // namespace

void add_login_options(CLI::App& sub, login_args& a) {
    sub.add_option("--user", a.user,
                   "For a remote pipe: log in to its server as [DOMAIN\\]USER (or USER@REALM) with the password "
                   "typed at the terminal")
        ->type_name("USER");
    sub.add_option("--credentials", a.credentials,
                   "For a remote pipe: the user and password from FILE (username=, password= and optional "
                   "domain= lines; mode 0600, yours)")
        ->type_name("FILE");
}

int log_in(const login_args& a, const std::string& full_name) {
    if (a.user.empty() && a.credentials.empty()) return exit_ok;
    if (!a.user.empty() && !a.credentials.empty()) return bad_usage("--user and --credentials: give one of them");
    std::error_code ec;
    auto name = parse_pipe_name(full_name, ec);
    if (!name) return exit_ok; // the open says what is wrong with the name
    if (name->is_local()) return bad_usage("--user and --credentials are for a remote pipe (//HOST/NAME)");
    std::string user = a.user;
    secret password;
    bool got = a.credentials.empty()
                   ? password_from_terminal(fmt::format("Password for {} on {}: ", user, name->server), password)
                   : credentials_from_file(a.credentials, user, password);
    if (!got) return exit_failure;
    std::string remote = "\\\\" + name->server + "\\IPC$";
    NETRESOURCEA r{};
    r.dwType = RESOURCETYPE_ANY;
    r.lpRemoteName = remote.data();
    DWORD e = WNetAddConnection2A(&r, password.text.c_str(), user.c_str(), 0);
    if (e != NO_ERROR) {
        report(fmt::format("cannot log in to {} as {}", name->server, user),
               std::error_code(static_cast<int>(e), win32_category()));
        return exit_failure;
    }
    return exit_ok;
}

} // namespace npipe::cli
