// remote_login.hpp - the explicit credentials of connect, call and wait for a remote pipe
// (`--user [DOMAIN\]USER`, the password asked for on the terminal; or `--credentials FILE`),
// given to npipe the way a Windows program gives them: WNetAddConnection2 for \\HOST\IPC$.
// Passwords never come from argv or the environment, and are wiped once handed over.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace npipe::cli {

struct login_args {
    std::string user;        ///< --user: "USER", "DOMAIN\USER" or "USER@REALM"
    std::string credentials; ///< --credentials FILE
};

/// Adds --user and --credentials to `sub`.
void add_login_options(CLI::App& sub, login_args& a);

/// When `a` names credentials, registers them for the server of `full_name` (a full pipe
/// name). Returns 0 (exit_ok) when there is nothing to do or it is done, else the exit status
/// after saying why not.
int log_in(const login_args& a, const std::string& full_name);

} // namespace npipe::cli
