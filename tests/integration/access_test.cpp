// The broker's access checks, with real processes of other uids against a system-scope broker:
// the default DACL, SDDL given by the creator, deny-before-allow, direction, and squatting.
// Needs root (CI runs as root): the other processes become uid 65534 and 12345.
#include "fixture.hpp"

#include <npipe/security.hpp>

#include <npipe/namespace.hpp>

using namespace npipe;
using namespace npipe_test;

namespace {

class access : public named_pipe_test {
protected:
    void SetUp() override {
        named_pipe_test::SetUp();
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: other processes run as other uids (CI runs as root)";
        broker_.emplace();
        ASSERT_TRUE(broker_->ready());
    }
    void TearDown() override {
        broker_.reset();
        named_pipe_test::TearDown();
    }
    /// Exit status of a peer that opens `name` as `uid` with `how` (r, w, rw): the Win32 error.
    static int open_as(const std::string& name, uid_t uid, const std::string& how) {
        return peer({"open-as", name, std::to_string(uid), how}).wait();
    }
    static int create_as(const std::string& name, uid_t uid) {
        return peer({"create-as", name, std::to_string(uid)}).wait();
    }
    std::optional<system_broker> broker_;
};

constexpr uid_t nobody = 65534;
constexpr uid_t someone = 12345;

server_options with_sddl(std::string sddl) {
    server_options o;
    o.sddl = std::move(sddl);
    return o;
}

} // namespace

TEST_F(access, DefaultDaclLetsOnlyTheOwnerAndRootIn) {
    auto s = server_instance::create(pipe_name("private"));
    EXPECT_EQ(open_as(pipe_name("private"), nobody, "rw"), 5);
    EXPECT_EQ(open_as(pipe_name("private"), nobody, "r"), 5);
    auto st = query_pipe(pipe_name("private"));
    EXPECT_EQ(st.owner_sid, "S-1-22-1-0");
    EXPECT_EQ(st.sddl, "O:S-1-22-1-0G:S-1-22-2-0D:(A;;FA;;;S-1-22-1-0)(A;;FA;;;BA)");
}

TEST_F(access, WindowsDefaultAclLetsEveryoneRead) {
    server_options o;
    o.windows_default_acl = true;
    auto s = server_instance::create(pipe_name("readable"), o);
    EXPECT_EQ(open_as(pipe_name("readable"), nobody, "r"), 0);
    EXPECT_EQ(open_as(pipe_name("readable"), nobody, "rw"), 5);
}

TEST_F(access, DenyAceBeforeAllowAceDenies) {
    auto s = server_instance::create(
        pipe_name("deny"), with_sddl("D:(D;;FA;;;S-1-22-1-65534)(A;;FA;;;WD)(A;;FA;;;BA)"));
    EXPECT_EQ(open_as(pipe_name("deny"), nobody, "rw"), 5);
    EXPECT_EQ(open_as(pipe_name("deny"), someone, "rw"), 0) << "Everyone else is allowed";
}

TEST_F(access, AllowAceBeforeDenyAceGrants) {
    auto s = server_instance::create(
        pipe_name("allowfirst"), with_sddl("D:(A;;FA;;;S-1-22-1-65534)(D;;FA;;;WD)(A;;FA;;;BA)"));
    EXPECT_EQ(open_as(pipe_name("allowfirst"), nobody, "rw"), 0) << "Windows evaluates ACEs in order";
    EXPECT_EQ(open_as(pipe_name("allowfirst"), someone, "rw"), 5);
}

TEST_F(access, ClientWithoutReadAccessCannotOpenAnOutboundPipeForReading) {
    server_options o = with_sddl("D:(A;;GW;;;S-1-22-1-65534)(A;;FA;;;BA)");
    o.direction = pipe_direction::outbound;
    auto s = server_instance::create(pipe_name("outbound"), o);
    EXPECT_EQ(open_as(pipe_name("outbound"), nobody, "r"), 5);
}

TEST_F(access, SquattingAnotherUsersPipeIsRefused) {
    auto s = server_instance::create(pipe_name("service"));
    EXPECT_EQ(create_as(pipe_name("service"), nobody), 5);
    // Write access is not enough: adding an instance needs FILE_CREATE_PIPE_INSTANCE.
    auto w = server_instance::create(pipe_name("writable"), with_sddl("D:(A;;GRGW;;;WD)(A;;FA;;;BA)"));
    EXPECT_EQ(open_as(pipe_name("writable"), nobody, "rw"), 0);
    EXPECT_EQ(create_as(pipe_name("writable"), nobody), 5);
    auto cc = server_instance::create(pipe_name("shared"), with_sddl("D:(A;;0x4;;;S-1-22-1-65534)(A;;FA;;;BA)"));
    EXPECT_EQ(create_as(pipe_name("shared"), nobody), 0) << "FILE_CREATE_PIPE_INSTANCE granted";
    EXPECT_EQ(query_pipe(pipe_name("service")).owner_uid, 0u) << "the owner keeps its pipe";
}

TEST_F(access, MalformedSddlIsInvalidParameter) {
    std::error_code ec;
    server_instance::create(pipe_name("bad"), with_sddl("D:(A;;FA;;;XX)"), ec);
    EXPECT_EQ(ec, win32_error::invalid_parameter);
    // Root may make another user the owner; anyone else may not (see the broker).
    auto given = server_instance::create(pipe_name("given"), with_sddl("O:S-1-22-1-12345D:(A;;FA;;;WD)"), ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(query_pipe(pipe_name("given")).owner_uid, 12345u);
}

TEST_F(access, SquatterNeverWinsWhileTheOwnersInstancesDropToZero) {
    // The multithreaded-server pattern: the only instance closes, the next one is made. A
    // squatter trying all the while never gets the name.
    std::optional<server_instance> s = server_instance::create(pipe_name("svc"));
    auto squatter = peer({"create-loop", pipe_name("svc"), std::to_string(nobody), "400"});
    for (int i = 0; i < 200; ++i) {
        s.reset(); // no instance at all for a moment
        s = server_instance::create(pipe_name("svc"));
    }
    EXPECT_EQ(squatter.wait(), 0) << "times the squatter created an instance";
    EXPECT_EQ(query_pipe(pipe_name("svc")).owner_uid, 0u);
}

TEST_F(access, ReservationOfAGoneNameIsConfigurable) {
    broker_.reset();
    broker_.emplace(std::vector<std::string>{"--reserve-names", "0"});
    ASSERT_TRUE(broker_->ready());
    { auto s = server_instance::create(pipe_name("free")); }
    EXPECT_EQ(create_as(pipe_name("free"), nobody), 0) << "no reservation: the name is anyone's";
}

TEST_F(access, ChangingTheDaclNeedsWriteDacOnTheServerHandle) {
    std::error_code ec;
    auto plain = server_instance::create(pipe_name("plain"));
    auto sd = plain.security();
    EXPECT_EQ(sd.owner, sid::user(0));
    plain.set_security(sd, security_info::DACL_SECURITY_INFORMATION, ec);
    EXPECT_EQ(ec, win32_error::access_denied) << "no WRITE_DAC in the open mode, as on Windows";

    server_options o;
    o.extra_access = rights::WRITE_DAC;
    auto s = server_instance::create(pipe_name("opened-up"), o);
    EXPECT_EQ(open_as(pipe_name("opened-up"), nobody, "rw"), 5);
    auto wider = parse_sddl("D:(A;;GRGW;;;WD)(A;;FA;;;BA)", ec);
    ASSERT_TRUE(wider);
    s.set_security(*wider, security_info::DACL_SECURITY_INFORMATION);
    EXPECT_EQ(s.security().to_sddl(), "O:S-1-22-1-0G:S-1-22-2-0D:(A;;GRGW;;;WD)(A;;FA;;;BA)");
    EXPECT_EQ(open_as(pipe_name("opened-up"), nobody, "rw"), 0) << "new opens see the new DACL";
    s.set_security(*wider, security_info::OWNER_SECURITY_INFORMATION, ec);
    EXPECT_EQ(ec, win32_error::access_denied) << "the owner needs WRITE_OWNER on the handle";
    // The protection flag alone is a DACL change (WRITE_DAC), which the owner may make.
    s.set_security(*wider, security_info::PROTECTED_DACL_SECURITY_INFORMATION, ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(s.security().to_sddl(), "O:S-1-22-1-0G:S-1-22-2-0D:P(A;;GRGW;;;WD)(A;;FA;;;BA)");
}

TEST_F(access, OtherUsersChangeTheDaclOnlyWhenItGrantsThemWriteDac) {
    auto readable = server_instance::create(pipe_name("readable"), with_sddl("D:(A;;GR;;;WD)(A;;FA;;;BA)"));
    EXPECT_EQ(peer({"set-dacl-as", pipe_name("readable"), std::to_string(nobody), "D:(A;;GA;;;WD)"}).wait(), 5)
        << "opening with WRITE_DAC is refused";
    EXPECT_EQ(query_pipe(pipe_name("readable")).sddl, "O:S-1-22-1-0D:(A;;GR;;;WD)(A;;FA;;;BA)");
    auto delegated = server_instance::create(pipe_name("delegated"),
                                             with_sddl("D:(A;;GRWD;;;S-1-22-1-65534)(A;;FA;;;BA)"));
    EXPECT_EQ(peer({"set-dacl-as", pipe_name("delegated"), std::to_string(nobody), "D:(A;;GR;;;WD)(A;;FA;;;BA)"}).wait(), 0);
    EXPECT_EQ(query_pipe(pipe_name("delegated")).sddl, "O:S-1-22-1-0D:(A;;GR;;;WD)(A;;FA;;;BA)");
    // Having given it away, nobody cannot change it again: the broker checks the DACL as it is now.
    EXPECT_EQ(peer({"set-dacl-as", pipe_name("delegated"), std::to_string(nobody), "D:(A;;GA;;;WD)"}).wait(), 5);
}

TEST_F(access, ASecurityChangeNeverReachesANewerPipeOfTheSameName) {
    server_options o;
    o.extra_access = rights::WRITE_DAC;
    std::optional<server_instance> old = server_instance::create(pipe_name("reused"), o);
    auto c = client::open(pipe_name("reused"), [] {
        client_options co;
        co.access_mask = rights::GENERIC_READ | rights::GENERIC_WRITE | rights::WRITE_DAC;
        return co;
    }());
    old->connect();
    old.reset();
    auto newer = server_instance::create(pipe_name("reused"));
    std::error_code ec;
    auto open_to_all = parse_sddl("D:NO_ACCESS_CONTROL", ec);
    c.set_security(*open_to_all, security_info::DACL_SECURITY_INFORMATION, ec);
    EXPECT_EQ(ec, win32_error::pipe_not_connected);
    EXPECT_EQ(query_pipe(pipe_name("reused")).sddl, newer.security().to_sddl());
    EXPECT_NE(newer.security().to_sddl().find("(A;;FA;;;BA)"), std::string::npos) << "untouched";
}
