// detection.cpp - compiling and evaluating a detection section (see detection.hpp).
#include "sigma/detection.hpp"

#include "sigma/rule_error.hpp"
#include "sigma/utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <unordered_set>

namespace npipe::sigma::detail {

namespace {

std::vector<field_test> compile_map(const YAML::Node& map, compile_state& state) {
    std::vector<field_test> tests;
    for (const auto& entry : map) {
        if (!entry.first.IsScalar())
            throw rule_error("a field name must be a string", line_of(entry.first));
        tests.push_back(compile_field_test(entry.first.Scalar(), entry.first, entry.second, state));
    }
    return tests;
}

selection compile_selection(const std::string& name, const YAML::Node& node, compile_state& state) {
    selection s;
    s.name = name;
    const std::string what = "selection " + quoted(name);
    if (node.IsMap()) {
        if (node.size() == 0) throw rule_error(what + " is empty", line_of(node));
        s.alternatives.push_back(compile_map(node, state));
    } else if (node.IsSequence()) {
        if (node.size() == 0) throw rule_error(what + " is empty", line_of(node));
        for (const auto& item : node) {
            if (item.IsMap() && item.size() > 0) {
                s.alternatives.push_back(compile_map(item, state));
            } else if (item.IsScalar()) {
                throw rule_error(what + ": keyword selections (values without a field) are not supported",
                                 line_of(item));
            } else {
                throw rule_error(what + ": a list item must be a non-empty map of fields", line_of(item));
            }
        }
    } else {
        throw rule_error(what + " must be a map of fields or a list of such maps", line_of(node));
    }
    return s;
}

} // namespace

detection compile_detection(const YAML::Node& node) {
    if (!node.IsMap()) throw rule_error("'detection' must be a map", line_of(node));
    detection d;
    compile_state state;
    std::optional<YAML::Node> condition_node;
    std::vector<std::string> names;
    std::unordered_set<std::string> unique_names;
    for (const auto& entry : node) {
        if (!entry.first.IsScalar())
            throw rule_error("a selection name must be a string", line_of(entry.first));
        const std::string& name = entry.first.Scalar();
        if (name == "condition") {
            condition_node.emplace(entry.second);
            continue;
        }
        if (name == "timeframe") continue; // only meaningful with aggregations, which are refused
        if (!unique_names.insert(name).second)
            throw rule_error("selection " + quoted(name) + " is defined twice", line_of(entry.first));
        names.push_back(name);
        d.selections.push_back(compile_selection(name, entry.second, state));
    }
    if (!condition_node) throw rule_error("'detection' has no 'condition'", line_of(node));
    if (d.selections.empty()) throw rule_error("'detection' has no selections", line_of(node));

    condition_budget cb;
    auto parse_one = [&](const YAML::Node& c) {
        if (!c.IsScalar()) throw rule_error("a condition must be a string", line_of(c));
        return parse_condition(c.Scalar(), names, cb, line_of(c));
    };
    if (condition_node->IsSequence()) {
        if (condition_node->size() == 0)
            throw rule_error("the condition list is empty", line_of(*condition_node));
        d.root.what = condition::kind::disjunction;
        for (const auto& c : *condition_node) d.root.operands.push_back(parse_one(c));
        if (d.root.operands.size() == 1) {
            condition only = std::move(d.root.operands[0]);
            d.root = std::move(only);
        }
    } else {
        d.root = parse_one(*condition_node);
    }
    return d;
}

const std::optional<std::string>& event_fields::get(const std::string& field) {
    if (auto found = cache_.find(field); found != cache_.end()) return found->second;
    std::optional<std::string> value = lookup_(field);
    if (value && !is_valid_utf8(*value)) value = to_valid_utf8(*value);
    return cache_.emplace(field, std::move(value)).first->second;
}

bool evaluate(const detection& d, event_fields& fields) {
    // Each selection is evaluated at most once per event, however often the condition names it.
    std::vector<std::int8_t> known(d.selections.size(), -1);
    auto selection_matches = [&](std::size_t i) {
        if (known[i] < 0) {
            const selection& s = d.selections[i];
            const bool hit = std::any_of(s.alternatives.begin(), s.alternatives.end(), [&](const auto& tests) {
                return std::all_of(tests.begin(), tests.end(), [&](const field_test& t) {
                    return test_field(t, fields.get(t.field));
                });
            });
            known[i] = hit ? 1 : 0;
        }
        return known[i] == 1;
    };
    return detail::evaluate(d.root, selection_matches);
}

} // namespace npipe::sigma::detail
