// value_pattern.hpp - Sigma string values and `re` values as RE2 patterns.
//
// Every value becomes an RE2 pattern searched for in the field (RE2::PartialMatch), anchored
// with \A and \z where the value must start or end the field. RE2 matches in time linear in the
// input whatever the pattern; what it costs is memory (its program and its DFA cache), which
// pattern_compiler bounds per pattern and per rule.
#pragma once

#include <re2/re2.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace npipe::sigma::detail {

/// Where a plain value must sit in the field.
enum class string_position {
    whole,       ///< no modifier: the value is the whole field
    contains,    ///< |contains
    starts_with, ///< |startswith
    ends_with,   ///< |endswith
};

/// The RE2 syntax of a Sigma string value: `*` any run of characters, `?` one character, `\*`
/// `\?` `\\` the literal characters, any other backslash literal; with `windash`, each of `-`,
/// `/`, U+2013, U+2014, U+2015 stands for any of the five. `value` must be valid UTF-8.
std::string sigma_string_pattern(std::string_view value, string_position position, bool windash);

struct pattern_options {
    bool case_sensitive = false;
    bool multi_line = false; ///< `^` and `$` also match at line breaks (re|m)
    bool dot_all = false;    ///< `.` also matches a line break (re|s)
};

/// Compiles the patterns of one rule. Identical patterns (aliases, repeated values) share one
/// RE2. Each pattern gets an RE2 max_mem sized to its program (a small DFA cache beyond it, at
/// most max_regex_memory), and the memory granted to a rule's patterns together stays within
/// max_rule_regex_memory: a few bytes of YAML cannot make a rule take gigabytes.
class pattern_compiler {
public:
    /// The compiled pattern, or nullptr with `error` saying why it is refused.
    std::shared_ptr<const RE2> compile(std::string_view pattern, const pattern_options& options,
                                       std::string& error);

private:
    std::map<std::string, std::shared_ptr<const RE2>, std::less<>> cache_;
    std::int64_t granted_ = 0;
};

} // namespace npipe::sigma::detail
