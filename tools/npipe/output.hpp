// output.hpp - how the npipe commands speak: errors as one line on stderr ("npipe: WHAT:
// ERROR_X (N): meaning; hint"), text and JSON on stdout, aligned tables, user names.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <sys/types.h>
#include <vector>

namespace npipe::cli {

/// "npipe: TEXT" on stderr.
void report_line(std::string_view text);

/// "npipe: WHAT: ERROR_X (N): meaning; hint". An empty `hint` picks the usual one for the
/// error (what it means at a terminal); "-" gives none.
void report(std::string_view what, const std::error_code& ec, std::string hint = {});

/// Reports a bad command line; returns exit_usage.
int bad_usage(std::string_view text);

/// Writes `text` to stdout; exit_ok, or exit_failure after saying why not.
int print(const std::string& text);

/// `value` as indented JSON and a newline on stdout (invalid UTF-8 in strings is replaced, never
/// fatal); exit_ok or exit_failure.
int print_json(const nlohmann::json& value);

/// Columns aligned on the widest cell; the last column is not padded.
class text_table {
public:
    text_table() = default;
    explicit text_table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    std::string render() const;

private:
    std::vector<std::vector<std::string>> rows_;
};

/// "1000 (alice)", or "1000" for a uid without a name.
std::string uid_text(uid_t uid);

} // namespace npipe::cli
