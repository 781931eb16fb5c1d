// field_test.cpp - field modifiers and values (see field_test.hpp and the rules in sigma.hpp).
#include "sigma/field_test.hpp"

#include "sigma/rule_error.hpp"
#include "sigma/sigma.hpp"
#include "sigma/utf8.hpp"
#include "sigma/value_pattern.hpp"

#include <algorithm>
#include <array>

namespace npipe::sigma::detail {

namespace {

// Modifiers of the Sigma specification that npipe does not implement: a rule using one is
// refused rather than matched wrongly.
constexpr std::array<std::string_view, 20> unsupported_modifiers = {
    "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide",   "cidr",
    "lt",     "lte",          "gt",      "gte",     "neq",   "expand", "fieldref",
    "minute", "hour",         "day",     "week",    "month", "year"};

struct modifiers {
    string_position position = string_position::whole;
    std::string_view position_name; // the modifier that set `position`
    bool all = false, cased = false, windash = false, exists = false;
    bool re = false, re_i = false, re_m = false, re_s = false;
};

[[noreturn]] void fail(const std::string& message, const YAML::Node& where) {
    throw rule_error(message, line_of(where));
}

modifiers parse_modifiers(std::string_view key, std::string_view list, const YAML::Node& where) {
    modifiers m;
    std::vector<std::string_view> seen;
    while (true) {
        const std::size_t bar = list.find('|');
        const std::string_view name = list.substr(0, bar);
        if (name.empty()) fail("empty modifier in " + quoted(key), where);
        if (std::find(seen.begin(), seen.end(), name) != seen.end())
            fail("modifier " + quoted(name) + " is given twice in " + quoted(key), where);
        seen.push_back(name);

        auto set_position = [&](string_position p) {
            if (!m.position_name.empty())
                fail(quoted(m.position_name) + " and " + quoted(name) + " exclude each other in " +
                         quoted(key), where);
            m.position = p;
            m.position_name = name;
        };
        if (name == "contains") set_position(string_position::contains);
        else if (name == "startswith") set_position(string_position::starts_with);
        else if (name == "endswith") set_position(string_position::ends_with);
        else if (name == "all") m.all = true;
        else if (name == "cased") m.cased = true;
        else if (name == "windash") m.windash = true;
        else if (name == "exists") m.exists = true;
        else if (name == "re") m.re = true;
        else if (name == "i") m.re_i = true;
        else if (name == "m") m.re_m = true;
        else if (name == "s") m.re_s = true;
        else if (std::find(unsupported_modifiers.begin(), unsupported_modifiers.end(), name) !=
                 unsupported_modifiers.end())
            fail("modifier " + quoted(name) + " (in " + quoted(key) + ") is not supported", where);
        else
            fail("unknown modifier " + quoted(name) + " in " + quoted(key), where);

        if (bar == std::string_view::npos) break;
        list.remove_prefix(bar + 1);
    }

    if (m.exists && seen.size() > 1)
        fail("'exists' cannot be combined with other modifiers (in " + quoted(key) + ")", where);
    if ((m.re_i || m.re_m || m.re_s) && !m.re)
        fail("the modifiers 'i', 'm' and 's' qualify 're' and need it (in " + quoted(key) + ")",
             where);
    if (m.re) {
        if (!m.position_name.empty())
            fail("'re' cannot be combined with " + quoted(m.position_name) + " (in " + quoted(key) +
                     "): anchor the expression instead", where);
        if (m.windash) fail("'re' cannot be combined with 'windash' (in " + quoted(key) + ")", where);
        if (m.cased)
            fail("'re' cannot be combined with 'cased' (in " + quoted(key) +
                     "): expressions are case-sensitive unless 're|i'", where);
    }
    return m;
}

} // namespace

void item_budget::take(const YAML::Node& where) {
    if (++used_ > max_detection_items)
        throw rule_error("the detection has more than " + std::to_string(max_detection_items) +
                             " fields and values (aliases count each time they are used)",
                         line_of(where));
}

field_test compile_field_test(std::string_view key, const YAML::Node& key_node,
                              const YAML::Node& value, compile_state& state) {
    state.items.take(key_node);
    field_test test;
    const std::size_t bar = key.find('|');
    test.field = std::string(key.substr(0, bar));
    if (test.field.empty())
        fail("keyword selections (values without a field, " + quoted(key) +
                 ") are not supported", key_node);
    modifiers m;
    if (bar != std::string_view::npos) m = parse_modifiers(key, key.substr(bar + 1), key_node);

    if (m.exists) {
        bool present = false;
        if (!value.IsScalar() || !YAML::convert<bool>::decode(value, present))
            fail("'exists' takes true or false (in " + quoted(key) + ")", value);
        test.exists_test = true;
        test.expect_present = present;
        return test;
    }

    std::vector<YAML::Node> values;
    if (value.IsSequence()) {
        if (value.size() == 0) fail(quoted(key) + " has an empty list of values", value);
        for (const auto& item : value) values.push_back(item);
    } else {
        values.push_back(value);
    }
    test.all = m.all;

    pattern_options options;
    options.case_sensitive = m.re ? !m.re_i : m.cased;
    options.multi_line = m.re_m;
    options.dot_all = m.re_s;

    // Plain values that any one may match are joined into alternations; `pending` collects one.
    constexpr std::size_t alternation_size = 4096;
    std::string pending;
    std::size_t pending_count = 0;
    std::size_t pending_first = 0; // index in `values` (YAML::Node assignment rebinds documents)
    auto compile = [&](const std::string& pattern, const YAML::Node& where, const std::string& what) {
        std::string error;
        auto re = state.patterns.compile(pattern, options, error);
        if (!re) fail(what + shortened(error, 200), where);
        test.patterns.push_back(std::move(re));
    };
    auto flush = [&] {
        if (pending_count == 0) return;
        const YAML::Node& first = values[pending_first];
        compile(pending, first,
                pending_count == 1 ? "value " + quoted(first.Scalar()) + " of " + quoted(key) +
                                         " cannot be compiled: "
                                   : "the values of " + quoted(key) + " cannot be compiled: ");
        pending.clear();
        pending_count = 0;
    };

    const bool plain = !m.re && m.position == string_position::whole && !m.windash;
    for (std::size_t i = 0; i < values.size(); ++i) {
        const YAML::Node& item = values[i];
        state.items.take(item);
        if (item.IsNull()) {
            if (!plain)
                fail("null cannot be combined with the modifiers of " + quoted(key), item);
            test.null_listed = true;
            continue;
        }
        if (!item.IsScalar())
            fail("the values of " + quoted(key) +
                     " must be strings, numbers, booleans or null (not lists or maps)", item);
        const std::string& text = item.Scalar();
        if (m.re) {
            compile(text, item, "invalid regular expression " + quoted(text) + " in " + quoted(key) + ": ");
            continue;
        }
        std::string pattern = sigma_string_pattern(to_valid_utf8(text), m.position, m.windash);
        if (m.all) {
            compile(pattern, item, "value " + quoted(text) + " of " + quoted(key) + " cannot be compiled: ");
            continue;
        }
        if (pending_count > 0 && pending.size() + pattern.size() > alternation_size) flush();
        if (pending_count == 0) pending_first = i;
        pending += pending_count == 0 ? "(?:" : "|(?:";
        pending += pattern;
        pending += ")";
        ++pending_count;
    }
    flush();
    return test;
}

bool test_field(const field_test& test, const std::optional<std::string>& value) {
    if (test.exists_test) return value.has_value() == test.expect_present;
    const bool absent_or_empty = !value || value->empty();
    auto matches = [&](const std::shared_ptr<const RE2>& re) {
        return RE2::PartialMatch(re2::StringPiece(value->data(), value->size()), *re);
    };
    if (test.all) {
        if (test.null_listed && !absent_or_empty) return false;
        if (!test.patterns.empty() && !value) return false;
        return std::all_of(test.patterns.begin(), test.patterns.end(), matches);
    }
    if (test.null_listed && absent_or_empty) return true;
    if (!value) return false;
    return std::any_of(test.patterns.begin(), test.patterns.end(), matches);
}

} // namespace npipe::sigma::detail
