// field_test.hpp - one `Field|modifier|...: value(s)` entry of a selection, compiled.
#pragma once

#include "sigma/value_pattern.hpp"

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace npipe::sigma::detail {

/// Counts the fields and values a rule compiles, aliases included as often as they are used, and
/// refuses the rule past max_detection_items (a few bytes of YAML can alias a list many times).
class item_budget {
public:
    void take(const YAML::Node& where);

private:
    std::size_t used_ = 0;
};

/// What compiling one rule's detection keeps track of.
struct compile_state {
    item_budget items;
    pattern_compiler patterns;
};

struct field_test {
    std::string field;
    bool exists_test = false;   ///< |exists: only presence counts
    bool expect_present = true; ///< the |exists value
    bool all = false;           ///< |all: every value must match (else any one)
    bool null_listed = false;   ///< `null` among the values: absent or empty field
    /// The non-null values: one pattern each with `all` and for `re`; otherwise plain values are
    /// joined into alternations (of up to a few KiB each), any of which may match.
    std::vector<std::shared_ptr<const RE2>> patterns;
};

/// Compiles `key: value` of a selection map (`key` is "Field|mod|mod..."). Throws rule_error for
/// unknown, unsupported or contradictory modifiers, values of the wrong shape and patterns RE2
/// refuses.
field_test compile_field_test(std::string_view key, const YAML::Node& key_node,
                              const YAML::Node& value, compile_state& state);

/// Whether a field value (nullopt: absent; valid UTF-8) passes the test.
bool test_field(const field_test& test, const std::optional<std::string>& value);

} // namespace npipe::sigma::detail
