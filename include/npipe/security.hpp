// npipe/security.hpp - security descriptors of pipes: SIDs, ACEs, DACLs, SDDL, AccessCheck.
//
// Every pipe carries a security descriptor held by the broker: an owner, an optional group and
// a DACL. The values are Windows' values (access masks, ACE types and flags, control bits, the
// binary SID layout), the text form is Windows' SDDL, and access_check() decides as Windows'
// AccessCheck decides for a DACL. Linux users and groups appear as the SIDs Samba gives them:
// uid N is S-1-22-1-N, gid N is S-1-22-2-N. docs/SECURITY.md has the model and the rules.
//
// SDDL as npipe reads it (parse_sddl):
//   - Components `O:sid`, `G:sid`, `D:flags(ace)(ace)...`, each at most once, in any order.
//     `S:` (a SACL) is refused: pipes in npipe carry no audit ACEs.
//   - DACL flags: P (protected), AI (auto-inherited), AR (auto-inherit requested), kept for
//     round trips; `D:NO_ACCESS_CONTROL` is a NULL DACL; `D:` with no ACE is an empty DACL.
//   - ACEs `(type;flags;rights;object_guid;inherit_object_guid;sid)`: type A (allow) or D (deny)
//     only; flags any of OI CI NP IO ID; rights either `0x` hex or a concatenation of the
//     two-letter rights (GA GR GW GX, FA FR FW FX, RC SD WD WO, CC DC LC SW RP WP DT LO CR);
//     both GUID fields empty.
//   - SIDs: `S-1-<authority>-<sub>...` (authority and sub-authorities decimal or 0x hex, at most
//     15 sub-authorities, values must fit their fields) or one of the aliases WD CO CG OW NU IU
//     AN AU SY BA. By default only SIDs that can mean someone on this system are accepted (see
//     sid::is_known); sid_policy::any accepts every well-formed SID.
//   - Case: SDDL is upper case, as Windows writes it. Aliases, component letters, ACE types,
//     flags and rights must be upper case; only hex digits and the `x` of `0x` may be either.
//     A lower-case alias is an error that names the upper-case spelling.
//   - Whitespace (space, tab, CR, LF) is allowed between components, after `X:`, between ACEs
//     and at either end; never inside an ACE, a SID or a flag word.
//   - Limits: the text is at most max_sddl_length bytes; a DACL whose binary form would exceed
//     Windows' 65,535-byte AclSize is refused at the first ACE that does not fit, before any more
//     of it is read.
//   Every refusal is ERROR_INVALID_PARAMETER (as ConvertStringSecurityDescriptorToSecurityDescriptor
//   reports it) plus an sddl_error that names the 0-based byte offset and the problem.
//
// Thread safety: value types and pure functions; safe from any thread.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace npipe {

// ---- access rights -----------------------------------------------------------------------------

/// Access-mask bits with Windows' names and values.
namespace rights {
inline constexpr std::uint32_t FILE_READ_DATA = 0x00000001;
inline constexpr std::uint32_t FILE_WRITE_DATA = 0x00000002;
/// Same bit as FILE_APPEND_DATA. npipe never implies it from GENERIC_WRITE (pipe_generic_mapping).
inline constexpr std::uint32_t FILE_CREATE_PIPE_INSTANCE = 0x00000004;
inline constexpr std::uint32_t FILE_APPEND_DATA = 0x00000004;
inline constexpr std::uint32_t FILE_READ_EA = 0x00000008;
inline constexpr std::uint32_t FILE_WRITE_EA = 0x00000010;
inline constexpr std::uint32_t FILE_EXECUTE = 0x00000020;
inline constexpr std::uint32_t FILE_READ_ATTRIBUTES = 0x00000080;
inline constexpr std::uint32_t FILE_WRITE_ATTRIBUTES = 0x00000100;
inline constexpr std::uint32_t DELETE = 0x00010000;
inline constexpr std::uint32_t READ_CONTROL = 0x00020000;
inline constexpr std::uint32_t WRITE_DAC = 0x00040000;
inline constexpr std::uint32_t WRITE_OWNER = 0x00080000;
inline constexpr std::uint32_t SYNCHRONIZE = 0x00100000;
inline constexpr std::uint32_t STANDARD_RIGHTS_REQUIRED = 0x000F0000;
inline constexpr std::uint32_t ACCESS_SYSTEM_SECURITY = 0x01000000;
inline constexpr std::uint32_t MAXIMUM_ALLOWED = 0x02000000;
inline constexpr std::uint32_t GENERIC_ALL = 0x10000000;
inline constexpr std::uint32_t GENERIC_EXECUTE = 0x20000000;
inline constexpr std::uint32_t GENERIC_WRITE = 0x40000000;
inline constexpr std::uint32_t GENERIC_READ = 0x80000000;
/// 0x120089: READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE.
inline constexpr std::uint32_t FILE_GENERIC_READ =
    READ_CONTROL | FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_READ_EA | SYNCHRONIZE;
/// 0x120116: READ_CONTROL | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA |
/// FILE_APPEND_DATA | SYNCHRONIZE.
inline constexpr std::uint32_t FILE_GENERIC_WRITE = READ_CONTROL | FILE_WRITE_DATA |
    FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | FILE_APPEND_DATA | SYNCHRONIZE;
/// 0x1200A0: READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE.
inline constexpr std::uint32_t FILE_GENERIC_EXECUTE =
    READ_CONTROL | FILE_READ_ATTRIBUTES | FILE_EXECUTE | SYNCHRONIZE;
/// 0x1F01FF.
inline constexpr std::uint32_t FILE_ALL_ACCESS = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 0x1FF;
} // namespace rights

/// How the four GENERIC_* bits become specific rights (Windows' GENERIC_MAPPING).
struct generic_mapping {
    std::uint32_t read;
    std::uint32_t write;
    std::uint32_t execute;
    std::uint32_t all;
};

/// Windows' mapping for file objects, named pipes included.
inline constexpr generic_mapping file_generic_mapping{rights::FILE_GENERIC_READ,
    rights::FILE_GENERIC_WRITE, rights::FILE_GENERIC_EXECUTE, rights::FILE_ALL_ACCESS};

/// npipe's mapping for pipes: Windows' file mapping, except that GENERIC_WRITE does not carry
/// FILE_CREATE_PIPE_INSTANCE (0x120112), so write access never lets a client add server
/// instances (docs/SECURITY.md). The SDDL right FW keeps Windows' value 0x120116, which does.
inline constexpr generic_mapping pipe_generic_mapping{rights::FILE_GENERIC_READ,
    rights::FILE_GENERIC_WRITE & ~rights::FILE_CREATE_PIPE_INSTANCE, rights::FILE_GENERIC_EXECUTE,
    rights::FILE_ALL_ACCESS};

/// Which parts of a security descriptor a read or change names (SECURITY_INFORMATION bits,
/// Windows' values).
namespace security_info {
inline constexpr std::uint32_t OWNER_SECURITY_INFORMATION = 0x00000001;
inline constexpr std::uint32_t GROUP_SECURITY_INFORMATION = 0x00000002;
inline constexpr std::uint32_t DACL_SECURITY_INFORMATION = 0x00000004;
inline constexpr std::uint32_t SACL_SECURITY_INFORMATION = 0x00000008;
inline constexpr std::uint32_t UNPROTECTED_DACL_SECURITY_INFORMATION = 0x20000000;
inline constexpr std::uint32_t PROTECTED_DACL_SECURITY_INFORMATION = 0x80000000;
} // namespace security_info

/// Replaces the GENERIC_* bits of `mask` with what `mapping` maps them to (MapGenericMask).
constexpr std::uint32_t map_generic(std::uint32_t mask, const generic_mapping& mapping) noexcept {
    std::uint32_t out = mask & ~(rights::GENERIC_READ | rights::GENERIC_WRITE |
                                 rights::GENERIC_EXECUTE | rights::GENERIC_ALL);
    if (mask & rights::GENERIC_READ) out |= mapping.read;
    if (mask & rights::GENERIC_WRITE) out |= mapping.write;
    if (mask & rights::GENERIC_EXECUTE) out |= mapping.execute;
    if (mask & rights::GENERIC_ALL) out |= mapping.all;
    return out;
}

/// An access mask as Windows' names joined by '|' ("FILE_READ_DATA|SYNCHRONIZE"); bits without
/// a name as one 0x hex rest; "0" for an empty mask. For logs and reasons.
NPIPE_API std::string access_mask_names(std::uint32_t mask);

/// An access mask as SDDL writes it: one of FA FR FW FX when the mask is exactly that, else the
/// concatenated two-letter rights when every bit has one, else 0x hex (lower-case digits).
NPIPE_API std::string access_mask_to_sddl(std::uint32_t mask);

// ---- errors with a position ---------------------------------------------------------------------

/// Where and why a SID or SDDL string was refused.
struct sddl_error {
    std::size_t offset = 0; ///< 0-based byte offset in the input
    std::string message;    ///< one sentence naming the problem and the offset
};

/// Longest SDDL text accepted, in bytes. Big enough for the canonical text of any DACL that fits
/// Windows' 65,535-byte ACL limit; far too small for 65,000 ACEs.
inline constexpr std::size_t max_sddl_length = 256 * 1024;

// ---- SIDs ---------------------------------------------------------------------------------------

/// Which well-formed SIDs a parser accepts.
enum class sid_policy {
    known, ///< only sid::is_known() SIDs: refuses SIDs that could never match anyone here
    any,   ///< every well-formed SID, as ConvertStringSidToSid does
};

/// A security identifier: revision 1, a 48-bit identifier authority, 0..15 sub-authorities.
/// A value type: comparable, ordered, hashable, no allocation.
class NPIPE_API sid {
public:
    static constexpr std::size_t max_sub_authorities = 15;

    /// The null SID's shape with no sub-authority: S-1-0.
    sid() = default;
    /// S-1-authority-subs...; at most 15 sub-authorities and an authority below 2^48 (asserted).
    sid(std::uint64_t authority, std::initializer_list<std::uint32_t> sub_authorities);
    sid(std::uint64_t authority, std::span<const std::uint32_t> sub_authorities);

    /// Parses `S-1-...` (authority and sub-authorities decimal or 0x hex) or a two-letter alias
    /// (WD CO CG OW NU IU AN AU SY BA). ERROR_INVALID_PARAMETER on anything else, with the
    /// position in `error` when given. Accepts any well-formed SID unless `policy` says known.
    static std::optional<sid> parse(std::string_view text, std::error_code& ec,
                                    sddl_error* error = nullptr, sid_policy policy = sid_policy::any);

    /// Reads Windows' binary SID (Revision 1, SubAuthorityCount <= 15, IdentifierAuthority[6]
    /// big-endian, SubAuthority[] little-endian). `bytes` must be exactly byte_size() long.
    /// ERROR_INVALID_PARAMETER for a short/long buffer, a wrong revision or too many subs.
    static std::optional<sid> from_bytes(std::span<const std::uint8_t> bytes, std::error_code& ec);

    /// S-1-... with a decimal authority below 2^32, else 0x and 12 upper-case hex digits;
    /// sub-authorities decimal (MS-DTYP 2.4.2.1).
    std::string to_string() const;
    /// The SDDL alias when there is one ("BA"), else to_string().
    std::string to_sddl() const;
    /// The SDDL alias, or empty.
    std::string_view alias() const noexcept;

    std::vector<std::uint8_t> to_bytes() const;
    /// 8 + 4 per sub-authority (GetLengthSid).
    std::size_t byte_size() const noexcept { return 8 + 4 * std::size_t{count_}; }

    std::uint64_t identifier_authority() const noexcept { return authority_; }
    std::span<const std::uint32_t> sub_authorities() const noexcept { return {subs_.data(), count_}; }

    /// N when this is S-1-22-1-N (a Linux user), N when S-1-22-2-N (a Linux group).
    std::optional<std::uint32_t> uid() const noexcept;
    std::optional<std::uint32_t> gid() const noexcept;

    /// True for the SIDs that can mean someone on this system: the ten aliases above,
    /// S-1-22-1-N / S-1-22-2-N, and domain accounts and groups (S-1-5-21-...), which SMB users
    /// reaching pipes through Samba's smbd hold.
    bool is_known() const noexcept;

    static sid user(std::uint32_t uid) { return sid(22, {1, uid}); }
    static sid group(std::uint32_t gid) { return sid(22, {2, gid}); }
    static sid everyone() { return sid(1, {0}); }            ///< WD S-1-1-0
    static sid creator_owner() { return sid(3, {0}); }       ///< CO S-1-3-0
    static sid creator_group() { return sid(3, {1}); }       ///< CG S-1-3-1
    static sid owner_rights() { return sid(3, {4}); }        ///< OW S-1-3-4
    static sid network() { return sid(5, {2}); }             ///< NU S-1-5-2
    static sid interactive() { return sid(5, {4}); }         ///< IU S-1-5-4
    static sid anonymous() { return sid(5, {7}); }           ///< AN S-1-5-7
    static sid authenticated_users() { return sid(5, {11}); } ///< AU S-1-5-11
    static sid local_system() { return sid(5, {18}); }       ///< SY S-1-5-18 (the broker)
    static sid administrators() { return sid(5, {32, 544}); } ///< BA S-1-5-32-544 (uid 0)

    friend bool operator==(const sid&, const sid&) = default;
    friend auto operator<=>(const sid&, const sid&) = default;

private:
    std::uint64_t authority_ = 0;
    std::uint8_t count_ = 0;
    std::array<std::uint32_t, max_sub_authorities> subs_{}; // unused entries stay zero
};

// ---- ACEs and security descriptors ---------------------------------------------------------------

enum class ace_type : std::uint8_t {
    access_allowed = 0, ///< ACCESS_ALLOWED_ACE_TYPE, SDDL "A"
    access_denied = 1,  ///< ACCESS_DENIED_ACE_TYPE, SDDL "D"
};

/// AceFlags bits (Windows' values). Pipes inherit nothing; the bits are kept for round trips,
/// and INHERIT_ONLY makes access_check skip the ACE, as on Windows.
namespace ace_flags {
inline constexpr std::uint8_t OBJECT_INHERIT = 0x01;       ///< OI
inline constexpr std::uint8_t CONTAINER_INHERIT = 0x02;    ///< CI
inline constexpr std::uint8_t NO_PROPAGATE_INHERIT = 0x04; ///< NP
inline constexpr std::uint8_t INHERIT_ONLY = 0x08;         ///< IO
inline constexpr std::uint8_t INHERITED = 0x10;            ///< ID
} // namespace ace_flags

struct ace {
    ace_type type = ace_type::access_allowed;
    std::uint8_t flags = 0;  ///< ace_flags; to_sddl writes only the five named bits
    std::uint32_t mask = 0;  ///< may hold GENERIC_* bits; mapped at check time
    npipe::sid trustee;

    /// ACE_HEADER + Mask + SID, as in a binary ACL.
    std::size_t byte_size() const noexcept { return 8 + trustee.byte_size(); }
    friend bool operator==(const ace&, const ace&) = default;
};

/// SECURITY_DESCRIPTOR_CONTROL bits npipe keeps (Windows' values).
namespace sd_control {
inline constexpr std::uint16_t DACL_PRESENT = 0x0004;
inline constexpr std::uint16_t DACL_AUTO_INHERIT_REQ = 0x0100; ///< SDDL "AR"
inline constexpr std::uint16_t DACL_AUTO_INHERITED = 0x0400;   ///< SDDL "AI"
inline constexpr std::uint16_t DACL_PROTECTED = 0x1000;        ///< SDDL "P"
inline constexpr std::uint16_t SELF_RELATIVE = 0x8000;
} // namespace sd_control

/// Windows' AclSize is a WORD: no ACL is larger than this many bytes, header included.
inline constexpr std::size_t max_acl_size = 65535;
/// The ACL header (AclRevision, Sbz1, AclSize, AceCount, Sbz2).
inline constexpr std::size_t acl_header_size = 8;

struct NPIPE_API security_descriptor {
    std::optional<sid> owner;
    std::optional<sid> group;
    /// nullopt is a NULL DACL: everyone gets everything. A present but empty list grants nothing.
    /// ACEs are evaluated in this order.
    std::optional<std::vector<ace>> dacl;
    /// sd_control bits. DACL_PRESENT distinguishes `D:NO_ACCESS_CONTROL` (present, NULL) from no
    /// `D:` part at all; it is set whenever `dacl` holds a list. P/AI/AR are kept for round trips.
    std::uint16_t control = 0;

    /// Canonical SDDL: O:, G:, then D: (flags P, AI, AR in that order; aliases for the
    /// well-known SIDs; rights as access_mask_to_sddl). No whitespace.
    std::string to_sddl() const;

    friend bool operator==(const security_descriptor&, const security_descriptor&) = default;
};

/// Size of the binary ACL that would hold `aces` (header included).
NPIPE_API std::size_t acl_byte_size(std::span<const ace> aces) noexcept;

/// Parses SDDL (see the top of this file). On failure: nullopt, `ec` ERROR_INVALID_PARAMETER,
/// and `error` (when given) holds the offset and the sentence. Never allocates in proportion to
/// more than max_sddl_length or a 65,535-byte ACL.
NPIPE_API std::optional<security_descriptor> parse_sddl(std::string_view text, std::error_code& ec,
    sddl_error* error = nullptr, sid_policy policy = sid_policy::known);

// ---- access checks --------------------------------------------------------------------------------

/// Who asks, as the kernel told the broker (SO_PEERCRED, SO_PEERGROUPS).
struct access_identity {
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::vector<std::uint32_t> groups{}; ///< supplementary gids
    bool anonymous = false; ///< e.g. an unmapped user-namespace peer; uid and gids are ignored
    bool remote = false;    ///< came over the network
    /// Further SIDs the identity holds (a remote user's domain SIDs, as smbd's token says them).
    /// identity_sids() never takes Administrators, LocalSystem, Interactive, Anonymous or a Unix
    /// SID (S-1-22-...) from here: those only the uid, the gids and `remote` can give.
    std::vector<sid> more_sids{};
};

/// The SIDs `who` holds, like a token's user and groups:
///  - not anonymous: S-1-22-1-uid, S-1-22-2-gid and one per supplementary gid, Everyone,
///    Authenticated Users, Interactive (local) or NETWORK (remote), Administrators when uid is 0,
///    then `more_sids` (less the ones it may not give);
///  - anonymous: Anonymous, plus NETWORK when remote. As on Windows (whose default leaves
///    "Everyone includes Anonymous" off), Anonymous is not in Everyone.
NPIPE_API std::vector<sid> identity_sids(const access_identity& who);

struct access_result {
    bool granted = false;
    /// The access granted (desired access after generic mapping; with MAXIMUM_ALLOWED, all that
    /// could be granted); 0 when refused, as AccessCheck reports it.
    std::uint32_t granted_access = 0;
    /// One sentence for the log: the ACE that decided, or what no ACE grants.
    std::string reason;
};

/// Windows' AccessCheck over the DACL of `sd` for `who` asking `desired`:
///  1. GENERIC_* bits of `desired` and of every ACE mask are mapped with `mapping`.
///  2. ACCESS_SYSTEM_SECURITY is never granted (npipe has no SeSecurityPrivilege); asking for
///     nothing at all is refused, as Windows refuses it.
///  3. NULL DACL: everything asked is granted. Empty DACL: nothing is.
///  4. The owner (its SID among the identity's) is granted READ_CONTROL and WRITE_DAC before the
///     DACL is read, unless the DACL holds an effective OWNER RIGHTS (S-1-3-4) ACE, in which case
///     those ACEs say what the owner gets.
///  5. ACEs in order, inherit-only ones skipped: a deny ACE for one of the identity's SIDs that
///     names a still-wanted bit refuses the request; an allow ACE grants its bits. The walk stops
///     once everything wanted is granted; anything left wanted at the end is refused.
///  6. MAXIMUM_ALLOWED: every ACE is read; a bit is granted if an allow ACE names it before any
///     deny ACE does. Other bits asked alongside must all be in that set. Nothing grantable is a
///     refusal.
/// Root gets nothing beyond its SIDs (S-1-22-1-0 and BA): no DACL bypass here.
NPIPE_API access_result access_check(const security_descriptor& sd, const access_identity& who,
    std::uint32_t desired, const generic_mapping& mapping = pipe_generic_mapping);

/// Which DACL a pipe created without security attributes gets.
enum class default_dacl {
    owner_and_root,     ///< npipe's default: owner and Administrators (root) full control
    windows_compatible, ///< Windows' shape: the above plus Everyone and Anonymous read (FR)
};

/// O:S-1-22-1-<owner_uid>, G:S-1-22-2-<owner_gid> when given, and
/// D:(A;;FA;;;S-1-22-1-<owner_uid>)(A;;FA;;;BA) [+ (A;;FR;;;WD)(A;;FR;;;AN)].
/// Root is named by BA, which uid 0 holds (identity_sids), so the text reads as on Windows.
NPIPE_API security_descriptor default_descriptor(std::uint32_t owner_uid,
    default_dacl kind = default_dacl::owner_and_root, std::optional<std::uint32_t> owner_gid = {});

} // namespace npipe

template <>
struct std::hash<npipe::sid> {
    NPIPE_API std::size_t operator()(const npipe::sid& s) const noexcept;
};
