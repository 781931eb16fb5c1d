// security/sddl_text.hpp - the tables and text helpers that SID parsing, SDDL parsing and SDDL
// formatting share. Internal to npipe.
#pragma once

#include <npipe/security.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace npipe::detail {

/// A two-letter SDDL token and the value it stands for.
struct sddl_token {
    std::string_view text;
    std::uint32_t value;
};

/// Rights that SDDL writes as one token for an exact mask: FA FR FW FX.
std::span<const sddl_token> composite_right_tokens() noexcept;
/// Rights that SDDL writes per bit, in the order to_sddl concatenates them.
std::span<const sddl_token> single_right_tokens() noexcept;
/// ACE flag tokens in the order to_sddl writes them: OI CI NP IO ID.
std::span<const sddl_token> ace_flag_tokens() noexcept;

/// The well-known SID for an upper-case alias, or nullopt.
std::optional<sid> sid_for_alias(std::string_view alias) noexcept;

/// Fills `error` with `what` and the offset: "<what> at offset N".
void fail(sddl_error& error, std::size_t offset, std::string_view what);

/// `token` shown in quotes, with its upper-case spelling when that would have been valid:
/// "'ba' (SDDL is upper case: write 'BA')".
std::string quote_with_case_hint(std::string_view token, bool upper_case_is_valid);

/// Reads a SID (S-1-... or an alias) starting at `pos`; on success `pos` is just after it.
/// Stops a hexadecimal number before a letter followed by ':' (the next SDDL component).
bool parse_sid_at(std::string_view text, std::size_t& pos, sid& out, sddl_error& error,
                  sid_policy policy);

/// "(A;flags;rights;;;sid)".
std::string ace_to_sddl(const ace& entry);

} // namespace npipe::detail
