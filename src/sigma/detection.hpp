// detection.hpp - a rule's compiled `detection` section: its selections and its condition, and
// the per-event field cache they are evaluated against.
#pragma once

#include "sigma/condition.hpp"
#include "sigma/field_test.hpp"
#include "sigma/sigma.hpp"

#include <yaml-cpp/yaml.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace npipe::sigma::detail {

struct selection {
    std::string name;
    /// A map is one alternative (every test must pass); a list of maps is one alternative per map
    /// (one of them must pass).
    std::vector<std::vector<field_test>> alternatives;
};

struct detection {
    std::vector<selection> selections; ///< in the order of the rule file
    condition root;                    ///< a list of conditions is their disjunction
};

/// Compiles the `detection` map. Throws rule_error.
detection compile_detection(const YAML::Node& node);

/// An event's fields, looked up once each and made valid UTF-8 (see utf8.hpp).
class event_fields {
public:
    explicit event_fields(const field_lookup& lookup) : lookup_(lookup) {}
    const std::optional<std::string>& get(const std::string& field);

private:
    const field_lookup& lookup_;
    std::map<std::string, std::optional<std::string>, std::less<>> cache_;
};

bool evaluate(const detection& d, event_fields& fields);

} // namespace npipe::sigma::detail
