// inspect.hpp - what the other commands use of inspect.cpp (npipe list, info, acl).
#pragma once

#include <npipe/security.hpp>

#include <string>

namespace npipe::cli {

/// Why a pipe is risky - its DACL lets Everyone, Anonymous or NETWORK write to it or create
/// instances of it - or empty when it does not (`npipe list --risky`, `npipe audit`).
std::string risk_of(const security_descriptor& sd);

} // namespace npipe::cli
