// rule_error.hpp - why a rule is refused: thrown while a rule compiles, caught by parse_rule,
// which turns it into a load_problem. It never leaves the library.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace npipe::sigma::detail {

class rule_error : public std::runtime_error {
public:
    explicit rule_error(const std::string& message, std::size_t line = 0)
        : std::runtime_error(message), line_(line) {}
    /// 1-based line in the rule file; 0 when unknown.
    std::size_t line() const noexcept { return line_; }

private:
    std::size_t line_;
};

/// `text` cut (at a character boundary) to about `limit` bytes, "..." marking the cut: a rule's
/// values can be as large as the file, its problems should stay one readable line.
inline std::string shortened(std::string_view text, std::size_t limit = 80) {
    if (text.size() <= limit) return std::string(text);
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    return std::string(text.substr(0, cut)) + "...";
}

/// `text`, shortened, in single quotes.
inline std::string quoted(std::string_view text) { return "'" + shortened(text) + "'"; }

/// The 1-based line a YAML node starts at (0 when yaml-cpp does not know).
inline std::size_t line_of(const YAML::Node& node) {
    if (!node.IsDefined()) return 0;
    const YAML::Mark mark = node.Mark();
    return mark.line < 0 ? 0 : static_cast<std::size_t>(mark.line) + 1;
}

} // namespace npipe::sigma::detail
