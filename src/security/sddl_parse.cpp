// SDDL text to security descriptors. One pass, left to right; the first problem ends the parse
// with its offset. The grammar and the choices (case, whitespace, limits) are in security.hpp.
#include "security/sddl_text.hpp"

namespace npipe {
namespace {

using detail::fail;

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_letter(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

std::string to_upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

// ACE types Windows knows that pipes have no use for: named in the error, not just "unknown".
constexpr std::string_view other_ace_types[] = {"OA", "OD", "AU", "AL", "OU", "OL", "ML",
                                                "XA", "XD", "RA", "SP", "XU", "ZA", "SC"};

class sddl_parser {
public:
    sddl_parser(std::string_view text, sid_policy policy, sddl_error& error)
        : text_(text), policy_(policy), error_(error) {}

    bool parse(security_descriptor& out) {
        if (text_.size() > max_sddl_length) {
            fail(error_, max_sddl_length,
                 "SDDL text is " + std::to_string(text_.size()) + " bytes, more than the " +
                     std::to_string(max_sddl_length) + " npipe accepts; it ends");
            return false;
        }
        bool seen_owner = false, seen_group = false, seen_dacl = false;
        skip_space();
        while (pos_ < text_.size()) {
            if (!at_component()) {
                if (pos_ + 1 < text_.size() && text_[pos_ + 1] == ':' && is_letter(text_[pos_])) {
                    fail(error_, pos_, "unknown component '" + std::string(text_.substr(pos_, 2)) +
                                           "' (expected O:, G: or D:; SDDL is upper case)");
                } else {
                    fail(error_, pos_, "expected O:, G: or D:");
                }
                return false;
            }
            const char kind = text_[pos_];
            const std::size_t start = pos_;
            bool& seen = kind == 'O' ? seen_owner : kind == 'G' ? seen_group : seen_dacl;
            if (kind == 'S') {
                fail(error_, start, "a SACL (S:) is not supported for pipes");
                return false;
            }
            if (seen) {
                fail(error_, start, std::string("a second '") + kind + ":' component");
                return false;
            }
            seen = true;
            pos_ += 2;
            skip_space();
            if (kind == 'D') {
                if (!parse_dacl(out)) return false;
            } else {
                sid value;
                if (!detail::parse_sid_at(text_, pos_, value, error_, policy_)) return false;
                (kind == 'O' ? out.owner : out.group) = value;
            }
            skip_space();
        }
        return true;
    }

private:
    void skip_space() noexcept {
        while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    }

    bool at_component() const noexcept {
        if (pos_ + 1 >= text_.size() || text_[pos_ + 1] != ':') return false;
        const char c = text_[pos_];
        return c == 'O' || c == 'G' || c == 'D' || c == 'S';
    }

    bool parse_dacl(security_descriptor& out) {
        static constexpr std::string_view null_dacl = "NO_ACCESS_CONTROL";
        out.control |= sd_control::DACL_PRESENT;
        bool is_null = false;
        // Flags: P, AI, AR and NO_ACCESS_CONTROL, in any order, before the first ACE.
        while (pos_ < text_.size() && text_[pos_] != '(' && !is_space(text_[pos_]) && !at_component()) {
            std::string_view rest = text_.substr(pos_);
            if (rest.starts_with(null_dacl)) {
                is_null = true;
                pos_ += null_dacl.size();
            } else if (rest.starts_with("AI")) {
                out.control |= sd_control::DACL_AUTO_INHERITED;
                pos_ += 2;
            } else if (rest.starts_with("AR")) {
                out.control |= sd_control::DACL_AUTO_INHERIT_REQ;
                pos_ += 2;
            } else if (rest.starts_with("P")) {
                out.control |= sd_control::DACL_PROTECTED;
                pos_ += 1;
            } else {
                fail(error_, pos_,
                     "expected a DACL flag (P, AI, AR, NO_ACCESS_CONTROL) or '(' to start an ACE");
                return false;
            }
        }
        skip_space();
        std::vector<ace> aces;
        std::size_t acl_size = acl_header_size;
        while (pos_ < text_.size() && text_[pos_] == '(') {
            const std::size_t start = pos_;
            if (is_null) {
                fail(error_, start, "a NO_ACCESS_CONTROL DACL cannot hold ACEs; an ACE starts");
                return false;
            }
            ace entry;
            if (!parse_ace(entry)) return false;
            // Counted before the ACE is kept: an ACL that cannot exist is never built.
            acl_size += entry.byte_size();
            if (acl_size > max_acl_size) {
                fail(error_, start,
                     "the DACL would be larger than 65,535 bytes (Windows' ACL size limit) with ACE #" +
                         std::to_string(aces.size() + 1) + ", which starts");
                return false;
            }
            aces.push_back(entry);
            skip_space();
        }
        if (pos_ < text_.size() && !at_component()) {
            fail(error_, pos_, "expected '(' to start an ACE, or O:, G: after the DACL");
            return false;
        }
        if (is_null) {
            out.dacl.reset();
        } else {
            out.dacl = std::move(aces);
        }
        return true;
    }

    bool expect(char c) {
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        fail(error_, pos_, std::string("expected '") + c + "'");
        return false;
    }

    // Up to two characters of a two-letter token, never crossing a field's end.
    std::string_view token_at() const {
        std::size_t end = pos_;
        while (end < text_.size() && end < pos_ + 2 && text_[end] != ';' && text_[end] != ')') ++end;
        return text_.substr(pos_, end - pos_);
    }

    // The characters up to the next ';' or ')', or the end.
    std::string_view field() {
        const std::size_t start = pos_;
        while (pos_ < text_.size() && text_[pos_] != ';' && text_[pos_] != ')') ++pos_;
        return text_.substr(start, pos_ - start);
    }

    bool parse_ace(ace& out) {
        ++pos_; // '('
        const std::size_t type_at = pos_;
        std::string_view type = field();
        if (type == "A") {
            out.type = ace_type::access_allowed;
        } else if (type == "D") {
            out.type = ace_type::access_denied;
        } else if (type.empty()) {
            fail(error_, type_at, "expected an ACE type (A or D)");
            return false;
        } else {
            std::string upper = to_upper(type);
            bool other = false;
            for (auto t : other_ace_types) other = other || t == upper;
            if (other) {
                fail(error_, type_at, "ACE type '" + std::string(type) +
                                          "' is not supported for pipes (only A and D)");
            } else {
                fail(error_, type_at, "unknown ACE type " +
                    detail::quote_with_case_hint(type, upper == "A" || upper == "D") + " (expected A or D)");
            }
            return false;
        }
        if (!expect(';')) return false;

        while (pos_ < text_.size() && text_[pos_] != ';' && text_[pos_] != ')') {
            std::string_view token = token_at();
            bool found = false;
            for (const auto& f : detail::ace_flag_tokens()) {
                if (f.text == token) {
                    out.flags = static_cast<std::uint8_t>(out.flags | f.value);
                    found = true;
                }
            }
            if (!found) {
                bool upper_valid = false;
                for (const auto& f : detail::ace_flag_tokens())
                    upper_valid = upper_valid || f.text == to_upper(token);
                fail(error_, pos_, "unknown ACE flag " + detail::quote_with_case_hint(token, upper_valid) +
                                       " (expected OI, CI, NP, IO or ID)");
                return false;
            }
            pos_ += 2;
        }
        if (!expect(';')) return false;

        if (!parse_rights(out.mask)) return false;
        if (!expect(';')) return false;

        for (const char* which : {"object GUID", "inherited object GUID"}) {
            if (pos_ < text_.size() && text_[pos_] != ';') {
                fail(error_, pos_, std::string("an ") + which +
                                       " is only valid in object ACEs, which pipes do not use; expected ';'");
                return false;
            }
            if (!expect(';')) return false;
        }

        if (!detail::parse_sid_at(text_, pos_, out.trustee, error_, policy_)) return false;
        if (pos_ < text_.size() && text_[pos_] == ';') {
            fail(error_, pos_, "resource attributes are not supported in pipe ACEs; expected ')'");
            return false;
        }
        return expect(')');
    }

    bool parse_rights(std::uint32_t& mask) {
        const std::size_t start = pos_;
        if (pos_ + 1 < text_.size() && text_[pos_] == '0' &&
            (text_[pos_ + 1] == 'x' || text_[pos_ + 1] == 'X')) {
            pos_ += 2;
            std::uint64_t value = 0;
            const std::size_t digits = pos_;
            for (; pos_ < text_.size(); ++pos_) {
                const char c = text_[pos_];
                int v = c >= '0' && c <= '9' ? c - '0'
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                             : -1;
                if (v < 0) break;
                value = value * 16 + static_cast<std::uint64_t>(v);
                if (value > 0xFFFFFFFF) {
                    fail(error_, start, "the access mask does not fit in 32 bits");
                    return false;
                }
            }
            if (pos_ == digits) {
                fail(error_, digits, "expected hexadecimal digits after '0x'");
                return false;
            }
            mask = static_cast<std::uint32_t>(value);
            return true;
        }
        if (pos_ >= text_.size() || text_[pos_] == ';' || text_[pos_] == ')') {
            fail(error_, pos_, "expected access rights (0x hex or rights such as FA, GR)");
            return false;
        }
        if (text_[pos_] >= '0' && text_[pos_] <= '9') {
            fail(error_, pos_, "access rights are 0x hex or two-letter rights, not decimal");
            return false;
        }
        mask = 0;
        while (pos_ < text_.size() && text_[pos_] != ';' && text_[pos_] != ')') {
            std::string_view token = token_at();
            std::optional<std::uint32_t> value;
            bool upper_valid = false;
            const std::string upper = to_upper(token);
            for (auto table : {detail::composite_right_tokens(), detail::single_right_tokens()}) {
                for (const auto& t : table) {
                    if (t.text == token) value = t.value;
                    upper_valid = upper_valid || t.text == upper;
                }
            }
            if (!value) {
                fail(error_, pos_,
                     "unknown access right " + detail::quote_with_case_hint(token, upper_valid));
                return false;
            }
            mask |= *value;
            pos_ += 2;
        }
        return true;
    }

    std::string_view text_;
    sid_policy policy_;
    sddl_error& error_;
    std::size_t pos_ = 0;
};

} // namespace

std::optional<security_descriptor> parse_sddl(std::string_view text, std::error_code& ec,
                                              sddl_error* error, sid_policy policy) {
    ec.clear();
    sddl_error local;
    sddl_error& err = error ? *error : local;
    security_descriptor out;
    if (!sddl_parser(text, policy, err).parse(out)) {
        ec = make_error_code(win32_error::invalid_parameter);
        return std::nullopt;
    }
    return out;
}

} // namespace npipe
