// The security functions of the Win32 API: SIDs, ACLs and security descriptors in Windows'
// binary layouts, SDDL in and out, and the descriptor CreateNamedPipe hands to the broker.
//
// One converter each way sits between Windows' binary forms and npipe::security_descriptor
// (read_descriptor, write_self_relative); SDDL is read and written by npipe's security model
// (parse_sddl, security_descriptor::to_sddl), never here.
// The layouts and the converters are in security_layout.hpp.
// security.hpp first: its rights:: constants share names with win32.h's macros.
#include <npipe/security.hpp>

#include "win32/io_object.hpp"
#include "win32/kernel_object.hpp"
#include "win32/security_api.hpp"
#include "win32/text.hpp"

#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <unistd.h>
#include <vector>

#include "win32/security_layout.hpp"

namespace npipe::win32 {
namespace {

// ---- shared bodies of the A and W functions ---------------------------------------------------

BOOL string_to_descriptor(const std::optional<std::string>& text, bool text_given, DWORD revision,
                          PSECURITY_DESCRIPTOR* result, PULONG size) {
    if (!text_given || !result) return fail(ERROR_INVALID_PARAMETER, FALSE);
    if (revision != SDDL_REVISION_1) return fail(ERROR_UNKNOWN_REVISION, FALSE);
    if (!text) return fail(ERROR_INVALID_PARAMETER, FALSE);
    std::error_code ec;
    auto sd = parse_sddl(*text, ec, nullptr, sid_policy::any);
    if (!sd) return fail(ERROR_INVALID_PARAMETER, FALSE);
    auto bytes = write_self_relative(*sd);
    void* p = local_copy(bytes.data(), bytes.size());
    if (!p) return FALSE;
    *result = p;
    if (size) *size = static_cast<ULONG>(bytes.size());
    return TRUE;
}

/// The SDDL of `sd` restricted to the parts `info` asks for; nullopt with the last error set.
std::optional<std::string> descriptor_to_string(PSECURITY_DESCRIPTOR sd, DWORD revision, SECURITY_INFORMATION info,
                                                bool result_given) {
    if (!sd || !result_given) return fail(ERROR_INVALID_PARAMETER, std::optional<std::string>{});
    if (revision != SDDL_REVISION_1) return fail(ERROR_UNKNOWN_REVISION, std::optional<std::string>{});
    DWORD err = 0;
    auto parsed = read_descriptor(sd, err);
    if (!parsed) return fail(err, std::optional<std::string>{});
    if (!(info & OWNER_SECURITY_INFORMATION)) parsed->owner.reset();
    if (!(info & GROUP_SECURITY_INFORMATION)) parsed->group.reset();
    if (!(info & DACL_SECURITY_INFORMATION)) {
        parsed->dacl.reset();
        parsed->control = 0;
    }
    return parsed->to_sddl();
}

BOOL sid_to_string(PSID psid, std::string& out) {
    auto s = read_sid(psid);
    if (!s) return fail(ERROR_INVALID_SID, FALSE);
    out = s->to_string();
    return TRUE;
}

BOOL string_to_sid(const std::optional<std::string>& text, PSID* result) {
    if (!text) return fail(ERROR_INVALID_SID, FALSE);
    std::error_code ec;
    auto s = sid::parse(*text, ec, nullptr, sid_policy::any);
    if (!s) return fail(ERROR_INVALID_SID, FALSE);
    auto bytes = s->to_bytes();
    void* p = local_copy(bytes.data(), bytes.size());
    if (!p) return FALSE;
    *result = p;
    return TRUE;
}

/// The absolute descriptor a Set* function may change: ERROR_UNKNOWN_REVISION, or
/// ERROR_INVALID_SECURITY_DESCR for a self-relative one.
DWORD check_settable(PSECURITY_DESCRIPTOR sd) noexcept {
    if (!sd) return ERROR_INVALID_SECURITY_DESCR;
    const auto* b = bytes_of(sd);
    if (b[0] != SECURITY_DESCRIPTOR_REVISION) return ERROR_UNKNOWN_REVISION;
    if (load16(b + 2) & SE_SELF_RELATIVE) return ERROR_INVALID_SECURITY_DESCR;
    return 0;
}

SECURITY_DESCRIPTOR load_absolute(PSECURITY_DESCRIPTOR sd) noexcept {
    SECURITY_DESCRIPTOR a;
    std::memcpy(&a, sd, sizeof a);
    return a;
}
void store_absolute(PSECURITY_DESCRIPTOR sd, const SECURITY_DESCRIPTOR& a) noexcept { std::memcpy(sd, &a, sizeof a); }

/// SetSecurityDescriptorOwner/Group.
BOOL set_sid_part(PSECURITY_DESCRIPTOR sd, PSID value, BOOL defaulted, PSID SECURITY_DESCRIPTOR::*part,
                  WORD defaulted_bit) {
    if (DWORD e = check_settable(sd)) return fail(e, FALSE);
    SECURITY_DESCRIPTOR a = load_absolute(sd);
    a.*part = value;
    a.Control = static_cast<WORD>(defaulted ? (a.Control | defaulted_bit) : (a.Control & ~defaulted_bit));
    store_absolute(sd, a);
    return TRUE;
}

/// GetSecurityDescriptorOwner/Group.
BOOL get_sid_part(PSECURITY_DESCRIPTOR sd, PSID* value, LPBOOL defaulted, bool owner, WORD defaulted_bit) {
    if (!value || !defaulted) return fail(ERROR_INVALID_PARAMETER, FALSE);
    DWORD err = 0;
    auto v = view_descriptor(sd, err);
    if (!v) return fail(err, FALSE);
    *value = const_cast<void*>(owner ? v->owner : v->group);
    *defaulted = (v->control & defaulted_bit) ? TRUE : FALSE;
    return TRUE;
}

BOOL add_ace(PACL acl, DWORD revision, DWORD flags, DWORD mask, PSID trustee, BYTE type) {
    if (check_acl(acl)) return fail(ERROR_INVALID_ACL, FALSE);
    const std::size_t sid_size = sid_length(trustee);
    if (!sid_size) return fail(ERROR_INVALID_SID, FALSE);
    if (revision < ACL_REVISION || revision > ACL_REVISION_DS) return fail(ERROR_REVISION_MISMATCH, FALSE);
    if (flags & ~DWORD{VALID_INHERIT_FLAGS}) return fail(ERROR_INVALID_FLAGS, FALSE);
    auto* b = reinterpret_cast<std::uint8_t*>(acl);
    const std::size_t used = acl_used(acl), ace_size = ace_fixed_size + sid_size;
    if (used + ace_size > load16(b + 2)) return fail(ERROR_ALLOTTED_SPACE_EXCEEDED, FALSE);
    std::uint8_t* p = b + used;
    p[0] = type;
    p[1] = static_cast<std::uint8_t>(flags);
    store16(p + 2, static_cast<WORD>(ace_size));
    store32(p + 4, mask);
    std::memcpy(p + ace_fixed_size, trustee, sid_size);
    store16(b + 4, static_cast<WORD>(load16(b + 4) + 1));
    if (revision > b[0]) b[0] = static_cast<std::uint8_t>(revision);
    return TRUE;
}

} // namespace

/// What CreateNamedPipe gives the broker for lpSecurityDescriptor (absolute or self-relative):
/// its SDDL; empty (npipe's default) when it names no owner, group or DACL. A descriptor with an
/// owner or group but no DACL gets the creator's default DACL, as Windows gives the token's.
/// nullopt with `err` for a descriptor that is not valid: ERROR_UNKNOWN_REVISION for a wrong
/// revision, ERROR_NOT_SUPPORTED for an ACE npipe cannot hold, else ERROR_INVALID_SECURITY_DESCR.
std::optional<std::string> pipe_sddl_of_descriptor(const void* descriptor, DWORD& err) {
    auto sd = read_descriptor(descriptor, err);
    if (!sd) {
        if (err != ERROR_UNKNOWN_REVISION && err != ERROR_NOT_SUPPORTED) err = ERROR_INVALID_SECURITY_DESCR;
        return std::nullopt;
    }
    const bool dacl_present = (sd->control & sd_control::DACL_PRESENT) != 0;
    if (!sd->owner && !sd->group && !dacl_present) return std::string{};
    if (!dacl_present) {
        sd->dacl = default_descriptor(static_cast<std::uint32_t>(::geteuid())).dacl;
        sd->control |= sd_control::DACL_PRESENT;
    }
    return sd->to_sddl();
}

// ---- a pipe handle's descriptor (the broker holds it) ------------------------------------------

namespace {
DWORD code_of(const std::error_code& ec) noexcept { return ec ? static_cast<DWORD>(ec.value()) : 0; }
} // namespace

DWORD named_pipe_object::get_security(security_descriptor& sd) {
    std::error_code ec;
    sd = end().security(ec);
    return code_of(ec);
}

DWORD named_pipe_object::set_security(const security_descriptor& sd, DWORD parts) {
    std::error_code ec;
    end().set_security(sd, parts, ec);
    return code_of(ec);
}

} // namespace npipe::win32

using namespace npipe::win32;

extern "C" {

// ---- SDDL ---------------------------------------------------------------------------------

BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorA(LPCSTR StringSecurityDescriptor,
                                                                 DWORD StringSDRevision,
                                                                 PSECURITY_DESCRIPTOR* SecurityDescriptor,
                                                                 PULONG SecurityDescriptorSize) {
    return guard(FALSE, [&]() -> BOOL {
        std::optional<std::string> text;
        if (StringSecurityDescriptor) text = std::string(StringSecurityDescriptor);
        return string_to_descriptor(text, StringSecurityDescriptor != nullptr, StringSDRevision, SecurityDescriptor,
                                    SecurityDescriptorSize);
    });
}

BOOL WINAPI ConvertStringSecurityDescriptorToSecurityDescriptorW(LPCWSTR StringSecurityDescriptor,
                                                                 DWORD StringSDRevision,
                                                                 PSECURITY_DESCRIPTOR* SecurityDescriptor,
                                                                 PULONG SecurityDescriptorSize) {
    return guard(FALSE, [&]() -> BOOL {
        std::optional<std::string> text;
        if (StringSecurityDescriptor) text = to_utf8(StringSecurityDescriptor);
        return string_to_descriptor(text, StringSecurityDescriptor != nullptr, StringSDRevision, SecurityDescriptor,
                                    SecurityDescriptorSize);
    });
}

BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorA(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                                 DWORD RequestedStringSDRevision,
                                                                 SECURITY_INFORMATION SecurityInformation,
                                                                 LPSTR* StringSecurityDescriptor,
                                                                 PULONG StringSecurityDescriptorLen) {
    return guard(FALSE, [&]() -> BOOL {
        auto text = descriptor_to_string(SecurityDescriptor, RequestedStringSDRevision, SecurityInformation,
                                         StringSecurityDescriptor != nullptr);
        if (!text) return FALSE;
        void* p = local_copy(text->c_str(), text->size() + 1);
        if (!p) return FALSE;
        *StringSecurityDescriptor = static_cast<LPSTR>(p);
        if (StringSecurityDescriptorLen) *StringSecurityDescriptorLen = static_cast<ULONG>(text->size() + 1);
        return TRUE;
    });
}

BOOL WINAPI ConvertSecurityDescriptorToStringSecurityDescriptorW(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                                 DWORD RequestedStringSDRevision,
                                                                 SECURITY_INFORMATION SecurityInformation,
                                                                 LPWSTR* StringSecurityDescriptor,
                                                                 PULONG StringSecurityDescriptorLen) {
    return guard(FALSE, [&]() -> BOOL {
        auto text = descriptor_to_string(SecurityDescriptor, RequestedStringSDRevision, SecurityInformation,
                                         StringSecurityDescriptor != nullptr);
        if (!text) return FALSE;
        std::u16string wide = to_utf16(*text);
        void* p = local_copy(wide.c_str(), (wide.size() + 1) * sizeof(WCHAR));
        if (!p) return FALSE;
        *StringSecurityDescriptor = static_cast<LPWSTR>(p);
        if (StringSecurityDescriptorLen) *StringSecurityDescriptorLen = static_cast<ULONG>(wide.size() + 1);
        return TRUE;
    });
}

BOOL WINAPI ConvertSidToStringSidA(PSID Sid, LPSTR* StringSid) {
    return guard(FALSE, [&]() -> BOOL {
        if (!Sid || !StringSid) return fail(ERROR_INVALID_PARAMETER, FALSE);
        std::string text;
        if (!sid_to_string(Sid, text)) return FALSE;
        void* p = local_copy(text.c_str(), text.size() + 1);
        if (!p) return FALSE;
        *StringSid = static_cast<LPSTR>(p);
        return TRUE;
    });
}

BOOL WINAPI ConvertSidToStringSidW(PSID Sid, LPWSTR* StringSid) {
    return guard(FALSE, [&]() -> BOOL {
        if (!Sid || !StringSid) return fail(ERROR_INVALID_PARAMETER, FALSE);
        std::string text;
        if (!sid_to_string(Sid, text)) return FALSE;
        std::u16string wide = to_utf16(text);
        void* p = local_copy(wide.c_str(), (wide.size() + 1) * sizeof(WCHAR));
        if (!p) return FALSE;
        *StringSid = static_cast<LPWSTR>(p);
        return TRUE;
    });
}

BOOL WINAPI ConvertStringSidToSidA(LPCSTR StringSid, PSID* Sid) {
    return guard(FALSE, [&]() -> BOOL {
        if (!StringSid || !Sid) return fail(ERROR_INVALID_PARAMETER, FALSE);
        return string_to_sid(std::string(StringSid), Sid);
    });
}

BOOL WINAPI ConvertStringSidToSidW(LPCWSTR StringSid, PSID* Sid) {
    return guard(FALSE, [&]() -> BOOL {
        if (!StringSid || !Sid) return fail(ERROR_INVALID_PARAMETER, FALSE);
        return string_to_sid(to_utf8(StringSid), Sid);
    });
}

// ---- security descriptors -----------------------------------------------------------------

BOOL WINAPI InitializeSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor, DWORD dwRevision) {
    if (!pSecurityDescriptor) return fail(ERROR_INVALID_PARAMETER, FALSE);
    if (dwRevision != SECURITY_DESCRIPTOR_REVISION) return fail(ERROR_UNKNOWN_REVISION, FALSE);
    SECURITY_DESCRIPTOR a{};
    a.Revision = SECURITY_DESCRIPTOR_REVISION;
    store_absolute(pSecurityDescriptor, a);
    return TRUE;
}

BOOL WINAPI IsValidSecurityDescriptor(PSECURITY_DESCRIPTOR pSecurityDescriptor) {
    DWORD err = 0;
    auto v = view_descriptor(pSecurityDescriptor, err);
    if (!v) return FALSE;
    if (v->owner && !sid_length(v->owner)) return FALSE;
    if (v->group && !sid_length(v->group)) return FALSE;
    if (v->dacl && check_acl(v->dacl)) return FALSE;
    if (v->sacl && check_acl(v->sacl)) return FALSE;
    return TRUE;
}

DWORD WINAPI GetSecurityDescriptorLength(PSECURITY_DESCRIPTOR pSecurityDescriptor) {
    if (!pSecurityDescriptor) return 0;
    DWORD err = 0;
    auto v = view_descriptor(pSecurityDescriptor, err);
    if (!v) return 0;
    std::size_t length =
        (v->control & SE_SELF_RELATIVE) ? relative_header_size : std::size_t{SECURITY_DESCRIPTOR_MIN_LENGTH};
    if (v->owner) length += round4(sid_length(v->owner));
    if (v->group) length += round4(sid_length(v->group));
    if (v->dacl) length += round4(load16(bytes_of(v->dacl) + 2));
    if (v->sacl) length += round4(load16(bytes_of(v->sacl) + 2));
    return static_cast<DWORD>(length);
}

BOOL WINAPI GetSecurityDescriptorControl(PSECURITY_DESCRIPTOR pSecurityDescriptor,
                                         PSECURITY_DESCRIPTOR_CONTROL pControl, LPDWORD lpdwRevision) {
    if (!pSecurityDescriptor || !pControl || !lpdwRevision) return fail(ERROR_INVALID_PARAMETER, FALSE);
    const auto* b = bytes_of(pSecurityDescriptor);
    *lpdwRevision = b[0];
    *pControl = load16(b + 2);
    if (b[0] != SECURITY_DESCRIPTOR_REVISION) return fail(ERROR_UNKNOWN_REVISION, FALSE);
    return TRUE;
}

BOOL WINAPI SetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor, BOOL bDaclPresent, PACL pDacl,
                                      BOOL bDaclDefaulted) {
    if (DWORD e = check_settable(pSecurityDescriptor)) return fail(e, FALSE);
    SECURITY_DESCRIPTOR a = load_absolute(pSecurityDescriptor);
    if (bDaclPresent) {
        a.Control |= SE_DACL_PRESENT;
        a.Dacl = pDacl;
        a.Control = static_cast<WORD>(bDaclDefaulted ? (a.Control | SE_DACL_DEFAULTED)
                                                     : (a.Control & ~SE_DACL_DEFAULTED));
    } else {
        a.Control = static_cast<WORD>(a.Control & ~(SE_DACL_PRESENT | SE_DACL_DEFAULTED));
        a.Dacl = nullptr;
    }
    store_absolute(pSecurityDescriptor, a);
    return TRUE;
}

BOOL WINAPI GetSecurityDescriptorDacl(PSECURITY_DESCRIPTOR pSecurityDescriptor, LPBOOL lpbDaclPresent, PACL* pDacl,
                                      LPBOOL lpbDaclDefaulted) {
    if (!lpbDaclPresent || !pDacl || !lpbDaclDefaulted) return fail(ERROR_INVALID_PARAMETER, FALSE);
    DWORD err = 0;
    auto v = view_descriptor(pSecurityDescriptor, err);
    if (!v) return fail(err, FALSE);
    *lpbDaclPresent = (v->control & SE_DACL_PRESENT) ? TRUE : FALSE;
    if (*lpbDaclPresent) { // as documented, nothing else is stored when there is no DACL
        *pDacl = static_cast<PACL>(const_cast<void*>(v->dacl));
        *lpbDaclDefaulted = (v->control & SE_DACL_DEFAULTED) ? TRUE : FALSE;
    }
    return TRUE;
}

BOOL WINAPI SetSecurityDescriptorOwner(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID pOwner, BOOL bOwnerDefaulted) {
    return set_sid_part(pSecurityDescriptor, pOwner, bOwnerDefaulted, &SECURITY_DESCRIPTOR::Owner, SE_OWNER_DEFAULTED);
}

BOOL WINAPI GetSecurityDescriptorOwner(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID* pOwner,
                                       LPBOOL lpbOwnerDefaulted) {
    return get_sid_part(pSecurityDescriptor, pOwner, lpbOwnerDefaulted, true, SE_OWNER_DEFAULTED);
}

BOOL WINAPI SetSecurityDescriptorGroup(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID pGroup, BOOL bGroupDefaulted) {
    return set_sid_part(pSecurityDescriptor, pGroup, bGroupDefaulted, &SECURITY_DESCRIPTOR::Group, SE_GROUP_DEFAULTED);
}

BOOL WINAPI GetSecurityDescriptorGroup(PSECURITY_DESCRIPTOR pSecurityDescriptor, PSID* pGroup,
                                       LPBOOL lpbGroupDefaulted) {
    return get_sid_part(pSecurityDescriptor, pGroup, lpbGroupDefaulted, false, SE_GROUP_DEFAULTED);
}

// ---- SIDs ---------------------------------------------------------------------------------

BOOL WINAPI IsValidSid(PSID pSid) { return sid_length(pSid) ? TRUE : FALSE; }

DWORD WINAPI GetLengthSid(PSID pSid) { return static_cast<DWORD>(sid_length(pSid)); }

BOOL WINAPI EqualSid(PSID pSid1, PSID pSid2) {
    const std::size_t a = sid_length(pSid1), b = sid_length(pSid2);
    if (!a || !b) return fail(ERROR_INVALID_SID, FALSE);
    // Not equal is not an error: the last error is cleared.
    set_last_error(ERROR_SUCCESS);
    return a == b && std::memcmp(pSid1, pSid2, a) == 0 ? TRUE : FALSE;
}

BOOL WINAPI CopySid(DWORD nDestinationSidLength, PSID pDestinationSid, PSID pSourceSid) {
    const std::size_t size = sid_length(pSourceSid);
    if (!size) return fail(ERROR_INVALID_SID, FALSE);
    if (nDestinationSidLength < size || !pDestinationSid) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
    std::memmove(pDestinationSid, pSourceSid, size);
    return TRUE;
}

// ---- ACLs ---------------------------------------------------------------------------------

BOOL WINAPI InitializeAcl(PACL pAcl, DWORD nAclLength, DWORD dwAclRevision) {
    if (!pAcl) return fail(ERROR_INVALID_PARAMETER, FALSE);
    if (nAclLength < sizeof(ACL)) return fail(ERROR_INSUFFICIENT_BUFFER, FALSE);
    if (nAclLength > 0xFFFF || dwAclRevision < ACL_REVISION || dwAclRevision > ACL_REVISION_DS)
        return fail(ERROR_INVALID_PARAMETER, FALSE);
    ACL header{};
    header.AclRevision = static_cast<BYTE>(dwAclRevision);
    header.AclSize = static_cast<WORD>(nAclLength & ~DWORD{3}); // only whole DWORDs are used
    std::memcpy(pAcl, &header, sizeof header);
    return TRUE;
}

BOOL WINAPI IsValidAcl(PACL pAcl) { return check_acl(pAcl) ? FALSE : TRUE; }

BOOL WINAPI AddAccessAllowedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask, PSID pSid) {
    return add_ace(pAcl, dwAceRevision, 0, AccessMask, pSid, ACCESS_ALLOWED_ACE_TYPE);
}

BOOL WINAPI AddAccessAllowedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags, DWORD AccessMask, PSID pSid) {
    return add_ace(pAcl, dwAceRevision, AceFlags, AccessMask, pSid, ACCESS_ALLOWED_ACE_TYPE);
}

BOOL WINAPI AddAccessDeniedAce(PACL pAcl, DWORD dwAceRevision, DWORD AccessMask, PSID pSid) {
    return add_ace(pAcl, dwAceRevision, 0, AccessMask, pSid, ACCESS_DENIED_ACE_TYPE);
}

BOOL WINAPI AddAccessDeniedAceEx(PACL pAcl, DWORD dwAceRevision, DWORD AceFlags, DWORD AccessMask, PSID pSid) {
    return add_ace(pAcl, dwAceRevision, AceFlags, AccessMask, pSid, ACCESS_DENIED_ACE_TYPE);
}

BOOL WINAPI GetAce(PACL pAcl, DWORD dwAceIndex, LPVOID* pAce) {
    if (!pAce || check_acl(pAcl)) return fail(ERROR_INVALID_PARAMETER, FALSE);
    auto* b = reinterpret_cast<std::uint8_t*>(pAcl);
    if (dwAceIndex >= load16(b + 4)) return fail(ERROR_INVALID_PARAMETER, FALSE);
    std::size_t pos = sizeof(ACL);
    for (DWORD i = 0; i < dwAceIndex; ++i) pos += load16(b + pos + 2);
    *pAce = b + pos;
    return TRUE;
}

} // extern "C"

// ---- security of a handle (aclapi.h) -----------------------------------------------------------

extern "C" {

DWORD WINAPI GetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType, SECURITY_INFORMATION SecurityInfo,
                             PSID* ppsidOwner, PSID* ppsidGroup, PACL* ppDacl, PACL* ppSacl,
                             PSECURITY_DESCRIPTOR* ppSecurityDescriptor) {
    return guard(DWORD{ERROR_NOT_ENOUGH_MEMORY}, [&]() -> DWORD {
        if (ObjectType != SE_KERNEL_OBJECT && ObjectType != SE_FILE_OBJECT) return ERROR_INVALID_PARAMETER;
        // The out-pointers point into the descriptor, so it must be asked for too; so it must when a part
        // (0xF: OWNER|GROUP|DACL|SACL_SECURITY_INFORMATION) is, as Windows refuses a call with nowhere to put it.
        if (!ppSecurityDescriptor && (ppsidOwner || ppsidGroup || ppDacl || ppSacl || (SecurityInfo & 0xFu))) return ERROR_INVALID_PARAMETER;
        if (SecurityInfo & SACL_SECURITY_INFORMATION) return ERROR_PRIVILEGE_NOT_HELD; // no SeSecurityPrivilege
        if (!lookup(handle)) return ERROR_INVALID_HANDLE;
        auto io = lookup_as<io_object>(handle);
        if (!io) return ERROR_NOT_SUPPORTED;
        npipe::security_descriptor whole;
        if (DWORD e = io->get_security(whole)) return e;
        npipe::security_descriptor asked;
        if (SecurityInfo & OWNER_SECURITY_INFORMATION) asked.owner = whole.owner;
        if (SecurityInfo & GROUP_SECURITY_INFORMATION) asked.group = whole.group;
        if (SecurityInfo & DACL_SECURITY_INFORMATION) {
            asked.dacl = whole.dacl;
            asked.control = static_cast<std::uint16_t>(whole.control | npipe::sd_control::DACL_PRESENT);
        }
        auto bytes = write_self_relative(asked);
        void* p = local_copy(bytes.data(), bytes.size());
        if (!p) return ERROR_NOT_ENOUGH_MEMORY;
        auto* base = static_cast<std::uint8_t*>(p);
        auto at = [&](std::size_t header_offset) -> void* {
            DWORD off = load32(base + header_offset);
            return off ? base + off : nullptr;
        };
        // SECURITY_DESCRIPTOR_RELATIVE: Owner, Group, Sacl, Dacl offsets at bytes 4, 8, 12, 16.
        if (ppsidOwner) *ppsidOwner = at(4);
        if (ppsidGroup) *ppsidGroup = at(8);
        if (ppDacl) *ppDacl = static_cast<PACL>(at(16));
        if (ppSacl) *ppSacl = nullptr;
        if (ppSecurityDescriptor) *ppSecurityDescriptor = p;
        else LocalFree(p);
        return ERROR_SUCCESS;
    });
}

DWORD WINAPI SetSecurityInfo(HANDLE handle, SE_OBJECT_TYPE ObjectType, SECURITY_INFORMATION SecurityInfo,
                             PSID psidOwner, PSID psidGroup, PACL pDacl, PACL pSacl) {
    return guard(DWORD{ERROR_NOT_ENOUGH_MEMORY}, [&]() -> DWORD {
        (void)pSacl;
        if (ObjectType != SE_KERNEL_OBJECT && ObjectType != SE_FILE_OBJECT) return ERROR_INVALID_PARAMETER;
        if (!lookup(handle)) return ERROR_INVALID_HANDLE;
        auto io = lookup_as<io_object>(handle);
        if (!io) return ERROR_NOT_SUPPORTED;
        npipe::security_descriptor sd;
        if (SecurityInfo & OWNER_SECURITY_INFORMATION) {
            if (!psidOwner || !(sd.owner = read_sid(psidOwner))) return ERROR_INVALID_PARAMETER;
        }
        if (SecurityInfo & GROUP_SECURITY_INFORMATION) {
            if (!psidGroup || !(sd.group = read_sid(psidGroup))) return ERROR_INVALID_PARAMETER;
        }
        if (SecurityInfo & DACL_SECURITY_INFORMATION) {
            // A NULL pDacl is a NULL DACL: full access for everyone, as Microsoft documents.
            if (pDacl) {
                DWORD err = 0;
                sd.dacl = read_acl(pDacl, err);
                if (!sd.dacl) return err ? err : ERROR_INVALID_ACL;
            }
            sd.control |= npipe::sd_control::DACL_PRESENT;
        }
        return io->set_security(sd, SecurityInfo);
    });
}

} // extern "C"
