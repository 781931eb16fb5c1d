// GetSecurityInfo / SetSecurityInfo on a pipe end: the broker holds the descriptor, so both ask
// it, naming the pipe by name and id (a newer pipe of the same name is another pipe). The end's
// own granted access is checked here first, as Windows checks the handle; the broker then
// checks the caller against the pipe's DACL as it is now.
#include "broker_link.hpp"
#include "pipe_channel.hpp"
#include "win32_errors.hpp"

#include <npipe/security.hpp>

namespace npipe {
namespace {

/// One request, one reply: the descriptor as the broker has it afterwards.
template <class Request>
security_descriptor ask_broker(const detail::pipe_channel& end, const Request& request,
                               std::error_code& ec) {
    protocol::security_reply sd;
    detail::broker_call(end.where, detail::broker_access::query, request, sd, ec);
    if (ec) return {};
    // The broker wrote it; any SID it holds is one it accepted.
    auto parsed = parse_sddl(sd.sddl, ec, nullptr, sid_policy::any);
    if (!parsed) {
        ec = detail::win32(win32_error::invalid_data);
        return {};
    }
    return std::move(*parsed);
}

} // namespace

security_descriptor pipe_end_base::security() const {
    std::error_code ec;
    auto sd = security(ec);
    detail::throw_if(ec, "GetSecurityInfo");
    return sd;
}

security_descriptor pipe_end_base::security(std::error_code& ec) const try {
    ec.clear();
    if (!channel_) { ec = detail::win32(win32_error::invalid_handle); return {}; }
    if (!(channel_->granted_access & rights::READ_CONTROL)) { ec = detail::win32(win32_error::access_denied); return {}; }
    return ask_broker(*channel_, protocol::get_security_request{channel_->name, channel_->pipe_id.load()}, ec);
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
    return {};
}

void pipe_end_base::set_security(const security_descriptor& sd, std::uint32_t parts) {
    std::error_code ec;
    set_security(sd, parts, ec);
    detail::throw_if(ec, "SetSecurityInfo");
}

void pipe_end_base::set_security(const security_descriptor& sd, std::uint32_t parts, std::error_code& ec) noexcept try {
    using namespace security_info;
    ec.clear();
    if (!channel_) { ec = detail::win32(win32_error::invalid_handle); return; }
    constexpr std::uint32_t known = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
                                    SACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION |
                                    UNPROTECTED_DACL_SECURITY_INFORMATION;
    if (parts == 0 || (parts & ~known)) { ec = detail::win32(win32_error::invalid_parameter); return; }
    // What this end may do, as Windows checks the handle's granted access.
    std::uint32_t needed = ((parts & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION)) ? rights::WRITE_OWNER : 0u) |
                           ((parts & (DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION |
                                      UNPROTECTED_DACL_SECURITY_INFORMATION)) ? rights::WRITE_DAC : 0u) |
                           ((parts & SACL_SECURITY_INFORMATION) ? rights::ACCESS_SYSTEM_SECURITY : 0u);
    if ((channel_->granted_access & needed) != needed) { ec = detail::win32(win32_error::access_denied); return; }
    if (((parts & OWNER_SECURITY_INFORMATION) && !sd.owner) || ((parts & GROUP_SECURITY_INFORMATION) && !sd.group)) {
        ec = detail::win32(win32_error::invalid_parameter);
        return;
    }
    // Only the parts named travel; the DACL always as present (NULL or a list).
    security_descriptor part;
    if (parts & OWNER_SECURITY_INFORMATION) part.owner = sd.owner;
    if (parts & GROUP_SECURITY_INFORMATION) part.group = sd.group;
    if (parts & DACL_SECURITY_INFORMATION) {
        part.dacl = sd.dacl;
        part.control = static_cast<std::uint16_t>((sd.control & (sd_control::DACL_PROTECTED | sd_control::DACL_AUTO_INHERITED |
                                                                  sd_control::DACL_AUTO_INHERIT_REQ)) |
                                                  sd_control::DACL_PRESENT);
    }
    protocol::set_security_request req{channel_->name, channel_->pipe_id.load(), parts, part.to_sddl()};
    ask_broker(*channel_, req, ec);
} catch (const std::bad_alloc&) {
    ec = detail::win32(win32_error::not_enough_memory);
}

std::uint32_t pipe_end_base::granted_access() const noexcept { return channel_ ? channel_->granted_access : 0; }

} // namespace npipe
