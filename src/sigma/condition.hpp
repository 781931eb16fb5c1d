// condition.hpp - the `condition` of a Sigma detection: parsed against the selection names into a
// tree whose leaves are selection indices.
//
// Grammar (keywords case-insensitive; `not` binds tighter than `and`, `and` tighter than `or`):
//   or_expr  := and_expr ('or' and_expr)*
//   and_expr := unary ('and' unary)*
//   unary    := 'not' unary | primary
//   primary  := '(' or_expr ')' | quantifier 'of' ('them' | PATTERN) | NAME
//   quantifier := '1' | 'any' | 'all'
// PATTERN is a selection name with `*` wildcards; `them` is every selection whose name does not
// start with `_`. A name or pattern that matches no selection is an error, as are aggregations
// (`| count() ...`) and other quantifiers (`2 of`).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace npipe::sigma::detail {

struct condition {
    enum class kind {
        selection,   ///< selections[0]
        any_of,      ///< `1 of` / `any of`: one of selections
        all_of,      ///< `all of`: every one of selections
        negation,    ///< not operands[0]
        conjunction, ///< every operand (two or more)
        disjunction, ///< one of the operands (two or more)
    };
    kind what = kind::selection;
    std::vector<std::size_t> selections;
    std::vector<condition> operands;
};

/// Counts selection references (a pattern counts once per selection it matches) and the work of
/// matching patterns against names, so one condition cannot make a rule arbitrarily expensive.
struct condition_budget {
    std::size_t references = 0;
    std::size_t pattern_work = 0;
};

/// Parses one condition expression. `names` are the detection's selection names, in order.
/// Throws rule_error (with `line`) saying what is wrong and at which column.
condition parse_condition(std::string_view text, const std::vector<std::string>& names,
                          condition_budget& budget, std::size_t line);

/// Evaluates the tree; `selection_matches(i)` answers for selection i (called lazily: `and` and
/// `or` stop at the first operand that decides).
bool evaluate(const condition& c, const std::function<bool(std::size_t)>& selection_matches);

} // namespace npipe::sigma::detail
