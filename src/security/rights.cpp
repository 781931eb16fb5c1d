// Access masks as text: the SDDL right and flag tokens (Microsoft's "ACE strings" page) and the
// Windows names used in logs.
#include "security/sddl_text.hpp"

#include <cstdio>

namespace npipe {
namespace detail {
namespace {

constexpr sddl_token composite_rights[] = {
    {"FA", rights::FILE_ALL_ACCESS},
    {"FR", rights::FILE_GENERIC_READ},
    {"FW", rights::FILE_GENERIC_WRITE},
    {"FX", rights::FILE_GENERIC_EXECUTE},
};

// Order of concatenation: generic rights, the nine object-specific bits, then standard rights,
// as Windows writes service and directory-object masks ("CCDCLCSWRPWPDTLOCRSDRCWDWO").
constexpr sddl_token single_rights[] = {
    {"GA", rights::GENERIC_ALL},
    {"GR", rights::GENERIC_READ},
    {"GW", rights::GENERIC_WRITE},
    {"GX", rights::GENERIC_EXECUTE},
    {"CC", 0x001},
    {"DC", 0x002},
    {"LC", 0x004},
    {"SW", 0x008},
    {"RP", 0x010},
    {"WP", 0x020},
    {"DT", 0x040},
    {"LO", 0x080},
    {"CR", 0x100},
    {"SD", rights::DELETE},
    {"RC", rights::READ_CONTROL},
    {"WD", rights::WRITE_DAC},
    {"WO", rights::WRITE_OWNER},
};

constexpr sddl_token ace_flags_table[] = {
    {"OI", ace_flags::OBJECT_INHERIT},
    {"CI", ace_flags::CONTAINER_INHERIT},
    {"NP", ace_flags::NO_PROPAGATE_INHERIT},
    {"IO", ace_flags::INHERIT_ONLY},
    {"ID", ace_flags::INHERITED},
};

} // namespace

std::span<const sddl_token> composite_right_tokens() noexcept { return composite_rights; }
std::span<const sddl_token> single_right_tokens() noexcept { return single_rights; }
std::span<const sddl_token> ace_flag_tokens() noexcept { return ace_flags_table; }

} // namespace detail

std::string access_mask_to_sddl(std::uint32_t mask) {
    for (const auto& t : detail::composite_right_tokens())
        if (t.value == mask) return std::string(t.text);
    std::string letters;
    std::uint32_t covered = 0;
    for (const auto& t : detail::single_right_tokens()) {
        if (mask & t.value) {
            letters += t.text;
            covered |= t.value;
        }
    }
    if (mask != 0 && covered == mask) return letters;
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", mask);
    return hex;
}

std::string access_mask_names(std::uint32_t mask) {
    struct named {
        std::uint32_t bits;
        const char* name;
    };
    static constexpr named composites[] = {
        {rights::FILE_ALL_ACCESS, "FILE_ALL_ACCESS"},
        {rights::FILE_GENERIC_READ, "FILE_GENERIC_READ"},
        {rights::FILE_GENERIC_WRITE, "FILE_GENERIC_WRITE"},
        {rights::FILE_GENERIC_EXECUTE, "FILE_GENERIC_EXECUTE"},
    };
    for (const auto& c : composites)
        if (c.bits == mask) return c.name;
    static constexpr named bits[] = {
        {rights::FILE_READ_DATA, "FILE_READ_DATA"},
        {rights::FILE_WRITE_DATA, "FILE_WRITE_DATA"},
        {rights::FILE_CREATE_PIPE_INSTANCE, "FILE_CREATE_PIPE_INSTANCE"},
        {rights::FILE_READ_EA, "FILE_READ_EA"},
        {rights::FILE_WRITE_EA, "FILE_WRITE_EA"},
        {rights::FILE_EXECUTE, "FILE_EXECUTE"},
        {0x40, "FILE_DELETE_CHILD"},
        {rights::FILE_READ_ATTRIBUTES, "FILE_READ_ATTRIBUTES"},
        {rights::FILE_WRITE_ATTRIBUTES, "FILE_WRITE_ATTRIBUTES"},
        {rights::DELETE, "DELETE"},
        {rights::READ_CONTROL, "READ_CONTROL"},
        {rights::WRITE_DAC, "WRITE_DAC"},
        {rights::WRITE_OWNER, "WRITE_OWNER"},
        {rights::SYNCHRONIZE, "SYNCHRONIZE"},
        {rights::ACCESS_SYSTEM_SECURITY, "ACCESS_SYSTEM_SECURITY"},
        {rights::MAXIMUM_ALLOWED, "MAXIMUM_ALLOWED"},
        {rights::GENERIC_ALL, "GENERIC_ALL"},
        {rights::GENERIC_EXECUTE, "GENERIC_EXECUTE"},
        {rights::GENERIC_WRITE, "GENERIC_WRITE"},
        {rights::GENERIC_READ, "GENERIC_READ"},
    };
    if (mask == 0) return "0";
    std::string out;
    std::uint32_t rest = mask;
    for (const auto& b : bits) {
        if (!(mask & b.bits)) continue;
        if (!out.empty()) out += '|';
        out += b.name;
        rest &= ~b.bits;
    }
    if (rest != 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "0x%x", rest);
        if (!out.empty()) out += '|';
        out += hex;
    }
    return out;
}

} // namespace npipe
