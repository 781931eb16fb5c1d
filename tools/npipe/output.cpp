#include "output.hpp"

#include "context.hpp"
#include "io.hpp"

#include <npipe/error.hpp>

#include <fmt/format.h>

#include "os/users.hpp"
#include <unistd.h> // STDOUT_FILENO

#include <algorithm>
#include <cstdio>

namespace npipe::cli {
namespace {

/// What a Win32 error usually means for the person at the terminal.
std::string default_hint(const std::error_code& ec) {
    if (ec.category() != win32_category()) return {};
    switch (static_cast<win32_error>(ec.value())) {
    case win32_error::file_not_found: return "no server has created this pipe (see 'npipe list')";
    case win32_error::pipe_busy: return "try --wait MS";
    case win32_error::service_not_active:
        return "unset NPIPE_NO_AUTOSTART or start npiped (the system broker: npiped --system)";
    case win32_error::sem_timeout: return "no instance became free in time";
    case win32_error::invalid_name: return "NAME is \\\\.\\pipe\\NAME or NAME, 1 to 256 characters";
    case win32_error::bad_netpath:
        return "no such host, or nothing answers SMB on its port (445, or NPIPE_SMB_PORT)";
    case win32_error::logon_failure:
        return "the server refused the credentials (NTLM_USER_FILE, or a Kerberos ticket)";
    case win32_error::broken_pipe:
    case win32_error::no_data:
    case win32_error::pipe_not_connected: return "the other end closed the pipe";
    default: return {};
    }
}

} // namespace

void report_line(std::string_view text) {
    auto line = fmt::format("npipe: {}\n", text);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

void report(std::string_view what, const std::error_code& ec, std::string hint) {
    if (hint.empty()) hint = default_hint(ec);
    if (hint == "-") hint.clear();
    report_line(hint.empty() ? fmt::format("{}: {}", what, ec.message())
                             : fmt::format("{}: {}; {}", what, ec.message(), hint));
}

int bad_usage(std::string_view text) {
    report_line(text);
    return exit_usage;
}

int print(const std::string& text) {
    std::error_code ec;
    if (!write_all(STDOUT_FILENO, std::as_bytes(std::span(text)), ec)) {
        report("cannot write to stdout", ec);
        return exit_failure;
    }
    return exit_ok;
}

int print_json(const nlohmann::json& value) {
    return print(value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

std::string text_table::render() const {
    std::vector<std::size_t> width;
    for (const auto& row : rows_) {
        if (width.size() < row.size()) width.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows_) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            line += row[i];
            if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line;
        out += '\n';
    }
    return out;
}

std::string uid_text(uid_t uid) {
    auto name = os::user_name(uid);
    return name ? fmt::format("{} ({})", uid, *name) : fmt::format("{}", uid);
}

} // namespace npipe::cli
