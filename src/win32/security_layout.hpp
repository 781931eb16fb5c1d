// win32/security_layout.hpp - SIDs, ACLs and security descriptors in Windows' binary layouts,
// and the one converter each way between them and npipe::security_descriptor. The layouts
// (Microsoft's documentation of SID, ACL, ACE_HEADER, ACCESS_ALLOWED_ACE, SECURITY_DESCRIPTOR and
// SECURITY_DESCRIPTOR_RELATIVE):
//   SID   Revision(1) SubAuthorityCount IdentifierAuthority[6] (big-endian) SubAuthority[] (LE)
//   ACL   AclRevision Sbz1 AclSize(WORD) AceCount(WORD) Sbz2(WORD), then the ACEs
//   ACE   AceType AceFlags AceSize(WORD) Mask(DWORD) SID
//   self-relative descriptor: Revision Sbz1 Control(WORD) then the DWORD offsets of Owner,
//   Group, Sacl, Dacl (0 = absent); the parts follow the 20-byte header. npipe writes the DACL
//   first, then the owner, then the group (readers must follow the offsets, not the order).
// Buffers that callers pass need no alignment: fields are read and written with memcpy.
#pragma once

// security.hpp first: its rights:: constants share names with win32.h's macros.
#include <npipe/security.hpp>

#include <npipe/win32.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace npipe::win32 {

static_assert(sizeof(SECURITY_DESCRIPTOR_RELATIVE) == 20);
static_assert(sizeof(ACL) == acl_header_size);
static_assert(sizeof(ACE_HEADER) == 4);
static_assert(offsetof(SECURITY_DESCRIPTOR, Owner) == sizeof(void*));
static_assert(SE_DACL_PRESENT == sd_control::DACL_PRESENT && SE_DACL_PROTECTED == sd_control::DACL_PROTECTED &&
              SE_DACL_AUTO_INHERITED == sd_control::DACL_AUTO_INHERITED &&
              SE_DACL_AUTO_INHERIT_REQ == sd_control::DACL_AUTO_INHERIT_REQ &&
              SE_SELF_RELATIVE == sd_control::SELF_RELATIVE);

constexpr std::size_t relative_header_size = sizeof(SECURITY_DESCRIPTOR_RELATIVE);
/// The control bits npipe::security_descriptor keeps.
constexpr WORD kept_control = SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_DACL_AUTO_INHERITED | SE_DACL_AUTO_INHERIT_REQ;
constexpr std::size_t sid_header_size = 8;
constexpr std::size_t ace_fixed_size = 8; // ACE_HEADER + Mask

inline const std::uint8_t* bytes_of(const void* p) noexcept { return static_cast<const std::uint8_t*>(p); }

inline WORD load16(const std::uint8_t* p) noexcept {
    WORD v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline DWORD load32(const std::uint8_t* p) noexcept {
    DWORD v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline void store16(std::uint8_t* p, WORD v) noexcept { std::memcpy(p, &v, sizeof v); }
inline void store32(std::uint8_t* p, DWORD v) noexcept { std::memcpy(p, &v, sizeof v); }
inline std::size_t round4(std::size_t n) noexcept { return (n + 3) & ~std::size_t{3}; }

/// Bytes of a structurally valid binary SID (revision 1, at most 15 sub-authorities, within
/// `limit`), else 0.
std::size_t sid_length(const void* p, std::size_t limit = SIZE_MAX) noexcept;
std::optional<sid> read_sid(const void* p, std::size_t limit = SIZE_MAX);
/// A LocalAlloc'd copy of `bytes` (nullptr with ERROR_NOT_ENOUGH_MEMORY set).
void* local_copy(const void* bytes, std::size_t size);

/// 0 when `acl` is a structurally valid ACL: a known revision, AclSize at least the header,
/// every ACE inside AclSize, and the SID of every ACE type with a Mask+SID body valid.
/// ERROR_INVALID_ACL otherwise.
DWORD check_acl(const void* acl) noexcept;
/// Where the ACE list of a valid ACL ends (the offset of the first free byte).
std::size_t acl_used(const void* acl) noexcept;
/// The ACEs of a DACL. ERROR_INVALID_ACL for a malformed ACL; ERROR_NOT_SUPPORTED for an ACE
/// npipe cannot hold (anything but access-allowed and access-denied).
std::optional<std::vector<ace>> read_acl(const void* acl, DWORD& err);

/// The parts of a descriptor in either form, as pointers.
struct descriptor_view {
    BYTE revision = 0;
    WORD control = 0;
    const void* owner = nullptr;
    const void* group = nullptr;
    const void* sacl = nullptr;
    const void* dacl = nullptr;
};
/// Reads the header of an absolute or self-relative descriptor. ERROR_INVALID_SECURITY_DESCR for
/// NULL or an offset into the header, ERROR_UNKNOWN_REVISION for a revision other than 1.
std::optional<descriptor_view> view_descriptor(const void* sd, DWORD& err) noexcept;
/// A descriptor in either form as npipe's (see security_layout.cpp for the errors).
std::optional<security_descriptor> read_descriptor(const void* sd, DWORD& err);
/// npipe's descriptor in Windows' self-relative layout: header, DACL, owner, group. A NULL DACL
/// is SE_DACL_PRESENT with a zero Dacl offset; no DACL part is no SE_DACL_PRESENT.
std::vector<std::uint8_t> write_self_relative(const security_descriptor& sd);

} // namespace npipe::win32
