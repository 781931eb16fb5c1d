// samba_identity_test.cpp - a remote SMB user as the broker's decisions see them: the identity
// built from smbd's handshake (samba_identity.hpp) and the rules of a remote open
// (decide_open: exported pipes only, PIPE_REJECT_REMOTE_CLIENTS, the default DACL grants the
// network nothing, then the pipe's DACL as for a local open).
#include "decisions.hpp"
#include "samba_identity.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace npipe;
using namespace npipe::broker;
namespace samba = npipe::protocol::samba;

namespace {

constexpr uid_t alice = 1000, carol = 1001;

sid parse(const char* text) {
    std::error_code ec;
    return *sid::parse(text, ec);
}

const sid domain_user = parse("S-1-5-21-1-2-3-1000");
const sid domain_users = parse("S-1-5-21-1-2-3-513");

/// What smbd 4.17 sends for a user of its passdb (the shape of the captured request).
samba::request smb_user(uid_t uid) {
    samba::request r;
    r.remote_client = {"WORKSTATION7", "192.0.2.7", 49731};
    r.local_server = {"server", "192.0.2.1", 445};
    samba::session s;
    s.token_sids = std::vector<sid>{domain_user, domain_users, sid::group(uid), sid::everyone(), sid::network(),
                                    sid::authenticated_users(), sid::user(uid)};
    s.unix_ids = samba::unix_token{uid, uid, {uid, 27}};
    s.account_name = "carol";
    s.domain_name = "SERVER";
    s.authenticated = true;
    r.session_info = s;
    return r;
}

std::vector<sid> sids_of(const identity& who) { return identity_sids(access_identity_of(who)); }

bool holds(const std::vector<sid>& sids, const sid& s) { return std::find(sids.begin(), sids.end(), s) != sids.end(); }

} // namespace

TEST(SambaIdentity, AUserIsTheirUnixIdsTheirDomainSidsAndNetwork) {
    std::string why;
    auto who = remote_identity(smb_user(carol), why);
    ASSERT_TRUE(who) << why;
    EXPECT_TRUE(who->remote());
    EXPECT_FALSE(who->anonymous);
    EXPECT_EQ(who->uid, carol);
    EXPECT_EQ(who->account, "carol");
    EXPECT_EQ(who->domain, "SERVER");
    EXPECT_EQ(who->qualified_account(), "SERVER\\carol");
    EXPECT_EQ(who->address, "192.0.2.7");
    EXPECT_EQ(who->computer, "WORKSTATION7");
    EXPECT_EQ(who->port, 49731);
    EXPECT_EQ(who->token_sids, (std::vector<sid>{domain_user, domain_users, sid::everyone(), sid::network(),
                                                  sid::authenticated_users()}));
    auto sids = sids_of(*who);
    for (const sid& s : {sid::user(carol), sid::group(carol), sid::group(27), sid::everyone(),
                         sid::authenticated_users(), sid::network(), domain_user, domain_users})
        EXPECT_TRUE(holds(sids, s)) << s.to_string();
    EXPECT_FALSE(holds(sids, sid::interactive()));
    EXPECT_EQ(std::count(sids.begin(), sids.end(), sid::network()), 1);
}

TEST(SambaIdentity, TheTokenCannotMakeARemoteUserAnAdministratorOrLocal) {
    auto r = smb_user(carol);
    r.session_info->token_sids->push_back(sid::administrators());
    r.session_info->token_sids->push_back(sid::local_system());
    r.session_info->token_sids->push_back(sid::interactive());
    r.session_info->token_sids->push_back(sid::user(0)); // a Unix SID the Unix token does not say
    std::string why;
    auto who = remote_identity(r, why);
    ASSERT_TRUE(who);
    auto sids = sids_of(*who);
    for (const sid& s : {sid::administrators(), sid::local_system(), sid::interactive(), sid::user(0)}) {
        EXPECT_FALSE(holds(sids, s)) << s.to_string();
        EXPECT_FALSE(holds(who->token_sids, s)) << s.to_string();
    }
}

TEST(SambaIdentity, AnAnonymousSessionIsAnonymousAndNetworkOnly) {
    auto r = smb_user(65534);
    r.session_info->token_sids->push_back(sid::anonymous());
    std::string why;
    auto who = remote_identity(r, why);
    ASSERT_TRUE(who);
    EXPECT_TRUE(who->anonymous);
    EXPECT_EQ(sids_of(*who), (std::vector<sid>{sid::anonymous(), sid::network()}));

    r = smb_user(carol);
    r.session_info->authenticated = false;
    who = remote_identity(r, why);
    ASSERT_TRUE(who);
    EXPECT_TRUE(who->anonymous);
}

TEST(SambaIdentity, NoSessionOrNoTokenIsNobody) {
    std::string why;
    auto r = smb_user(carol);
    r.session_info.reset();
    EXPECT_FALSE(remote_identity(r, why));
    EXPECT_FALSE(why.empty());
    r = smb_user(carol);
    r.session_info->unix_ids.reset();
    EXPECT_FALSE(remote_identity(r, why));
    r = smb_user(carol);
    r.session_info->token_sids.reset();
    EXPECT_FALSE(remote_identity(r, why));
}

namespace {

struct remote_open : ::testing::Test {
    registry pipes;
    pipe_store store{"/nonexistent-never-opened"};
    reservation_table reserved{store, [](const server_process&) { return false; }};
    per_uid_limits limits;
    identity carol_remote = *[] {
        std::string why;
        return remote_identity(smb_user(carol), why);
    }();

    namespace_view view() const { return {pipes, reserved, limits, clock::now()}; }

    pipe_entry& make(const std::string& key, const char* sddl, bool exported) {
        pipe_entry& p = pipes.add_pipe(key, 9);
        p.display_name = R"(\\.\pipe\)" + key;
        p.owner_uid = alice;
        std::error_code ec;
        if (sddl) p.security = *parse_sddl(sddl, ec);
        else p.security = default_descriptor(alice);
        p.explicit_dacl = sddl != nullptr;
        p.exported = exported;
        pipes.add_instance(p).server_uid = alice;
        return p;
    }

    open_decision open(const std::string& key) {
        protocol::open_request req;
        req.name = R"(\\.\pipe\)" + key;
        req.desired_access = rights::GENERIC_READ | rights::GENERIC_WRITE;
        return decide_open(carol_remote, req, view());
    }

    static win32_error error_of(const open_decision& d) { return d.refused ? d.refused->error : win32_error::success; }
};

} // namespace

TEST_F(remote_open, OnlyExportedPipesAreThereForTheNetwork) {
    make("HIDDEN", "O:S-1-22-1-1000D:(A;;GA;;;NU)", false);
    EXPECT_EQ(error_of(open("HIDDEN")), win32_error::file_not_found);
    make("SHOWN", "O:S-1-22-1-1000D:(A;;GA;;;NU)", true);
    auto d = open("SHOWN");
    EXPECT_EQ(error_of(d), win32_error::success);
    EXPECT_NE(d.listening, 0u);
}

TEST_F(remote_open, RejectRemoteClientsIsHonoured) {
    make("REJECTS", "O:S-1-22-1-1000D:(A;;GA;;;NU)", true).reject_remote = true;
    EXPECT_EQ(error_of(open("REJECTS")), win32_error::access_denied);
}

TEST_F(remote_open, TheDefaultDaclGrantsTheNetworkNothingEvenToTheOwner) {
    identity alice_remote = carol_remote;
    alice_remote.uid = alice;
    make("DEFAULT", nullptr, true);
    EXPECT_EQ(error_of(open("DEFAULT")), win32_error::access_denied);
    protocol::open_request req;
    req.name = R"(\\.\pipe\DEFAULT)";
    req.desired_access = rights::GENERIC_READ | rights::GENERIC_WRITE;
    EXPECT_EQ(error_of(decide_open(alice_remote, req, view())), win32_error::access_denied);
}

TEST_F(remote_open, ThePipesDaclDecidesAsForALocalOpen) {
    make("DENIESNET", "O:S-1-22-1-1000D:(D;;GA;;;NU)(A;;GA;;;WD)", true);
    EXPECT_EQ(error_of(open("DENIESNET")), win32_error::access_denied);
    make("UNIXUSER", "O:S-1-22-1-1000D:(A;;GRGW;;;S-1-22-1-1001)", true);
    EXPECT_EQ(error_of(open("UNIXUSER")), win32_error::success);
    make("LOCALONLY", "O:S-1-22-1-1000D:(A;;GA;;;IU)", true);
    EXPECT_EQ(error_of(open("LOCALONLY")), win32_error::access_denied);
}

TEST_F(remote_open, ADomainSidFromSmbdsTokenIsMatchedByTheDacl) {
    make("DOMAINUSER", "O:S-1-22-1-1000D:(A;;GRGW;;;S-1-5-21-1-2-3-1000)", true);
    EXPECT_EQ(error_of(open("DOMAINUSER")), win32_error::success);
    make("DOMAINGROUP", "O:S-1-22-1-1000D:(A;;GRGW;;;S-1-5-21-1-2-3-513)", true);
    EXPECT_EQ(error_of(open("DOMAINGROUP")), win32_error::success);
    make("OTHERUSER", "O:S-1-22-1-1000D:(A;;GRGW;;;S-1-5-21-1-2-3-1001)", true);
    EXPECT_EQ(error_of(open("OTHERUSER")), win32_error::access_denied);
    make("DENYDOMAIN", "O:S-1-22-1-1000D:(D;;GA;;;S-1-5-21-1-2-3-513)(A;;GA;;;NU)", true);
    EXPECT_EQ(error_of(open("DENYDOMAIN")), win32_error::access_denied) << "a deny ACE for a token SID counts too";
}

TEST_F(remote_open, AdministratorsAndSystemInTheTokenAdmitNobody) {
    auto r = smb_user(carol);
    r.session_info->token_sids->push_back(sid::administrators());
    r.session_info->token_sids->push_back(sid::local_system());
    std::string why;
    carol_remote = *remote_identity(r, why);
    // Even were they kept, the access check would not take them from the token.
    carol_remote.token_sids.push_back(sid::administrators());
    carol_remote.token_sids.push_back(sid::local_system());
    make("ADMINS", "O:S-1-22-1-1000D:(A;;GA;;;BA)", true);
    EXPECT_EQ(error_of(open("ADMINS")), win32_error::access_denied);
    make("SYSTEM", "O:S-1-22-1-1000D:(A;;GA;;;SY)", true);
    EXPECT_EQ(error_of(open("SYSTEM")), win32_error::access_denied);
}
