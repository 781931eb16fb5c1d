// sigma.hpp - Sigma detection rules for named-pipe events: load them, match events against them.
//
// A rule is a SigmaHQ YAML file whose `logsource.category` is `pipe_created` (Sysmon EID 17/18).
// Its `detection` names selections (a map: AND of its fields; a list of maps: OR of the maps)
// and combines them in `condition` (`and`, `or`, `not`, parentheses, `1 of X*`, `any of X*`,
// `all of X*`, `1 of them`, `all of them`; `them` leaves out selections whose names start with
// `_`; the keywords are case-insensitive, selection names are not). A name in the condition that
// is no selection, or a pattern that matches none, is an error. Field values follow the Sigma
// specification:
//
//  - a plain string matches the whole field, case-insensitively, with the wildcards `*` (any
//    run of characters) and `?` (one character); `\*`, `\?` and `\\` are a literal `*`, `?`
//    and `\`; a backslash before any other character is itself literal (`\PSEXESVC`);
//  - numbers and booleans are compared as the text YAML gives them;
//  - a list of values is OR; with `|all`, AND (also accepted on a single value);
//  - `null` matches a field that is absent or empty; `|exists: true|false` tests presence only
//    (an empty field exists);
//  - modifiers `contains`, `startswith`, `endswith`, `all`, `cased` (case-sensitive),
//    `windash` (each of `-`, `/`, `–` U+2013, `—` U+2014, `―` U+2015 in the value matches any
//    of the five), `re` (an RE2 regular expression, searched for anywhere in the field unless
//    it anchors itself; case-sensitive unless `re|i`; `re|m`: `^`/`$` match at line breaks;
//    `re|s`: `.` matches a line break), `exists`.
//
// Case-insensitive comparison folds case by Unicode simple case folding (RE2's), so `é` matches
// `É` and `k` matches `K` (and the Kelvin sign). Text is UTF-8: a byte that is not part of valid
// UTF-8, in a rule value or in an event field, counts as U+FFFD.
//
// Not supported (the rule is reported and skipped): other modifiers (base64, base64offset,
// utf16*, wide, cidr, lt/lte/gt/gte, neq, expand, fieldref, date parts), keyword selections
// (plain strings without a field), aggregations (`| count() ...`), `N of` with N other than 1,
// multi-document rule files (collections), regular expressions RE2 does not accept
// (look-around, back-references).
//
// Hostile rule files are bounded: at most max_rule_file_size bytes, max_condition_depth nested
// `not`/parentheses, max_detection_items fields and values (aliases counted as often as they
// are used), max_condition_references selections named by the condition, RE2 memory of
// max_regex_memory per pattern and max_rule_regex_memory for all of a rule's patterns (each
// pattern is granted about what its program needs; identical patterns are compiled once). RE2
// matches in time linear in the input.
//
// Thread safety: a loaded rule is immutable; any number of threads may match events against the
// same rules at once. load_rules and parse_rule are reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace npipe::sigma {

inline constexpr std::size_t max_rule_file_size = 1 << 20;     ///< bytes per rule file
inline constexpr int max_condition_depth = 64;                 ///< nested `not` and parentheses
inline constexpr std::size_t max_detection_items = 10'000;     ///< fields + values per rule
inline constexpr std::size_t max_condition_references = 100'000; ///< selections named, `X of` expanded
inline constexpr std::int64_t max_regex_memory = 1 << 20;      ///< RE2 max_mem per pattern
inline constexpr std::int64_t max_rule_regex_memory = 64 << 20; ///< RE2 max_mem of a rule's patterns

/// The only log source npipe's events belong to.
inline constexpr std::string_view pipe_category = "pipe_created";

namespace detail {
struct detection;
}

/// One loaded rule. The Detection Rule License asks that every view of a match show the rule's
/// author (and title and id); the strings are the rule's own, empty when the rule has none.
struct rule {
    std::string title, id, author, level, status, description;
    std::string file; ///< where it came from (the path given to load_rules, or parse_rule's name)
    std::vector<std::string> tags, references;
    std::string category; ///< logsource.category: always pipe_category for a loaded rule

    /// The compiled detection (opaque). Null only in a default-constructed rule, which matches
    /// nothing.
    std::shared_ptr<const detail::detection> detection;
};

/// A rule file that was skipped (or a path that could not be read), and why.
struct load_problem {
    std::string file;
    std::string message;
    std::size_t line = 0; ///< 1-based line in `file` the problem is at; 0 where there is none
};

/// "FILE:LINE: MESSAGE" (or "FILE: MESSAGE").
std::string to_string(const load_problem& problem);

struct rule_set {
    std::vector<std::shared_ptr<const rule>> rules;
    std::vector<load_problem> problems;
};

/// Every *.yml / *.yaml under each path (directories recursively, in sorted order), or the path
/// itself when it names a file. A file that does not parse, is not a pipe rule, or uses what is
/// not supported becomes a problem and is skipped; the others are loaded. A second rule with an
/// id already loaded is skipped as a problem (the first one stays). A path that cannot be read is
/// a problem too. Never throws for bad input (std::bad_alloc aside).
rule_set load_rules(const std::vector<std::string>& paths);

/// One rule from YAML text; `file` names it in the rule and in problems. On failure: nullptr and
/// `problem` filled in (file, message, line where known). Never throws for bad input.
std::shared_ptr<const rule> parse_rule(std::string_view yaml, const std::string& file,
                                       load_problem& problem);

/// An event's fields by Sigma/Sysmon name ("PipeName", "Image", ...), as the rule spells them.
/// nullopt: the event has no such field. A pipe event's PipeName is `\NAME` (one leading
/// backslash); Image is the creating program's executable path.
using field_lookup = std::function<std::optional<std::string>(std::string_view field)>;

/// Whether the event matches the rule. `fields` is called at most once per field name per call;
/// exceptions it throws pass through.
bool matches(const rule& r, const field_lookup& fields);

/// The rules of `set` the event matches, in the set's order; `fields` is called at most once per
/// field name for the whole set.
std::vector<std::shared_ptr<const rule>> matching(const rule_set& set, const field_lookup& fields);

/// The names of the fields the rules of `set` test, sorted, each once. A rule's answer for an
/// event depends on these fields' values and nothing else.
std::vector<std::string> tested_fields(const rule_set& set);

/// matching() for a stream of events, remembering the answer for each combination of values of
/// the tested fields: a broker sees the same program create and open the same pipes again and
/// again, and each answer costs every rule's patterns. Keeps up to `capacity` answers, then
/// starts afresh. Not thread-safe.
class memo_matcher {
public:
    explicit memo_matcher(rule_set set, std::size_t capacity = 4096);
    /// As matching(set, fields); `fields` is called once per tested field.
    std::vector<std::shared_ptr<const rule>> matching(const field_lookup& fields);
    const rule_set& rules() const noexcept { return set_; }

private:
    rule_set set_;
    std::vector<std::string> fields_;
    std::size_t capacity_;
    std::unordered_map<std::string, std::vector<std::shared_ptr<const rule>>> answers_;
};

/// Where the SigmaHQ rules shipped with npipe are: beside the running program
/// (<bindir>/../share/npipe/rules/sigma, for any install prefix), the configured install
/// directory, or the source tree's copy (a build tree). Empty when none exists.
std::string default_rules_directory();

} // namespace npipe::sigma
