// matching.cpp - events against rules.
#include "sigma/detection.hpp"
#include "sigma/sigma.hpp"

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

} // namespace npipe::sigma
