// condition.cpp - tokenizer and recursive-descent parser for Sigma conditions (see condition.hpp).
#include "sigma/condition.hpp"

#include "sigma/rule_error.hpp"
#include "sigma/sigma.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

namespace npipe::sigma::detail {

namespace {

// Work allowed for matching `X of PATTERN` patterns against names (pattern length x name length
// summed over every pattern and name): generous for real rules, bounded for hostile ones.
constexpr std::size_t max_pattern_work = std::size_t{64} << 20;

struct token {
    std::string_view text;
    std::size_t offset; // in the condition text
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// `*` matches any run of characters; everything else itself. Greedy leftmost matching of the
// pieces between stars is exact for patterns whose only wildcard is `*`.
bool name_matches(std::string_view pattern, std::string_view name) {
    const std::size_t first_star = pattern.find('*');
    if (first_star == std::string_view::npos) return pattern == name;
    const std::size_t last_star = pattern.rfind('*');
    const std::string_view head = pattern.substr(0, first_star);
    const std::string_view tail = pattern.substr(last_star + 1);
    if (name.size() < head.size() + tail.size()) return false;
    if (name.substr(0, head.size()) != head) return false;
    if (name.substr(name.size() - tail.size()) != tail) return false;
    std::string_view rest = name.substr(head.size(), name.size() - head.size() - tail.size());
    std::string_view middle = pattern.substr(first_star + 1, last_star - first_star);
    while (!middle.empty()) { // pieces "a*", "b*", ... between the first and the last star
        const std::size_t star = middle.find('*');
        const std::string_view piece = middle.substr(0, star);
        middle.remove_prefix(star + 1);
        if (piece.empty()) continue;
        const std::size_t at = rest.find(piece);
        if (at == std::string_view::npos) return false;
        rest.remove_prefix(at + piece.size());
    }
    return true;
}

class parser {
public:
    parser(std::string_view text, const std::vector<std::string>& names, condition_budget& budget,
           std::size_t line)
        : text_(text), names_(names), budget_(budget), line_(line) {
        for (std::size_t i = 0; i < names.size(); ++i) index_.emplace(names[i], i);
        tokenize();
    }

    condition parse() {
        if (tokens_.empty()) fail("the condition is empty", text_.size());
        condition c = parse_or();
        if (pos_ < tokens_.size()) fail("unexpected " + quoted(tokens_[pos_].text), tokens_[pos_].offset);
        return c;
    }

private:
    [[noreturn]] void fail(const std::string& message, std::size_t offset) const {
        throw rule_error("condition, column " + std::to_string(offset + 1) + ": " + message, line_);
    }

    void tokenize() {
        for (std::size_t i = 0; i < text_.size();) {
            const char c = text_[i];
            if (is_space(c)) {
                ++i;
            } else if (c == '(' || c == ')') {
                tokens_.push_back({text_.substr(i, 1), i});
                ++i;
            } else {
                const std::size_t start = i;
                while (i < text_.size() && !is_space(text_[i]) && text_[i] != '(' && text_[i] != ')')
                    ++i;
                const std::string_view word = text_.substr(start, i - start);
                if (const std::size_t bar = word.find('|'); bar != std::string_view::npos)
                    fail("aggregations ('| count() ...') are not supported", start + bar);
                tokens_.push_back({word, start});
            }
        }
    }

    bool at_keyword(std::string_view keyword) const {
        return pos_ < tokens_.size() && equals_ignoring_case(tokens_[pos_].text, keyword);
    }

    std::size_t offset() const { return pos_ < tokens_.size() ? tokens_[pos_].offset : text_.size(); }

    // Keeps the recursion (nested `not` and parentheses) within max_condition_depth.
    struct depth_guard {
        explicit depth_guard(parser& p) : p_(p) {
            if (++p_.depth_ > max_condition_depth)
                p_.fail("nested deeper than " + std::to_string(max_condition_depth) + " levels", p_.offset());
        }
        ~depth_guard() { --p_.depth_; }
        depth_guard(const depth_guard&) = delete;
        depth_guard& operator=(const depth_guard&) = delete;
        parser& p_;
    };

    condition parse_or() {
        condition first = parse_and();
        if (!at_keyword("or")) return first;
        condition c{condition::kind::disjunction, {}, {}};
        c.operands.push_back(std::move(first));
        while (at_keyword("or")) {
            ++pos_;
            c.operands.push_back(parse_and());
        }
        return c;
    }

    condition parse_and() {
        condition first = parse_unary();
        if (!at_keyword("and")) return first;
        condition c{condition::kind::conjunction, {}, {}};
        c.operands.push_back(std::move(first));
        while (at_keyword("and")) {
            ++pos_;
            c.operands.push_back(parse_unary());
        }
        return c;
    }

    condition parse_unary() {
        if (!at_keyword("not")) return parse_primary();
        depth_guard guard(*this);
        ++pos_;
        condition c{condition::kind::negation, {}, {}};
        c.operands.push_back(parse_unary());
        return c;
    }

    condition parse_primary() {
        if (pos_ >= tokens_.size()) fail("an expression is missing at the end", text_.size());
        const token t = tokens_[pos_];
        if (t.text == "(") {
            depth_guard guard(*this);
            ++pos_;
            condition inner = parse_or();
            if (pos_ >= tokens_.size() || tokens_[pos_].text != ")")
                fail("')' expected for the '(' at column " + std::to_string(t.offset + 1), offset());
            ++pos_;
            return inner;
        }
        if (t.text == ")") fail("unexpected ')'", t.offset);
        for (std::string_view keyword : {"and", "or", "of", "them"})
            if (equals_ignoring_case(t.text, keyword))
                fail("unexpected " + quoted(t.text), t.offset);
        if (pos_ + 1 < tokens_.size() && equals_ignoring_case(tokens_[pos_ + 1].text, "of"))
            return parse_quantified();
        ++pos_;
        const auto found = index_.find(std::string(t.text));
        if (found == index_.end()) {
            if (t.text.find('*') != std::string_view::npos)
                fail("a pattern (" + quoted(t.text) + ") needs '1 of' or 'all of'", t.offset);
            fail("unknown selection " + quoted(t.text), t.offset);
        }
        count_references(1, t.offset);
        return condition{condition::kind::selection, {found->second}, {}};
    }

    condition parse_quantified() {
        const token quantifier = tokens_[pos_];
        condition c;
        if (quantifier.text == "1" || equals_ignoring_case(quantifier.text, "any"))
            c.what = condition::kind::any_of;
        else if (equals_ignoring_case(quantifier.text, "all"))
            c.what = condition::kind::all_of;
        else
            fail(quoted(std::string(quantifier.text) + " of") + " is not supported (only '1 of', 'any of', 'all of')",
                 quantifier.offset);
        pos_ += 2;
        if (pos_ >= tokens_.size() || tokens_[pos_].text == "(" || tokens_[pos_].text == ")")
            fail("'them' or a selection pattern expected after 'of'", offset());
        const token target = tokens_[pos_++];
        if (equals_ignoring_case(target.text, "them")) {
            for (std::size_t i = 0; i < names_.size(); ++i)
                if (names_[i].empty() || names_[i][0] != '_') c.selections.push_back(i);
            if (c.selections.empty())
                fail("'them' names no selection (those starting with '_' are left out)", target.offset);
        } else {
            for (std::size_t i = 0; i < names_.size(); ++i) {
                budget_.pattern_work += (target.text.size() + 1) * (names_[i].size() + 1);
                if (budget_.pattern_work > max_pattern_work)
                    fail("the condition's patterns are too expensive to expand", target.offset);
                if (name_matches(target.text, names_[i])) c.selections.push_back(i);
            }
            if (c.selections.empty())
                fail("no selection matches " + quoted(target.text), target.offset);
        }
        count_references(c.selections.size(), target.offset);
        return c;
    }

    void count_references(std::size_t n, std::size_t at) {
        budget_.references += n;
        if (budget_.references > max_condition_references)
            fail("the condition refers to more than " + std::to_string(max_condition_references) +
                     " selections", at);
    }

    std::string_view text_;
    const std::vector<std::string>& names_;
    condition_budget& budget_;
    std::size_t line_;
    std::unordered_map<std::string, std::size_t> index_;
    std::vector<token> tokens_;
    std::size_t pos_ = 0;
    int depth_ = 0;
};

} // namespace

condition parse_condition(std::string_view text, const std::vector<std::string>& names,
                          condition_budget& budget, std::size_t line) {
    return parser(text, names, budget, line).parse();
}

bool evaluate(const condition& c, const std::function<bool(std::size_t)>& selection_matches) {
    switch (c.what) {
    case condition::kind::selection:
        return selection_matches(c.selections[0]);
    case condition::kind::any_of:
        return std::any_of(c.selections.begin(), c.selections.end(), selection_matches);
    case condition::kind::all_of:
        return std::all_of(c.selections.begin(), c.selections.end(), selection_matches);
    case condition::kind::negation:
        return !evaluate(c.operands[0], selection_matches);
    case condition::kind::conjunction:
        return std::all_of(c.operands.begin(), c.operands.end(),
                           [&](const condition& o) { return evaluate(o, selection_matches); });
    case condition::kind::disjunction:
        return std::any_of(c.operands.begin(), c.operands.end(),
                           [&](const condition& o) { return evaluate(o, selection_matches); });
    }
    return false;
}

} // namespace npipe::sigma::detail
