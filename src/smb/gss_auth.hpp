// smb/gss_auth.hpp - SMB's authentication through GSSAPI (MIT Kerberos) with SPNEGO.
//
// The mechanism is whatever SPNEGO agrees with the server: Kerberos when the caller holds a
// ticket (credential cache) and the server takes it, NTLMv2 through the gss-ntlmssp mechanism
// (a plug-in of MIT's GSSAPI, /etc/gss/mech.d) otherwise. No mechanism is named here, so
// Kerberos needs no code of its own.
//
// Credentials: the caller's own (GSS_C_NO_CREDENTIAL: the Kerberos credential cache; for NTLM
// the file gss-ntlmssp reads, $NTLM_USER_FILE), or explicit ones (user, domain, password)
// through gss_acquire_cred_with_password. The password is held only as long as the credential
// is being acquired.
//
// With NTLM the exchange against smbd takes three rounds: SPNEGO's NegTokenInit, the server's
// challenge (MORE_PROCESSING_REQUIRED), the client's answer; with Kerberos one (the AP-REQ out,
// SUCCESS with the AP-REP back). Either way the server's last token (mechListMIC, AP-REP) must go
// back into GSSAPI, which checks it before the context counts as complete.
// The session key then comes from GSS_C_INQ_SSPI_SESSION_KEY.
#pragma once

#include "smb/smb_crypto.hpp"

#include <memory>
#include <optional>
#include <string>

namespace npipe::smb {

struct explicit_credentials {
    std::string user;     ///< "user", "DOMAIN\user" or "user@REALM"
    std::string password;
};

/// GSSAPI's own words for a failure (major and minor status), for logs and tests.
struct gss_failure {
    std::string message;
    bool bad_credentials = false; ///< no usable credentials of the caller's (no ticket, no NTLM entry)
};

class gss_authenticator {
public:
    /// `host`: the server's name as the caller wrote it (the Kerberos target cifs@HOST).
    gss_authenticator(std::string host, const std::optional<explicit_credentials>& credentials);
    ~gss_authenticator();
    gss_authenticator(const gss_authenticator&) = delete;
    gss_authenticator& operator=(const gss_authenticator&) = delete;

    /// One round: the server's token in (empty for the first call), the token to send out.
    /// std::nullopt on failure (failure() says why). complete() once GSSAPI says so.
    std::optional<byte_vector> step(byte_span server_token);
    bool complete() const noexcept { return complete_; }
    /// The session key of a complete context (empty on failure).
    byte_vector session_key() const;
    const gss_failure& failure() const noexcept { return failure_; }

private:
    struct state;
    std::unique_ptr<state> s_;
    bool complete_ = false;
    gss_failure failure_;
};

} // namespace npipe::smb
