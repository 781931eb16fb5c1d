// rules_cmd.hpp - what `npipe audit` uses of rules_cmd.cpp (npipe rules list | test).
#pragma once

#include "sigma/sigma.hpp"

#include <string>
#include <vector>

namespace npipe::cli {

/// The SigmaHQ rules shipped with npipe (unless `no_default`) and those in `dirs`; every file
/// that does not load is named on stderr and skipped.
sigma::rule_set load_rule_set(const std::vector<std::string>& dirs, bool no_default);

/// Sysmon's PipeName for what the user typed: `\\.\pipe\NAME`, `NAME` or `\NAME` -> `\NAME`.
std::string sysmon_name_of(const std::string& typed);

} // namespace npipe::cli
