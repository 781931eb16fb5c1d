// impersonation.hpp - the calling thread acting as a pipe's client (ImpersonateNamedPipeClient,
// RevertToSelf). Only the calling thread changes; see os/credentials.hpp.
#pragma once

#include "os/credentials.hpp"

#include <npipe/named_pipe.hpp>

#include <optional>
#include <system_error>

namespace npipe::detail {

/// Makes the calling thread act as `who` (reverting an earlier impersonation first).
/// ERROR_CANNOT_IMPERSONATE when this process may not change identity.
void impersonate(const client_identity& who, std::error_code& ec) noexcept;

/// The identity the calling thread had before it impersonated, if it is impersonating: what a
/// thread it creates must run as (Windows starts new threads with the process's identity).
std::optional<os::thread_credentials> identity_before_impersonation() noexcept;

} // namespace npipe::detail
