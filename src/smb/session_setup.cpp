// Establishing a connection (connection::establish): TCP, NEGOTIATE, SESSION_SETUP through
// GSSAPI, TREE_CONNECT to IPC$ (MS-SMB2 3.2.4.2, 3.2.5.2-3.2.5.5), and for 3.0 and 3.0.2
// FSCTL_VALIDATE_NEGOTIATE_INFO (3.2.5.14.12: 3.1.1's pre-authentication hash does that job).
#include "smb/connection.hpp"

#include "os/tcp.hpp"
#include "smb/pipe_bridge.hpp"
#include "protocol/smb2_wire.hpp"
#include "win32_errors.hpp"

namespace npipe::smb {

using detail::win32;

/// The steps of establish(), with what they carry from one to the next.
class handshake {
public:
    handshake(connection& c, const connect_options& o) : c_(c), o_(o) {}

    std::error_code negotiate();
    std::error_code authenticate();
    std::error_code connect_ipc();
    std::error_code validate_negotiate();

private:
    std::optional<response> exchange(smb2::command cmd, const byte_vector& body, std::error_code& ec,
                                     preauth_hash* hash);
    std::error_code finish_session(const response& last, gss_authenticator& gss);

    connection& c_;
    const connect_options& o_;
    smb2::negotiate_request asked_; ///< what our NEGOTIATE said (FSCTL_VALIDATE_NEGOTIATE_INFO repeats it)
    smb2::negotiate_response negotiated_;
    preauth_hash connection_hash_{};
    preauth_hash session_hash_{};
};

namespace {

std::error_code status_error(std::uint32_t status) {
    return win32(win32_error_from_ntstatus(status));
}

} // namespace

/// One request and its response within the handshake's time limit, both taken into `hash`
/// (the pre-authentication hash; 3.1.1 only).
std::optional<response> handshake::exchange(smb2::command cmd, const byte_vector& body, std::error_code& ec,
                                            preauth_hash* hash) {
    byte_vector sent;
    auto r = c_.call(cmd, body, ec, o_.timeout_ms, &sent);
    if (!r) return std::nullopt;
    if (hash) {
        update_preauth(*hash, sent);
        // The final SESSION_SETUP response is not hashed: the keys derive from the hash before it.
        if (!(cmd == smb2::command::session_setup && r->h.status == smb2::status::success))
            update_preauth(*hash, r->message);
    }
    return r;
}

std::error_code handshake::negotiate() {
    smb2::negotiate_request q;
    q.dialects = {smb2::dialect::smb210, smb2::dialect::smb300, smb2::dialect::smb302, smb2::dialect::smb311};
    q.security_mode = smb2::security_mode::signing_enabled;
    q.capabilities = smb2::capability::large_mtu | smb2::capability::encryption;
    q.ciphers = {smb2::cipher::aes128_gcm, smb2::cipher::aes128_ccm, smb2::cipher::aes256_gcm, smb2::cipher::aes256_ccm};
    q.signing_algorithms = {smb2::signing_algorithm::aes_gmac, smb2::signing_algorithm::aes_cmac,
                            smb2::signing_algorithm::hmac_sha256};
    if (!random_bytes(q.client_guid) || !random_bytes(q.salt)) return win32(win32_error::internal_error);
    std::error_code ec;
    auto r = exchange(smb2::command::negotiate, smb2::encode_negotiate(q), ec, &connection_hash_);
    // A server that does not answer SMB2 is no server of remote pipes: the path is not found.
    if (!r || r->h.status != smb2::status::success) return win32(win32_error::bad_netpath);
    auto n = smb2::decode_negotiate(r->message);
    if (!n || std::find(q.dialects.begin(), q.dialects.end(), n->dialect) == q.dialects.end())
        return win32(win32_error::bad_netpath);
    asked_ = std::move(q);
    negotiated_ = std::move(*n);
    c_.keys_.dialect = negotiated_.dialect;
    c_.max_read_ = std::min<std::uint32_t>(negotiated_.max_read, smb2::max_io);
    c_.max_write_ = std::min<std::uint32_t>(negotiated_.max_write, smb2::max_io);
    c_.max_transact_ = std::min<std::uint32_t>(negotiated_.max_transact, smb2::max_io);
    c_.large_mtu_ = (negotiated_.capabilities & smb2::capability::large_mtu) != 0;
    session_hash_ = connection_hash_;
    return {};
}

std::error_code handshake::authenticate() {
    gss_authenticator gss(o_.host, o_.credentials);
    auto token = gss.step({});
    if (!token) return win32(win32_error::logon_failure);
    const bool hashed = negotiated_.dialect == smb2::dialect::smb311;
    for (int round = 0; round < 8; ++round) {
        smb2::session_setup_request q;
        q.token = *token;
        std::error_code ec;
        auto r = exchange(smb2::command::session_setup, smb2::encode_session_setup(q), ec,
                          hashed ? &session_hash_ : nullptr);
        if (!r) return ec == win32_error::sem_timeout ? win32(win32_error::bad_netpath) : ec;
        if (c_.session_id_ == 0) c_.session_id_ = r->h.session_id;
        if (r->h.status == smb2::status::success) return finish_session(*r, gss);
        if (r->h.status != smb2::status::more_processing_required) return status_error(r->h.status);
        auto body = smb2::decode_session_setup(r->message);
        if (!body) return win32(win32_error::unexp_net_err);
        token = gss.step(body->token);
        if (!token) return win32(win32_error::logon_failure);
    }
    return win32(win32_error::logon_failure);
}

/// The last round: the server's final token back into GSSAPI (SPNEGO's mechListMIC), guest
/// sessions refused, the keys derived, and the final response's signature checked.
std::error_code handshake::finish_session(const response& last, gss_authenticator& gss) {
    auto body = smb2::decode_session_setup(last.message);
    if (!body) return win32(win32_error::unexp_net_err);
    if (!gss.complete() && (!gss.step(body->token) || !gss.complete())) return win32(win32_error::logon_failure);
    const bool guest = body->session_flags & (smb2::session_flag::is_guest | smb2::session_flag::is_null);
    if (guest && !o_.allow_guest) return win32(win32_error::logon_failure);
    auto key = gss.session_key();
    if (key.empty()) return win32(win32_error::logon_failure); // nothing to sign with
    c_.keys_ = derive_session_keys(negotiated_.dialect, negotiated_.cipher, negotiated_.signing, key, session_hash_);
    const bool is_signed = last.h.flags & smb2::flags::is_signed;
    // 3.1.1 always signs the final response (its keys come from the hash: this proves the
    // negotiation untampered); older dialects sign it when they sign at all.
    if ((negotiated_.dialect == smb2::dialect::smb311 || is_signed) && !verify_message(last.message, c_.keys_))
        return win32(win32_error::access_denied);
    const bool encrypt = (body->session_flags & smb2::session_flag::encrypt_data) &&
                         negotiated_.dialect >= smb2::dialect::smb300;
    c_.encrypt_ = encrypt;
    c_.sign_ = true;
    c_.secured_ = true;
    return {};
}

std::error_code handshake::connect_ipc() {
    std::vector<std::byte> path;
    if (!smb2::to_utf16le("\\\\" + o_.host + "\\IPC$", path)) return win32(win32_error::bad_netpath);
    std::error_code ec;
    auto r = c_.call(smb2::command::tree_connect, smb2::encode_tree_connect(path), ec, o_.timeout_ms);
    if (!r) return ec;
    if (r->h.status != smb2::status::success) return status_error(r->h.status);
    auto t = smb2::decode_tree_connect(r->message);
    if (!t) return win32(win32_error::unexp_net_err);
    c_.tree_id_ = r->h.tree_id;
    if ((t->share_flags & smb2::share_flag::encrypt_data) && negotiated_.dialect >= smb2::dialect::smb300)
        c_.encrypt_ = true;
    return {};
}

/// The negotiation said again over the signed session: a man in the middle who made the
/// dialect 3.0 or 3.0.2 (or changed the capabilities or the security mode) is found out here.
std::error_code handshake::validate_negotiate() {
    const auto d = negotiated_.dialect;
    if (d != smb2::dialect::smb300 && d != smb2::dialect::smb302) return {};
    const auto input = smb2::encode_validate_negotiate_input(asked_);
    smb2::ioctl_request q{smb2::fsctl::validate_negotiate_info, smb2::no_file, input,
                          smb2::validate_negotiate_output_size};
    std::error_code ec;
    auto r = c_.call(smb2::command::ioctl, smb2::encode_ioctl(q), ec, o_.timeout_ms);
    if (!r) return ec;
    return judge_validate_negotiate(r->h.status, r->message, negotiated_);
}

std::error_code judge_validate_negotiate(std::uint32_t status, std::span<const std::byte> message,
                                         const smb2::negotiate_response& negotiated) {
    if (status == smb2::status::access_denied) return win32(win32_error::access_denied);
    if (status != smb2::status::success) return {};
    auto io = smb2::decode_ioctl(message);
    auto out = io && io->code == smb2::fsctl::validate_negotiate_info
                   ? smb2::decode_validate_negotiate_output(io->output)
                   : std::nullopt;
    const bool same = out && out->capabilities == negotiated.capabilities &&
                      out->server_guid == negotiated.server_guid && out->security_mode == negotiated.security_mode &&
                      out->dialect == negotiated.dialect;
    return same ? std::error_code{} : win32(win32_error::access_denied);
}

std::shared_ptr<connection> connection::establish(const connect_options& options, std::error_code& ec) {
    auto sock = os::tcp_connect(options.host, options.port, options.timeout_ms);
    if (!sock) {
        ec = win32(win32_error::bad_netpath); // no such host, nothing listening, unreachable
        return nullptr;
    }
    auto wake = os::make_wake_flag();
    if (!wake) {
        ec = detail::to_win32(wake.error);
        return nullptr;
    }
    std::shared_ptr<connection> c(new connection());
    c->host_ = options.host;
    c->sock_ = std::move(sock.value);
    c->wake_ = std::move(wake.value);
    c->start_io();
    handshake h(*c, options);
    if (!(ec = h.negotiate()) && !(ec = h.authenticate()) && !(ec = h.connect_ipc())) ec = h.validate_negotiate();
    if (ec) {
        c->stopping_ = true;
        c->fail_all(ec);
        return nullptr;
    }
    return c;
}

} // namespace npipe::smb
