// Security descriptors to SDDL text, and the binary size of an ACL.
#include "security/sddl_text.hpp"

namespace npipe {

namespace detail {

std::string ace_to_sddl(const ace& entry) {
    std::string out = "(";
    out += entry.type == ace_type::access_denied ? "D" : "A";
    out += ';';
    for (const auto& f : ace_flag_tokens())
        if (entry.flags & f.value) out += f.text;
    out += ';';
    out += access_mask_to_sddl(entry.mask);
    out += ";;;";
    out += entry.trustee.to_sddl();
    out += ')';
    return out;
}

} // namespace detail

std::size_t acl_byte_size(std::span<const ace> aces) noexcept {
    std::size_t size = acl_header_size;
    for (const auto& a : aces) size += a.byte_size();
    return size;
}

std::string security_descriptor::to_sddl() const {
    std::string out;
    if (owner) out += "O:" + owner->to_sddl();
    if (group) out += "G:" + group->to_sddl();
    if (dacl || (control & sd_control::DACL_PRESENT)) {
        out += "D:";
        if (control & sd_control::DACL_PROTECTED) out += "P";
        if (control & sd_control::DACL_AUTO_INHERITED) out += "AI";
        if (control & sd_control::DACL_AUTO_INHERIT_REQ) out += "AR";
        if (!dacl) {
            out += "NO_ACCESS_CONTROL";
        } else {
            for (const auto& a : *dacl) out += detail::ace_to_sddl(a);
        }
    }
    return out;
}

} // namespace npipe
