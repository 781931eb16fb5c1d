// value_pattern.cpp - Sigma values to RE2 patterns (see value_pattern.hpp).
#include "sigma/value_pattern.hpp"

#include "sigma/sigma.hpp"

#include <algorithm>
#include <array>
#include <cstddef>

namespace npipe::sigma::detail {

namespace {

// The characters windash makes interchangeable, as UTF-8.
constexpr std::array<std::string_view, 5> windash_characters = {
    "-", "/", "\xE2\x80\x93" /* – U+2013 */, "\xE2\x80\x94" /* — U+2014 */,
    "\xE2\x80\x95" /* ― U+2015 */};
constexpr std::string_view windash_class = R"([\-/\x{2013}\x{2014}\x{2015}])";

// Length of the windash character at value[i], or 0.
std::size_t windash_at(std::string_view value, std::size_t i) {
    for (std::string_view dash : windash_characters)
        if (value.substr(i, dash.size()) == dash) return dash.size();
    return 0;
}

} // namespace

std::string sigma_string_pattern(std::string_view value, string_position position, bool windash) {
    std::string pattern;
    std::string literal; // pending literal text, quoted as one piece
    auto flush = [&] {
        if (literal.empty()) return;
        pattern += RE2::QuoteMeta(re2::StringPiece(literal.data(), literal.size()));
        literal.clear();
    };
    if (position == string_position::whole || position == string_position::starts_with)
        pattern += R"(\A)";
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        if (c == '\\') {
            // Sigma escaping: only a wildcard or a backslash can be escaped; any other
            // backslash (`\PSEXESVC`) is itself.
            if (i + 1 < value.size() && (value[i + 1] == '*' || value[i + 1] == '?' ||
                                         value[i + 1] == '\\')) {
                literal += value[i + 1];
                i += 2;
            } else {
                literal += '\\';
                ++i;
            }
            continue;
        }
        if (c == '*' || c == '?') {
            flush();
            pattern += c == '*' ? "(?s:.*)" : "(?s:.)";
            ++i;
            continue;
        }
        if (windash) {
            if (std::size_t n = windash_at(value, i); n != 0) {
                flush();
                pattern += windash_class;
                i += n;
                continue;
            }
        }
        literal += c;
        ++i;
    }
    flush();
    if (position == string_position::whole || position == string_position::ends_with)
        pattern += R"(\z)";
    return pattern;
}

std::shared_ptr<const RE2> pattern_compiler::compile(std::string_view pattern,
                                                     const pattern_options& options,
                                                     std::string& error) {
    std::string text;
    if (options.multi_line) text = "(?m)";
    text += pattern;
    // The cache key: the options, then the pattern.
    std::string key;
    key += options.case_sensitive ? 'c' : 'i';
    key += options.dot_all ? 's' : '-';
    key += text;
    if (auto found = cache_.find(key); found != cache_.end()) return found->second;

    RE2::Options o;
    o.set_encoding(RE2::Options::EncodingUTF8);
    o.set_log_errors(false); // the error goes to the caller, not to stderr
    o.set_never_capture(true); // only whether it matches counts
    o.set_case_sensitive(options.case_sensitive);
    o.set_dot_nl(options.dot_all);
    auto build = [&](std::int64_t max_mem) {
        o.set_max_mem(max_mem);
        return std::make_shared<const RE2>(re2::StringPiece(text.data(), text.size()), o);
    };
    // RE2 spends max_mem on the program (about 16 bytes an instruction, within two thirds of
    // it) and on the DFA cache (the rest; when that runs out RE2 starts the cache afresh or falls
    // back to its NFA, slower but still linear). A program is usually about as long as the
    // pattern's text: first try a grant sized to that, with a modest DFA cache; patterns that
    // expand (repetitions, large Unicode classes) get the whole max_regex_memory.
    constexpr std::int64_t per_character = 64, dfa_allowance = 32 << 10;
    std::int64_t granted = std::min<std::int64_t>(
        max_regex_memory,
        per_character * (static_cast<std::int64_t>(text.size()) + 16) + dfa_allowance);
    std::shared_ptr<const RE2> re = build(granted);
    if (re->error_code() == RE2::ErrorPatternTooLarge && granted < max_regex_memory) {
        granted = max_regex_memory;
        re = build(granted);
    }
    if (!re->ok()) {
        error = re->error();
        return nullptr;
    }
    if (granted_ + granted > max_rule_regex_memory) {
        error = "the rule's patterns together need more than the " +
                std::to_string(max_rule_regex_memory >> 20) + " MiB a rule may use";
        return nullptr;
    }
    granted_ += granted;
    cache_.emplace(std::move(key), re);
    return re;
}

} // namespace npipe::sigma::detail
