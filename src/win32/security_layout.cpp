// SIDs, ACLs and security descriptors in Windows' binary layouts (security_layout.hpp).
#include "win32/security_layout.hpp"

#include "win32/kernel_object.hpp"

namespace npipe::win32 {

// ---- SIDs -----------------------------------------------------------------------------------

/// Bytes of a structurally valid binary SID (revision 1, at most 15 sub-authorities, within
/// `limit`), else 0.
std::size_t sid_length(const void* p, std::size_t limit) noexcept {
    if (!p || limit < sid_header_size) return 0;
    const auto* b = bytes_of(p);
    if (b[0] != SID_REVISION || b[1] > SID_MAX_SUB_AUTHORITIES) return 0;
    std::size_t size = sid_header_size + 4 * std::size_t{b[1]};
    return size <= limit ? size : 0;
}

std::optional<sid> read_sid(const void* p, std::size_t limit) {
    std::size_t size = sid_length(p, limit);
    if (!size) return std::nullopt;
    std::error_code ec;
    return sid::from_bytes({bytes_of(p), size}, ec);
}

/// A LocalAlloc'd copy of `bytes` (nullptr with ERROR_NOT_ENOUGH_MEMORY set).
void* local_copy(const void* bytes, std::size_t size) {
    void* p = LocalAlloc(LMEM_FIXED, size);
    if (p && size) std::memcpy(p, bytes, size);
    return p;
}

// ---- ACLs -----------------------------------------------------------------------------------

/// 0 when `acl` is a structurally valid ACL: a known revision, AclSize at least the header,
/// every ACE inside AclSize, and the SID of every ACE type with a Mask+SID body valid.
/// ERROR_INVALID_ACL otherwise.
DWORD check_acl(const void* acl) noexcept {
    if (!acl) return ERROR_INVALID_ACL;
    const auto* b = bytes_of(acl);
    if (b[0] < ACL_REVISION || b[0] > ACL_REVISION_DS) return ERROR_INVALID_ACL;
    const std::size_t size = load16(b + 2), count = load16(b + 4);
    if (size < sizeof(ACL)) return ERROR_INVALID_ACL;
    std::size_t pos = sizeof(ACL);
    for (std::size_t i = 0; i < count; ++i) {
        if (pos + sizeof(ACE_HEADER) > size) return ERROR_INVALID_ACL;
        const std::size_t ace_size = load16(b + pos + 2);
        if (ace_size < sizeof(ACE_HEADER) || pos + ace_size > size) return ERROR_INVALID_ACL;
        const BYTE type = b[pos];
        if (type <= SYSTEM_ALARM_ACE_TYPE) { // allowed, denied, audit, alarm: Mask then SID
            if (ace_size < ace_fixed_size || !sid_length(b + pos + ace_fixed_size, ace_size - ace_fixed_size))
                return ERROR_INVALID_ACL;
        }
        pos += ace_size;
    }
    return 0;
}

/// Where the ACE list of a valid ACL ends (the offset of the first free byte).
std::size_t acl_used(const void* acl) noexcept {
    const auto* b = bytes_of(acl);
    std::size_t pos = sizeof(ACL);
    for (std::size_t i = 0, count = load16(b + 4); i < count; ++i) pos += load16(b + pos + 2);
    return pos;
}

/// The ACEs of a DACL. ERROR_INVALID_ACL for a malformed ACL; ERROR_NOT_SUPPORTED for an ACE
/// npipe cannot hold (anything but access-allowed and access-denied).
std::optional<std::vector<ace>> read_acl(const void* acl, DWORD& err) {
    if ((err = check_acl(acl))) return std::nullopt;
    const auto* b = bytes_of(acl);
    std::vector<ace> out;
    std::size_t pos = sizeof(ACL);
    for (std::size_t i = 0, count = load16(b + 4); i < count; ++i) {
        const std::size_t ace_size = load16(b + pos + 2);
        const BYTE type = b[pos];
        if (type != ACCESS_ALLOWED_ACE_TYPE && type != ACCESS_DENIED_ACE_TYPE) {
            err = ERROR_NOT_SUPPORTED;
            return std::nullopt;
        }
        ace entry;
        entry.type = type == ACCESS_DENIED_ACE_TYPE ? ace_type::access_denied : ace_type::access_allowed;
        entry.flags = b[pos + 1];
        entry.mask = load32(b + pos + 4);
        auto trustee = read_sid(b + pos + ace_fixed_size, ace_size - ace_fixed_size);
        if (!trustee) {
            err = ERROR_INVALID_ACL;
            return std::nullopt;
        }
        entry.trustee = *trustee;
        out.push_back(entry);
        pos += ace_size;
    }
    return out;
}

// ---- security descriptors -------------------------------------------------------------------

/// Reads the header of an absolute or self-relative descriptor. ERROR_INVALID_SECURITY_DESCR for
/// NULL or an offset into the header, ERROR_UNKNOWN_REVISION for a revision other than 1.
std::optional<descriptor_view> view_descriptor(const void* sd, DWORD& err) noexcept {
    if (!sd) {
        err = ERROR_INVALID_SECURITY_DESCR;
        return std::nullopt;
    }
    const auto* b = bytes_of(sd);
    descriptor_view v;
    v.revision = b[0];
    v.control = load16(b + 2);
    if (v.revision != SECURITY_DESCRIPTOR_REVISION) {
        err = ERROR_UNKNOWN_REVISION;
        return std::nullopt;
    }
    if (v.control & SE_SELF_RELATIVE) {
        SECURITY_DESCRIPTOR_RELATIVE r;
        std::memcpy(&r, sd, sizeof r);
        for (DWORD offset : {r.Owner, r.Group, r.Sacl, r.Dacl}) {
            if (offset != 0 && offset < relative_header_size) {
                err = ERROR_INVALID_SECURITY_DESCR;
                return std::nullopt;
            }
        }
        auto at = [&](DWORD offset) -> const void* { return offset ? b + offset : nullptr; };
        v.owner = at(r.Owner);
        v.group = at(r.Group);
        v.sacl = at(r.Sacl);
        v.dacl = at(r.Dacl);
    } else {
        SECURITY_DESCRIPTOR a;
        std::memcpy(&a, sd, sizeof a);
        v.owner = a.Owner;
        v.group = a.Group;
        v.sacl = a.Sacl;
        v.dacl = a.Dacl;
    }
    if (!(v.control & SE_DACL_PRESENT)) v.dacl = nullptr;
    if (!(v.control & SE_SACL_PRESENT)) v.sacl = nullptr;
    return v;
}

/// Windows' binary descriptor (absolute or self-relative) as npipe's. Errors: those of
/// view_descriptor, ERROR_INVALID_SID for a bad owner or group, ERROR_INVALID_ACL for a bad
/// DACL or SACL, ERROR_NOT_SUPPORTED for a DACL entry npipe cannot hold. A SACL is checked and
/// dropped: npipe keeps no audit ACEs.
std::optional<security_descriptor> read_descriptor(const void* sd, DWORD& err) {
    auto v = view_descriptor(sd, err);
    if (!v) return std::nullopt;
    security_descriptor out;
    if (v->owner && !(out.owner = read_sid(v->owner))) {
        err = ERROR_INVALID_SID;
        return std::nullopt;
    }
    if (v->group && !(out.group = read_sid(v->group))) {
        err = ERROR_INVALID_SID;
        return std::nullopt;
    }
    if (v->sacl && (err = check_acl(v->sacl))) return std::nullopt;
    out.control = static_cast<std::uint16_t>(v->control & kept_control);
    if ((v->control & SE_DACL_PRESENT) && v->dacl) {
        out.dacl = read_acl(v->dacl, err);
        if (!out.dacl) return std::nullopt;
    }
    return out;
}

void append_sid(std::vector<std::uint8_t>& out, const sid& s) {
    auto bytes = s.to_bytes();
    out.insert(out.end(), bytes.begin(), bytes.end());
}

/// npipe's descriptor in Windows' self-relative layout: header, DACL, owner, group. A NULL DACL
/// is SE_DACL_PRESENT with a zero Dacl offset; no DACL part is no SE_DACL_PRESENT.
std::vector<std::uint8_t> write_self_relative(const security_descriptor& sd) {
    std::vector<std::uint8_t> out(relative_header_size, 0);
    WORD control = static_cast<WORD>(SE_SELF_RELATIVE | (sd.control & kept_control));
    DWORD owner = 0, group = 0, dacl = 0;
    if (sd.dacl) {
        control |= SE_DACL_PRESENT;
        dacl = static_cast<DWORD>(out.size());
        const std::size_t acl_size = acl_byte_size(*sd.dacl); // parse_sddl keeps it <= 65,535
        std::uint8_t header[sizeof(ACL)] = {ACL_REVISION, 0};
        store16(header + 2, static_cast<WORD>(acl_size));
        store16(header + 4, static_cast<WORD>(sd.dacl->size()));
        out.insert(out.end(), header, header + sizeof header);
        for (const ace& a : *sd.dacl) {
            std::uint8_t fixed[ace_fixed_size];
            fixed[0] = a.type == ace_type::access_denied ? ACCESS_DENIED_ACE_TYPE : ACCESS_ALLOWED_ACE_TYPE;
            fixed[1] = a.flags;
            store16(fixed + 2, static_cast<WORD>(a.byte_size()));
            store32(fixed + 4, a.mask);
            out.insert(out.end(), fixed, fixed + sizeof fixed);
            append_sid(out, a.trustee);
        }
    }
    if (sd.owner) {
        owner = static_cast<DWORD>(out.size());
        append_sid(out, *sd.owner);
    }
    if (sd.group) {
        group = static_cast<DWORD>(out.size());
        append_sid(out, *sd.group);
    }
    out[0] = SECURITY_DESCRIPTOR_REVISION;
    out[1] = 0;
    store16(out.data() + 2, control);
    store32(out.data() + 4, owner);
    store32(out.data() + 8, group);
    store32(out.data() + 12, 0); // Sacl: npipe has none
    store32(out.data() + 16, dacl);
    return out;
}

} // namespace npipe::win32
