// The broker's decisions without a broker: every Win32 error a create, an open, a wait and a
// security change can end in, and what each grants. No processes, no sockets.
#include "decisions.hpp"
#include "events.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace npipe;
using namespace npipe::broker;

namespace {

constexpr uid_t alice = 1000, bob = 1001;

identity local(uid_t uid, pid_t pid = 4242) {
    identity who;
    who.pid = pid;
    who.uid = uid;
    who.gid = uid;
    return who;
}

protocol::create_instance_request create(std::string name) {
    protocol::create_instance_request req;
    req.name = std::move(name);
    req.direction = 3;
    req.type = 0;
    req.max_instances = 2;
    return req;
}

protocol::open_request open(std::string name, std::uint32_t access = rights::GENERIC_READ | rights::GENERIC_WRITE) {
    protocol::open_request req;
    req.name = std::move(name);
    req.desired_access = access;
    return req;
}

/// A namespace to decide in: pipes made as the broker would after a granted create.
struct namespace_fixture : ::testing::Test {
    registry pipes;
    pipe_store store{"/nonexistent-never-opened"};
    std::set<pid_t> running;
    reservation_table reserved{store, [this](const server_process& s) { return running.count(s.pid) != 0; }};
    per_uid_limits limits;
    clock::time_point now = clock::now();

    namespace_view view() const { return {pipes, reserved, limits, now}; }

    /// A pipe as the broker makes it from a granted decision, with `listening` instances.
    pipe_entry& make(const std::string& name, uid_t owner, unsigned listening = 1, const std::string& sd_text = "") {
        auto d = decide_create(local(owner), create_with(name, sd_text), true, view());
        EXPECT_FALSE(d.refused) << (d.refused ? d.refused->reason : "");
        pipe_entry& p = pipes.add_pipe(d.name->key, 7);
        p.display_name = d.display_name;
        p.direction = 3;
        p.max_instances = 2;
        p.owner_uid = d.owner_uid;
        p.security = d.security;
        p.descriptor_bytes = d.descriptor_bytes;
        for (unsigned i = 0; i < listening; ++i) {
            instance& inst = pipes.add_instance(p);
            inst.server_uid = owner;
        }
        return p;
    }

    static protocol::create_instance_request create_with(const std::string& name, const std::string& sd_text) {
        auto req = create(name);
        req.sddl = sd_text;
        return req;
    }

    win32_error create_error(const identity& who, const protocol::create_instance_request& req, bool sealed = true) {
        auto d = decide_create(who, req, sealed, view());
        return d.refused ? d.refused->error : win32_error::success;
    }
};

using create_decisions = namespace_fixture;
using open_decisions = namespace_fixture;
using wait_decisions = namespace_fixture;
using security_decisions = namespace_fixture;

} // namespace

// ---- CreateNamedPipe ----

TEST_F(create_decisions, ANewPipeGetsNpipesDefaultDescriptorOwnedByItsCreator) {
    auto d = decide_create(local(alice), create(R"(\\.\pipe\Fresh)"), true, view());
    ASSERT_FALSE(d.refused);
    EXPECT_TRUE(d.existing.empty());
    EXPECT_EQ(d.owner_uid, alice);
    EXPECT_EQ(d.display_name, R"(\\.\pipe\Fresh)");
    EXPECT_EQ(d.security.owner, sid::user(alice));
    EXPECT_EQ(d.descriptor_bytes, d.security.to_sddl().size());
    EXPECT_EQ(d.restored_id, 0u);
}

TEST_F(create_decisions, BadNamesAreInvalidName) {
    EXPECT_EQ(create_error(local(alice), create("not a pipe name")), win32_error::invalid_name);
    EXPECT_EQ(create_error(local(alice), create(R"(\\HOST\pipe\x)")), win32_error::invalid_name)
        << "pipes are created on this machine only";
}

TEST_F(create_decisions, MalformedParametersAreInvalidParameter) {
    auto bad = [&](auto change, bool sealed = true) {
        auto req = create(R"(\\.\pipe\P)");
        change(req);
        return create_error(local(alice), req, sealed);
    };
    EXPECT_EQ(bad([](auto& r) { r.direction = 0; }), win32_error::invalid_parameter);
    EXPECT_EQ(bad([](auto& r) { r.direction = 4; }), win32_error::invalid_parameter);
    EXPECT_EQ(bad([](auto& r) { r.type = 2; }), win32_error::invalid_parameter);
    EXPECT_EQ(bad([](auto& r) { r.max_instances = 0; }), win32_error::invalid_parameter);
    EXPECT_EQ(bad([](auto& r) { r.max_instances = 256; }), win32_error::invalid_parameter);
    EXPECT_EQ(bad([](auto&) {}, false), win32_error::invalid_parameter) << "the page must be a sealed memfd";
    EXPECT_EQ(bad([](auto& r) { r.sddl = "D:(A;;GA;;;"; }), win32_error::invalid_parameter);
    auto d = decide_create(local(alice), create_with(R"(\\.\pipe\P)", "D:(X;;GA;;;WD)"), true, view());
    ASSERT_TRUE(d.refused);
    EXPECT_EQ(d.refused->event, event_id::create_denied) << "a malformed SDDL is an event, with the parser's word";
    EXPECT_NE(d.refused->reason.find("malformed SDDL"), std::string::npos);
}

TEST_F(create_decisions, OnlyRootMakesSomeoneElseTheOwner) {
    std::string other = "O:S-1-22-1-" + std::to_string(bob) + "D:(A;;GA;;;WD)";
    EXPECT_EQ(create_error(local(alice), create_with(R"(\\.\pipe\Given)", other)), win32_error::invalid_owner);
    auto d = decide_create(local(0), create_with(R"(\\.\pipe\Given)", other), true, view());
    ASSERT_FALSE(d.refused);
    EXPECT_EQ(d.owner_uid, bob) << "the pipe is charged to its owner";
    auto ba = decide_create(local(0), create_with(R"(\\.\pipe\Admins)", "O:BAD:(A;;GA;;;BA)"), true, view());
    ASSERT_FALSE(ba.refused);
    EXPECT_EQ(ba.owner_uid, 0u) << "BA is root";
}

TEST_F(create_decisions, AnotherInstanceNeedsCreatePipeInstanceNotJustWrite) {
    make(R"(\\.\pipe\Shared)", alice, 1, "D:(A;;GRGW;;;WD)(A;;GA;;;S-1-22-1-1000)");
    auto d = decide_create(local(bob), create(R"(\\.\pipe\shared)"), true, view());
    ASSERT_TRUE(d.refused);
    EXPECT_EQ(d.refused->error, win32_error::access_denied);
    EXPECT_EQ(d.refused->event, event_id::squatting_attempt);
    EXPECT_TRUE(d.refused->warn);
    EXPECT_EQ(d.existing, "SHARED") << "the refusal's event names the pipe";
    auto owner = decide_create(local(alice), create(R"(\\.\pipe\SHARED)"), true, view());
    ASSERT_FALSE(owner.refused);
    EXPECT_EQ(owner.existing, "SHARED");
}

// Windows (Wine's kernel32 test_CreateNamedPipe_instances_must_match, run on Windows): only the
// direction of a further instance must be the pipe's. Another type, limit, buffer size or
// timeout is taken; the pipe keeps its own (created_reply tells the server which).
TEST_F(create_decisions, AFurtherInstanceMayDifferInAllButItsDirection) {
    make(R"(\\.\pipe\Mixed)", alice);
    auto error_of = [&](auto change) {
        auto req = create(R"(\\.\pipe\Mixed)");
        change(req);
        auto d = decide_create(local(alice), req, true, view());
        if (!d.refused) {
            EXPECT_EQ(d.existing, "MIXED") << "an instance of the pipe there, not a new pipe";
            return std::pair(win32_error::success, 0);
        }
        return std::pair(d.refused->error, d.refused->event);
    };
    auto granted = std::pair(win32_error::success, 0);
    EXPECT_EQ(error_of([](auto& r) { r.type = 1; }), granted);
    EXPECT_EQ(error_of([](auto& r) { r.max_instances = 3; }), granted);
    EXPECT_EQ(error_of([](auto& r) { r.max_instances = 1; }), granted) << "the pipe's limit counts, not its own";
    EXPECT_EQ(error_of([](auto& r) {
                  r.out_buffer_size = 102;
                  r.in_buffer_size = 24;
                  r.default_timeout_ms = 1234;
              }),
              granted);
    auto denied = std::pair(win32_error::access_denied, event_id::create_denied);
    EXPECT_EQ(error_of([](auto& r) { r.direction = 1; }), denied);
    EXPECT_EQ(error_of([](auto& r) { r.direction = 2; }), denied);
    EXPECT_EQ(error_of([](auto& r) { r.first_instance = true; }), denied);
    auto again = create(R"(\\.\pipe\Mixed)");
    again.first_instance = again.reregister = true;
    again.pipe_id = 7;
    EXPECT_EQ(create_error(local(alice), again), win32_error::success)
        << "an instance coming back after a restart was not the first one, whatever it asked then";
    again.pipe_id = 8;
    auto other = decide_create(local(alice), again, true, view());
    ASSERT_TRUE(other.refused);
    EXPECT_EQ(other.refused->event, event_id::squatting_attempt) << "an instance of another pipe of this name";
}

TEST_F(create_decisions, AFurtherInstanceReadsMessagesOnlyFromAMessagePipe) {
    make(R"(\\.\pipe\Bytes)", alice);
    auto req = create(R"(\\.\pipe\Bytes)");
    req.type = 1;
    req.message_read_mode = true; // right for the pipe it asked for, not for the pipe there
    auto d = decide_create(local(alice), req, true, view());
    ASSERT_TRUE(d.refused);
    EXPECT_EQ(d.refused->error, win32_error::invalid_parameter);
    EXPECT_EQ(d.refused->event, 0) << "a parameter error, like the first instance's";
    make(R"(\\.\pipe\Messages)", alice).type = 1;
    req.name = R"(\\.\pipe\Messages)";
    req.type = 0; // a byte instance that reads messages is refused by the library before it asks
    EXPECT_EQ(create_error(local(alice), req), win32_error::success);
}

// NPFS checks the pipe's instance limit before FILE_FLAG_FIRST_PIPE_INSTANCE and the direction
// (Wine's ntdll test_pipe_local_info, run on Windows: STATUS_INSTANCE_NOT_AVAILABLE).
TEST_F(create_decisions, AFullPipeIsBusy) {
    make(R"(\\.\pipe\Full)", alice, 2);
    auto d = decide_create(local(alice), create(R"(\\.\pipe\Full)"), true, view());
    ASSERT_TRUE(d.refused);
    EXPECT_EQ(d.refused->error, win32_error::pipe_busy);
    EXPECT_EQ(d.refused->event, event_id::create_denied);
    auto req = create(R"(\\.\pipe\Full)");
    req.max_instances = 255;
    EXPECT_EQ(create_error(local(alice), req), win32_error::pipe_busy) << "its own limit does not lift the pipe's";
    req.first_instance = true;
    req.direction = 2;
    EXPECT_EQ(create_error(local(alice), req), win32_error::pipe_busy) << "the limit is checked first";
}

TEST_F(create_decisions, PerUidLimitsAreNotEnoughQuota) {
    limits.instances = 2;
    make(R"(\\.\pipe\A)", alice, 2);
    auto d = decide_create(local(alice), create(R"(\\.\pipe\B)"), true, view());
    ASSERT_TRUE(d.refused);
    EXPECT_EQ(d.refused->error, win32_error::not_enough_quota);
    EXPECT_TRUE(d.refused->by_limit);
    EXPECT_EQ(create_error(local(bob), create(R"(\\.\pipe\B)")), win32_error::success) << "another uid's budget";

    limits.descriptor_bytes = 100;
    std::string big = "D:(A;;GA;;;S-1-22-1-1001)";
    while (big.size() < 120) big += "(A;;GR;;;S-1-22-1-1001)";
    EXPECT_EQ(create_error(local(bob), create_with(R"(\\.\pipe\C)", big)), win32_error::not_enough_quota);
}

TEST_F(create_decisions, AReservedNameIsForThoseWhoCouldAddInstances) {
    reservation r;
    r.security = default_descriptor(alice, default_dacl::owner_and_root, alice);
    r.owner_uid = alice;
    r.until = now + std::chrono::seconds(10);
    r.pipe_id = 99;
    r.display_name = R"(\\.\pipe\Kept)";
    reserved.keep("KEPT", r, 10);
    auto squat = decide_create(local(bob), create(R"(\\.\pipe\kept)"), true, view());
    ASSERT_TRUE(squat.refused);
    EXPECT_EQ(squat.refused->error, win32_error::access_denied);
    EXPECT_EQ(squat.refused->event, event_id::squatting_attempt);
    EXPECT_EQ(create_error(local(alice), create(R"(\\.\pipe\kept)")), win32_error::success);

    auto back = create(R"(\\.\pipe\kept)");
    back.reregister = true;
    back.pipe_id = 99;
    auto d = decide_create(local(alice), back, true, view());
    ASSERT_FALSE(d.refused);
    EXPECT_EQ(d.restored_id, 99u) << "an instance coming back gets its pipe's id";
    EXPECT_EQ(d.display_name, R"(\\.\pipe\Kept)") << "and its name as first spelled";

    now += std::chrono::seconds(11);
    EXPECT_EQ(create_error(local(bob), create(R"(\\.\pipe\kept)")), win32_error::success) << "the reservation ended";
}

TEST_F(create_decisions, AGivenDaclIsKnownAsGivenAcrossARestart) {
    // Given at create: explicit. npipe's default: not (the network gets nothing from it).
    EXPECT_TRUE(decide_create(local(alice), create_with(R"(\\.\pipe\Given)", "D:(A;;GA;;;NU)"), true, view())
                    .explicit_dacl);
    EXPECT_FALSE(decide_create(local(alice), create(R"(\\.\pipe\Default)"), true, view()).explicit_dacl);
    // Set later by SetSecurityInfo, then the broker restarted: the instance coming back sends no
    // SDDL (it had none at create), and the reservation says what the pipe was.
    for (bool given : {true, false}) {
        reservation r;
        r.security = default_descriptor(alice, default_dacl::owner_and_root, alice);
        r.owner_uid = alice;
        r.until = now + std::chrono::seconds(10);
        r.pipe_id = given ? 41 : 42;
        r.explicit_dacl = given;
        reserved.keep(given ? "BACKGIVEN" : "BACKDEFAULT", r, 10);
        auto back = create(given ? R"(\\.\pipe\BackGiven)" : R"(\\.\pipe\BackDefault)");
        back.reregister = true;
        back.pipe_id = r.pipe_id;
        auto d = decide_create(local(alice), back, true, view());
        ASSERT_FALSE(d.refused);
        EXPECT_EQ(d.restored_id, r.pipe_id);
        EXPECT_EQ(d.explicit_dacl, given);
    }
}

TEST_F(create_decisions, ANameKeptAfterARestartLastsWhileItsServersRun) {
    reservation r;
    r.security = default_descriptor(alice, default_dacl::owner_and_root, alice);
    r.owner_uid = alice;
    r.holders = {{1234, 5}};
    reserved.keep("SAVED", r, 10);
    running.insert(1234);
    EXPECT_EQ(create_error(local(bob), create(R"(\\.\pipe\Saved)")), win32_error::access_denied);
    running.clear();
    EXPECT_EQ(create_error(local(bob), create(R"(\\.\pipe\Saved)")), win32_error::success);
}

TEST(connection_decisions, AUidAtItsConnectionLimitIsRefused) {
    per_uid_limits limits;
    limits.connections = 3;
    EXPECT_FALSE(decide_connection(alice, 2, limits));
    auto r = decide_connection(alice, 3, limits);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, win32_error::not_enough_quota);
    EXPECT_TRUE(r->by_limit);
}

// ---- CreateFile ----

TEST_F(open_decisions, AnOpenIsGrantedTheDaclsAnswerAndTheListeningInstance) {
    pipe_entry& p = make(R"(\\.\pipe\Svc)", alice);
    auto d = decide_open(local(alice), open(R"(\\.\pipe\svc)"), view());
    ASSERT_FALSE(d.refused);
    EXPECT_EQ(d.pipe, "SVC");
    EXPECT_EQ(d.listening, p.instances.front()->id);
    EXPECT_EQ(d.desired & (rights::SYNCHRONIZE | rights::FILE_READ_ATTRIBUTES),
              rights::SYNCHRONIZE | rights::FILE_READ_ATTRIBUTES)
        << "CreateFile adds these, as Windows' does";
    EXPECT_TRUE(d.granted & rights::FILE_READ_DATA);
    EXPECT_TRUE(d.granted & rights::FILE_WRITE_DATA);
}

TEST_F(open_decisions, EveryWayAnOpenEnds) {
    make(R"(\\.\pipe\Svc)", alice, 0, "D:(A;;GR;;;S-1-22-1-1001)(A;;GA;;;S-1-22-1-1000)");
    auto error = [&](const identity& who, const protocol::open_request& req) {
        auto d = decide_open(who, req, view());
        return d.refused ? d.refused->error : win32_error::success;
    };
    EXPECT_EQ(error(local(alice), open("svc")), win32_error::invalid_name);
    EXPECT_EQ(error(local(alice), open(R"(\\Host\pipe\svc)")), win32_error::bad_netpath);
    EXPECT_EQ(error(local(alice), open(R"(\\.\pipe\nothing)")), win32_error::file_not_found);
    auto denied = decide_open(local(bob), open(R"(\\.\pipe\svc)"), view());
    ASSERT_TRUE(denied.refused);
    EXPECT_EQ(denied.refused->error, win32_error::access_denied) << "bob may read, not write";
    EXPECT_EQ(denied.refused->event, event_id::open_denied);
    auto reader = decide_open(local(bob), open(R"(\\.\pipe\svc)", rights::GENERIC_READ), view());
    ASSERT_FALSE(reader.refused);
    EXPECT_EQ(reader.listening, 0u) << "no instance listens: the handler answers ERROR_PIPE_BUSY";
}

TEST_F(open_decisions, TheAccessAskedForMustFitThePipesDirection) {
    pipe_entry& p = make(R"(\\.\pipe\Inbound)", alice);
    p.direction = 1; // PIPE_ACCESS_INBOUND: clients only write
    auto reading = decide_open(local(alice), open(R"(\\.\pipe\Inbound)", rights::GENERIC_READ), view());
    ASSERT_TRUE(reading.refused);
    EXPECT_EQ(reading.refused->error, win32_error::access_denied);
    EXPECT_FALSE(decide_open(local(alice), open(R"(\\.\pipe\Inbound)", rights::GENERIC_WRITE), view()).refused);
    EXPECT_TRUE(decide_open(local(alice), open(R"(\\.\pipe\Inbound)", rights::MAXIMUM_ALLOWED), view()).refused)
        << "MAXIMUM_ALLOWED asks for both directions";
    auto legacy = open(R"(\\.\pipe\Inbound)", 0);
    legacy.read = false;
    EXPECT_FALSE(decide_open(local(alice), legacy, view()).refused) << "without a mask, the booleans say it";
}

// ---- WaitNamedPipe ----

TEST_F(wait_decisions, EveryWayAWaitEnds) {
    pipe_entry& p = make(R"(\\.\pipe\Busy)", alice, 0);
    auto wait = [&](const std::string& name, std::uint32_t ms = 0) {
        return decide_wait(local(bob), protocol::wait_request{name, ms}, view());
    };
    EXPECT_EQ(wait("busy").refused->error, win32_error::invalid_name);
    EXPECT_EQ(wait(R"(\\h\pipe\busy)").refused->error, win32_error::bad_netpath);
    EXPECT_EQ(wait(R"(\\.\pipe\none)").refused->error, win32_error::file_not_found);
    auto d = wait(R"(\\.\pipe\busy)");
    ASSERT_FALSE(d.refused);
    EXPECT_FALSE(d.ready);
    EXPECT_EQ(d.timeout_ms, 50u) << "NMPWAIT_USE_DEFAULT_WAIT with a default of 0 is 50 ms, as on Windows";
    p.default_timeout_ms = 700;
    EXPECT_EQ(wait(R"(\\.\pipe\busy)").timeout_ms, 700u);
    EXPECT_EQ(wait(R"(\\.\pipe\busy)", 0xFFFFFFFFu).timeout_ms, 0xFFFFFFFFu);
    limits.waiters = 1;
    p.waiters.push_back(waiter{1, bob, std::nullopt});
    auto limited = wait(R"(\\.\pipe\busy)");
    ASSERT_TRUE(limited.refused);
    EXPECT_EQ(limited.refused->error, win32_error::not_enough_quota);
    pipes.add_instance(p).state = instance_state::listening;
    EXPECT_TRUE(wait(R"(\\.\pipe\busy)").ready);
}

TEST_F(wait_decisions, APipeComingBackAfterARestartIsWaitedFor) {
    // Saved before the restart with its servers running: opens and waits are held until it is
    // back (or its time is up), not told ERROR_FILE_NOT_FOUND.
    reservation r;
    r.security = default_descriptor(alice, default_dacl::owner_and_root, alice);
    r.owner_uid = alice;
    r.holders = {{1234, 5}};
    r.restoring_until = now + std::chrono::seconds(5);
    reserved.keep("BACK", r, 10);
    running.insert(1234);
    auto open_back = decide_open(local(alice), open(R"(\\.\pipe\back)"), view());
    EXPECT_FALSE(open_back.refused);
    EXPECT_TRUE(open_back.held);
    EXPECT_EQ(open_back.pipe, "BACK");
    EXPECT_EQ(open_back.until, now + std::chrono::seconds(5));
    auto denied = decide_open(local(bob), open(R"(\\.\pipe\back)"), view());
    ASSERT_TRUE(denied.refused) << "its saved DACL still answers for it";
    EXPECT_EQ(denied.refused->error, win32_error::access_denied);
    EXPECT_FALSE(denied.held);
    auto wait = decide_wait(local(alice), protocol::wait_request{R"(\\.\pipe\back)", 300}, view());
    EXPECT_FALSE(wait.refused);
    EXPECT_TRUE(wait.held);
    EXPECT_EQ(wait.timeout_ms, 300u);

    std::map<uid_t, unsigned> held{{alice, 1}};
    limits.waiters = 1;
    namespace_view with_held = view();
    with_held.held_per_uid = &held;
    auto limited = decide_open(local(alice), open(R"(\\.\pipe\back)"), with_held);
    ASSERT_TRUE(limited.refused) << "a held request counts as a waiting client";
    EXPECT_EQ(limited.refused->error, win32_error::not_enough_quota);

    now += std::chrono::seconds(5);
    EXPECT_EQ(decide_open(local(alice), open(R"(\\.\pipe\back)"), view()).refused->error, win32_error::file_not_found)
        << "its servers did not come back in time";
}

// ---- listen and disconnect ----

TEST(instance_decisions, ListenAndDisconnectFollowTheInstancesState) {
    instance i;
    i.state = instance_state::disconnected;
    EXPECT_FALSE(listen_needs_answer(i)) << "no client can be in flight to a disconnected instance";
    i.state = instance_state::listening;
    EXPECT_TRUE(listen_needs_answer(i));
    protocol::disconnect_request counts;
    auto d = decide_disconnect(i, counts);
    EXPECT_TRUE(d.answer);
    EXPECT_EQ(d.event_reason, nullptr);
    i.state = instance_state::connected;
    EXPECT_STREQ(decide_disconnect(i, counts).event_reason, "server disconnected");
    counts.client_closed = true;
    EXPECT_STREQ(decide_disconnect(i, counts).event_reason, "client closed");
    counts = {};
    counts.server_closing = true;
    i.state = instance_state::closing;
    EXPECT_STREQ(decide_disconnect(i, counts).event_reason, "server closed");
    EXPECT_FALSE(decide_disconnect(i, counts).answer);
}

// ---- GetSecurityInfo / SetSecurityInfo ----

TEST_F(security_decisions, EveryWayAGetEnds) {
    make(R"(\\.\pipe\Sec)", alice);
    auto get = [&](uid_t uid, const std::string& name, std::uint64_t id) {
        return decide_get_security(local(uid), protocol::get_security_request{name, id}, view());
    };
    EXPECT_EQ(get(alice, "sec", 7).refused->error, win32_error::invalid_name);
    EXPECT_EQ(get(alice, R"(\\.\pipe\gone)", 7).refused->error, win32_error::pipe_not_connected);
    EXPECT_EQ(get(alice, R"(\\.\pipe\sec)", 8).refused->error, win32_error::pipe_not_connected)
        << "a newer pipe of the same name is not the handle's";
    EXPECT_EQ(get(bob, R"(\\.\pipe\sec)", 7).refused->error, win32_error::access_denied);
    auto ok = get(alice, R"(\\.\pipe\sec)", 7);
    ASSERT_FALSE(ok.refused);
    EXPECT_EQ(ok.sddl, pipes.find("SEC")->security.to_sddl());
}

TEST_F(security_decisions, EveryWayASetEnds) {
    make(R"(\\.\pipe\Sec)", alice, 1, "D:(A;;GR;;;S-1-22-1-1001)(A;;GA;;;S-1-22-1-1000)");
    auto set = [&](uid_t uid, std::uint32_t parts, const std::string& text, std::uint64_t id = 7) {
        auto d = decide_set_security(local(uid), protocol::set_security_request{R"(\\.\pipe\sec)", id, parts, text}, view());
        return d.refused ? d.refused->error : win32_error::success;
    };
    namespace parts = protocol::security_parts;
    EXPECT_EQ(set(alice, 0, "D:"), win32_error::invalid_parameter);
    EXPECT_EQ(set(alice, 0x100, "D:"), win32_error::invalid_parameter);
    EXPECT_EQ(set(alice, parts::dacl | 0x80000000 | 0x20000000, "D:"), win32_error::invalid_parameter);
    EXPECT_EQ(set(alice, parts::dacl, "D:(bad"), win32_error::invalid_parameter);
    EXPECT_EQ(set(alice, parts::owner, "D:(A;;GA;;;WD)"), win32_error::invalid_parameter) << "no owner given";
    EXPECT_EQ(set(alice, parts::group, "D:(A;;GA;;;WD)"), win32_error::invalid_parameter) << "no group given";
    EXPECT_EQ(set(alice, parts::dacl, "D:", 8), win32_error::pipe_not_connected);
    EXPECT_EQ(set(alice, parts::sacl, "S:"), win32_error::access_denied) << "nobody holds SeSecurityPrivilege";
    EXPECT_EQ(set(bob, parts::dacl, "D:(A;;GA;;;WD)"), win32_error::access_denied) << "bob lacks WRITE_DAC";
    EXPECT_EQ(set(alice, parts::owner, "O:S-1-22-1-1001"), win32_error::invalid_owner);
    limits.descriptor_bytes = 60;
    EXPECT_EQ(set(alice, parts::dacl, "D:(A;;GA;;;S-1-22-1-1000)(A;;GR;;;S-1-22-1-1001)(A;;GR;;;S-1-22-1-1002)"),
              win32_error::not_enough_quota);
    limits = {};
    auto d = decide_set_security(local(alice),
                                 protocol::set_security_request{R"(\\.\pipe\sec)", 7, parts::dacl | 0x80000000,
                                                                "D:(A;;GA;;;S-1-22-1-1000)"},
                                 view());
    ASSERT_FALSE(d.refused);
    EXPECT_EQ(d.next.owner, sid::user(alice)) << "the owner is kept";
    EXPECT_TRUE(d.next.control & sd_control::DACL_PROTECTED);
    EXPECT_EQ(d.sddl, d.next.to_sddl());
    EXPECT_EQ(d.descriptor_bytes, d.sddl.size());
}

TEST(stop_decisions, TheBrokersUserAndRootMayStopIt) {
    EXPECT_TRUE(may_stop(local(alice), alice));
    EXPECT_TRUE(may_stop(local(0), alice));
    EXPECT_FALSE(may_stop(local(bob), alice));
}

TEST(limit_decisions, PerUidLimitsFitTheDescriptorBudget) {
    per_uid_limits generous;
    EXPECT_FALSE(fit_limits_to_descriptors(generous, 1u << 20, true)) << "a million descriptors hold the defaults";
    EXPECT_EQ(generous.instances, 4096u);
    per_uid_limits tight;
    ASSERT_TRUE(fit_limits_to_descriptors(tight, 4096, true));
    // One uid at its limits: a descriptor per connection, two more per instance.
    EXPECT_LE(tight.connections + 2 * tight.instances, 4096u / 4);
    EXPECT_LE(tight.waiters, tight.connections);
    per_uid_limits user;
    ASSERT_TRUE(fit_limits_to_descriptors(user, 1024, false));
    EXPECT_LE(user.connections + 2 * user.instances, 1024u * 3 / 4);
    EXPECT_GE(user.instances, 150u) << "user scope: one user may use most of it";
    per_uid_limits tiny;
    fit_limits_to_descriptors(tiny, 48, false);
    EXPECT_GE(tiny.connections, 2u) << "a server and a client still fit";
}
