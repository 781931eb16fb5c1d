// matching.cpp - events against rules.
#include "sigma/detection.hpp"
#include "sigma/sigma.hpp"

#include <algorithm>
#include <set>

namespace npipe::sigma {

bool matches(const rule& r, const field_lookup& fields) {
    if (!r.detection) return false;
    detail::event_fields cache(fields);
    return detail::evaluate(*r.detection, cache);
}

std::vector<std::shared_ptr<const rule>> matching(const rule_set& set, const field_lookup& fields) {
    std::vector<std::shared_ptr<const rule>> hits;
    detail::event_fields cache(fields); // shared: each field is looked up once for the whole set
    for (const auto& r : set.rules)
        if (r && r->detection && detail::evaluate(*r->detection, cache)) hits.push_back(r);
    return hits;
}

std::vector<std::string> tested_fields(const rule_set& set) {
    std::set<std::string> names;
    for (const auto& r : set.rules)
        if (r && r->detection)
            for (const auto& s : r->detection->selections)
                for (const auto& alternative : s.alternatives)
                    for (const auto& t : alternative) names.insert(t.field);
    return {names.begin(), names.end()};
}

memo_matcher::memo_matcher(rule_set set, std::size_t capacity)
    : set_(std::move(set)), fields_(tested_fields(set_)), capacity_(capacity) {}

std::vector<std::shared_ptr<const rule>> memo_matcher::matching(const field_lookup& fields) {
    if (set_.rules.empty()) return {};
    // The key: each tested field's value, length-prefixed, or a mark for its absence.
    std::vector<std::optional<std::string>> values;
    values.reserve(fields_.size());
    std::string key;
    for (const auto& f : fields_) {
        values.push_back(fields(f));
        if (values.back()) key += std::to_string(values.back()->size()) + ':' + *values.back();
        else key += '-';
    }
    if (auto known = answers_.find(key); known != answers_.end()) return known->second;
    auto hits = sigma::matching(set_, [&](std::string_view field) -> std::optional<std::string> {
        auto at = std::lower_bound(fields_.begin(), fields_.end(), field);
        if (at == fields_.end() || *at != field) return std::nullopt; // no rule tests it
        return values[static_cast<std::size_t>(at - fields_.begin())];
    });
    if (answers_.size() >= capacity_) answers_.clear();
    answers_.emplace(std::move(key), hits);
    return hits;
}

} // namespace npipe::sigma
