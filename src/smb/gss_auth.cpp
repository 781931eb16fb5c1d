// GSSAPI calls (see gss_auth.hpp).
#include "smb/gss_auth.hpp"

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <cstring>

namespace npipe::smb {
namespace {

gss_OID_desc spnego_oid{6, const_cast<char*>("\x2b\x06\x01\x05\x05\x02")};

std::string describe(OM_uint32 status, int type) {
    std::string out;
    OM_uint32 minor = 0, context = 0;
    do {
        gss_buffer_desc text{0, nullptr};
        if (gss_display_status(&minor, status, type, GSS_C_NO_OID, &context, &text) != GSS_S_COMPLETE) break;
        if (!out.empty()) out += "; ";
        out.append(static_cast<const char*>(text.value), text.length);
        gss_release_buffer(&minor, &text);
    } while (context != 0);
    return out;
}

std::string describe(OM_uint32 major, OM_uint32 minor) {
    std::string m = describe(major, GSS_C_GSS_CODE);
    if (minor != 0) m += " (" + describe(minor, GSS_C_MECH_CODE) + ")";
    return m;
}

} // namespace

struct gss_authenticator::state {
    gss_name_t target = GSS_C_NO_NAME;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_ctx_id_t context = GSS_C_NO_CONTEXT;

    ~state() {
        OM_uint32 minor = 0;
        if (context != GSS_C_NO_CONTEXT) gss_delete_sec_context(&minor, &context, GSS_C_NO_BUFFER);
        if (cred != GSS_C_NO_CREDENTIAL) gss_release_cred(&minor, &cred);
        if (target != GSS_C_NO_NAME) gss_release_name(&minor, &target);
    }
};

namespace {

/// A credential for SPNEGO from a user name and password.
bool acquire_with_password(const explicit_credentials& c, gss_cred_id_t& cred, gss_failure& failure) {
    OM_uint32 minor = 0;
    gss_buffer_desc name_buffer{c.user.size(), const_cast<char*>(c.user.data())};
    gss_name_t name = GSS_C_NO_NAME;
    OM_uint32 major = gss_import_name(&minor, &name_buffer, GSS_C_NT_USER_NAME, &name);
    if (GSS_ERROR(major)) {
        failure.message = "gss_import_name: " + describe(major, minor);
        return false;
    }
    gss_OID_set_desc mechs{1, &spnego_oid};
    gss_buffer_desc password{c.password.size(), const_cast<char*>(c.password.data())};
    major = gss_acquire_cred_with_password(&minor, name, &password, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &cred,
                                           nullptr, nullptr);
    OM_uint32 ignored = 0;
    gss_release_name(&ignored, &name);
    if (GSS_ERROR(major)) {
        failure.message = "gss_acquire_cred_with_password: " + describe(major, minor);
        failure.bad_credentials = true;
        return false;
    }
    return true;
}

} // namespace

gss_authenticator::gss_authenticator(std::string host, const std::optional<explicit_credentials>& credentials)
    : s_(std::make_unique<state>()) {
    OM_uint32 minor = 0;
    const std::string service = "cifs@" + host;
    gss_buffer_desc b{service.size(), const_cast<char*>(service.data())};
    OM_uint32 major = gss_import_name(&minor, &b, GSS_C_NT_HOSTBASED_SERVICE, &s_->target);
    if (GSS_ERROR(major)) failure_.message = "gss_import_name: " + describe(major, minor);
    if (failure_.message.empty() && credentials) acquire_with_password(*credentials, s_->cred, failure_);
}

gss_authenticator::~gss_authenticator() = default;

std::optional<byte_vector> gss_authenticator::step(byte_span server_token) {
    if (!failure_.message.empty()) return std::nullopt;
    OM_uint32 minor = 0;
    gss_buffer_desc in{server_token.size(), const_cast<std::byte*>(server_token.data())};
    gss_buffer_desc out{0, nullptr};
    const OM_uint32 wanted = GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG;
    OM_uint32 major = gss_init_sec_context(&minor, s_->cred, &s_->context, s_->target, &spnego_oid, wanted, 0,
                                           GSS_C_NO_CHANNEL_BINDINGS, server_token.empty() ? GSS_C_NO_BUFFER : &in,
                                           nullptr, &out, nullptr, nullptr);
    byte_vector token(static_cast<const std::byte*>(out.value), static_cast<const std::byte*>(out.value) + out.length);
    OM_uint32 ignored = 0;
    gss_release_buffer(&ignored, &out);
    if (GSS_ERROR(major)) {
        failure_.message = "gss_init_sec_context: " + describe(major, minor);
        failure_.bad_credentials = GSS_ROUTINE_ERROR(major) == GSS_S_NO_CRED || server_token.empty();
        return std::nullopt;
    }
    complete_ = major == GSS_S_COMPLETE;
    return token;
}

byte_vector gss_authenticator::session_key() const {
    if (!complete_) return {};
    OM_uint32 minor = 0;
    gss_buffer_set_t set = GSS_C_NO_BUFFER_SET;
    OM_uint32 major = gss_inquire_sec_context_by_oid(&minor, s_->context, GSS_C_INQ_SSPI_SESSION_KEY, &set);
    byte_vector key;
    if (!GSS_ERROR(major) && set != GSS_C_NO_BUFFER_SET && set->count >= 1) {
        const auto* p = static_cast<const std::byte*>(set->elements[0].value);
        key.assign(p, p + set->elements[0].length);
    }
    OM_uint32 ignored = 0;
    gss_release_buffer_set(&ignored, &set);
    return key;
}

} // namespace npipe::smb
