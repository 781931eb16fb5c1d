// Hostile case 9: the broker dies (SIGKILL, no chance to tidy up) and comes back. Established
// connections keep working, servers register again on their own, and nobody - another uid
// trying all the while - gets a name whose servers still run, even before they come back.
// Needs root (CI runs as root): the system-scope broker, and a squatter running as uid 65534.
#include "fixture.hpp"

#include <npipe/security.hpp>

#include <npipe/namespace.hpp>

#include <future>
#include <poll.h>

using namespace npipe;
using namespace npipe_test;

namespace {

constexpr uid_t nobody = 65534;

class restart : public named_pipe_test {
protected:
    void SetUp() override {
        named_pipe_test::SetUp();
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: the squatter runs as another uid (CI runs as root)";
        broker_.emplace();
        ASSERT_TRUE(broker_->ready());
    }
    void TearDown() override {
        broker_.reset();
        named_pipe_test::TearDown();
    }
    static int create_as(const std::string& name, uid_t uid) {
        return peer({"create-as", name, std::to_string(uid)}).wait();
    }
    /// The instances the broker lists for `name` (0 when it has no such pipe).
    static std::size_t instances_of(const std::string& name) {
        std::error_code ec;
        auto info = query_pipe(name, {}, ec);
        return ec ? 0 : info.instances.size();
    }
    std::optional<system_broker> broker_;
};

std::string roundtrip(pipe_end_base& from, pipe_end_base& to, const std::string& data) {
    from.write(bytes(data));
    std::byte buf[256];
    auto r = to.read(buf);
    return text({buf, r.bytes});
}

} // namespace

TEST_F(restart, AWaitingServerRegistersAgainAndServesTheNextClient) {
    auto busy = server_instance::create(pipe_name("svc"));
    auto first = client::open(pipe_name("svc"));
    EXPECT_TRUE(busy.connect());
    auto waiting = server_instance::create(pipe_name("svc"));
    auto connected = std::async(std::launch::async, [&] { return waiting.connect(); });
    ASSERT_EQ(instances_of(pipe_name("svc")), 2u);

    ASSERT_TRUE(broker_->restart());
    // The established connection never noticed.
    EXPECT_EQ(roundtrip(first, busy, "during"), "during");
    EXPECT_EQ(roundtrip(busy, first, "and back"), "and back");
    // The server blocked in ConnectNamedPipe registers with the new broker by itself.
    ASSERT_TRUE(eventually([&] { return instances_of(pipe_name("svc")) >= 1; })) << "nobody re-registered";
    std::optional<client> second;
    ASSERT_TRUE(eventually([&] {
        std::error_code ec;
        auto c = client::open(pipe_name("svc"), {}, ec);
        if (!ec) second.emplace(std::move(c));
        return !ec;
    }));
    ASSERT_EQ(connected.wait_for(20s), std::future_status::ready);
    connected.get(); // true or false: whether its listen reached the new broker before the client did
    EXPECT_EQ(roundtrip(*second, waiting, "new"), "new");
    EXPECT_EQ(create_as(pipe_name("svc"), nobody), 5) << "another uid takes no instance";
    // The busy instance registers again when it next talks to the broker.
    busy.disconnect();
    EXPECT_EQ(instances_of(pipe_name("svc")), 2u);
    auto info = query_pipe(pipe_name("svc"));
    EXPECT_EQ(info.owner_uid, 0u);
}

TEST_F(restart, NameStaysReservedWhileItsServersRunEvenBeforeTheyComeBack) {
    // Every instance connected: nothing talks to the broker, so nothing re-registers yet.
    auto s = server_instance::create(pipe_name("quiet"), [] {
        server_options o;
        o.sddl = "D:(A;;GRGW;;;WD)(A;;FA;;;BA)"; // anyone may use it, only BA add instances
        return o;
    }());
    auto c = client::open(pipe_name("quiet"));
    s.connect();
    ASSERT_TRUE(broker_->restart());
    EXPECT_EQ(instances_of(pipe_name("quiet")), 0u) << "not back yet";
    EXPECT_EQ(create_as(pipe_name("quiet"), nobody), 5) << "the name is kept for its running server";
    EXPECT_EQ(roundtrip(c, s, "still"), "still");
    // When it comes back, it has the descriptor it had (not a default).
    s.disconnect();
    ASSERT_EQ(instances_of(pipe_name("quiet")), 1u);
    EXPECT_EQ(query_pipe(pipe_name("quiet")).sddl, "O:S-1-22-1-0D:(A;;GRGW;;;WD)(A;;FA;;;BA)");
    auto next = std::async(std::launch::async, [&] { return s.connect(); });
    wait_named_pipe(pipe_name("quiet"), 20s); // until the instance listens again
    auto c2 = client::open(pipe_name("quiet"));
    ASSERT_EQ(next.wait_for(20s), std::future_status::ready);
    next.get();
    EXPECT_EQ(roundtrip(c2, s, "next"), "next");
}

TEST_F(restart, AClientPushedJustBeforeTheBrokerDiedIsNotLost) {
    // The client's open returned, but the server had not called ConnectNamedPipe yet: the
    // client is waiting in the instance's link when the broker dies.
    auto s = server_instance::create(pipe_name("race"));
    auto c = client::open(pipe_name("race"));
    // The open returns before the broker hands the client over: wait until it is in the link.
    ASSERT_TRUE(eventually([&] {
        pollfd p{s.native_handle(), POLLIN, 0};
        return ::poll(&p, 1, 0) == 1;
    }));
    ASSERT_TRUE(broker_->restart());
    EXPECT_TRUE(s.connect()) << "the client came first (ERROR_PIPE_CONNECTED)";
    EXPECT_EQ(roundtrip(c, s, "kept"), "kept");
    // Re-registered as connected: the broker knows the client from the kernel.
    auto info = query_pipe(pipe_name("race"));
    ASSERT_EQ(info.instances.size(), 1u);
    EXPECT_EQ(info.instances[0].state, instance_state::connected);
    EXPECT_EQ(info.instances[0].client_pid, ::getpid());
    EXPECT_EQ(info.instances[0].client_uid, 0u);
}

TEST_F(restart, TheReservationEndsWithTheServersThatHeldIt) {
    // A short reservation time, so the end of the name's reservation is seen soon.
    broker_.reset();
    broker_.emplace(std::vector<std::string>{"--reserve-names", "300"});
    ASSERT_TRUE(broker_->ready());
    std::optional<process> holder;
    {
        int out[2];
        ASSERT_EQ(::pipe(out), 0);
        holder.emplace(peer({"hold", pipe_name("held")}, out[1]));
        ::close(out[1]);
        char line[8] = {};
        ASSERT_GT(::read(out[0], line, sizeof line), 0) << "the holder did not start";
        ::close(out[0]);
    }
    ASSERT_EQ(instances_of(pipe_name("held")), 1u);
    ASSERT_TRUE(broker_->restart());
    EXPECT_EQ(create_as(pipe_name("held"), nobody), 5) << "kept while the holder runs";
    holder.reset(); // killed
    // As in a broker that never restarted, the name is kept for the reservation time after
    // its server went, then free.
    EXPECT_TRUE(eventually([&] { return create_as(pipe_name("held"), nobody) == 0; }))
        << "its server is gone and the reservation over: the name is free";
}

TEST_F(restart, ChangedSecurityOutlivesARestart) {
    server_options o;
    o.extra_access = rights::WRITE_DAC;
    auto s = server_instance::create(pipe_name("changed"), o);
    auto sd = s.security();
    sd.dacl->push_back(ace{ace_type::access_allowed, 0, rights::FILE_CREATE_PIPE_INSTANCE, sid::user(nobody)});
    s.set_security(sd, security_info::DACL_SECURITY_INFORMATION);
    auto c = client::open(pipe_name("changed"));
    s.connect();
    ASSERT_TRUE(broker_->restart());
    s.disconnect(); // back, with the descriptor as changed
    EXPECT_EQ(s.security().to_sddl(), sd.to_sddl());
    EXPECT_EQ(create_as(pipe_name("changed"), nobody), 0) << "the ACE added before the restart holds";
}

// A further instance took the pipe's type, limit and timeout: it registers again as that, even
// when it is the one that makes the pipe again with the new broker (the first is busy).
TEST_F(restart, AFurtherInstanceComesBackAsThePipesType) {
    server_options first;
    first.type = pipe_type::message;
    first.read_mode = read_mode::message;
    first.max_instances = 4;
    first.default_timeout = 30ms;
    auto s1 = server_instance::create(pipe_name("kind"), first);
    server_options other;
    other.max_instances = 2;
    other.out_buffer_size = 300;
    other.in_buffer_size = 200;
    other.default_timeout = 5s;
    auto s2 = server_instance::create(pipe_name("kind"), other);
    auto c1 = client::open(pipe_name("kind"));
    s1.connect(); // busy: it does not talk to the broker, so s2 comes back first
    ASSERT_TRUE(broker_->restart());
    auto connected = std::async(std::launch::async, [&] { return s2.connect(); });
    ASSERT_TRUE(eventually([&] { return instances_of(pipe_name("kind")) == 1; })) << "s2 did not come back";
    auto info = query_pipe(pipe_name("kind"));
    EXPECT_EQ(info.type, pipe_type::message);
    EXPECT_EQ(info.max_instances, 4u);
    EXPECT_EQ(info.default_timeout, 30ms);
    EXPECT_EQ(info.instances.at(0).out_buffer_size, 300u);
    EXPECT_EQ(info.instances.at(0).in_buffer_size, 200u);
    std::optional<client> c2;
    ASSERT_TRUE(eventually([&] {
        std::error_code ec;
        auto c = client::open(pipe_name("kind"), {}, ec);
        if (!ec) c2.emplace(std::move(c));
        return !ec;
    }));
    ASSERT_EQ(connected.wait_for(20s), std::future_status::ready);
    connected.get();
    EXPECT_EQ(c2->info().type, pipe_type::message);
    EXPECT_EQ(c2->info().out_buffer_size, 300u);
    c2->set_state(read_mode::message, std::nullopt);
    s2.write(bytes("a"));
    s2.write(bytes("b"));
    std::byte buf[8];
    EXPECT_EQ(c2->read(buf).bytes, 1u) << "one message at a time";
    s1.disconnect(); // the first comes back too, into the pipe as it is
    EXPECT_EQ(instances_of(pipe_name("kind")), 2u);
    EXPECT_EQ(query_pipe(pipe_name("kind")).type, pipe_type::message);
}

TEST_F(restart, AFreedNameStaysReservedAcrossARestart) {
    // The only instance closes, then the broker dies before the name's reservation ends: the
    // broker after it keeps the reservation (it was saved with the pipe's file), so another
    // uid does not take the name meanwhile and the owner does.
    { auto only = server_instance::create(pipe_name("freed")); }
    ASSERT_TRUE(eventually([&] { return instances_of(pipe_name("freed")) == 0; }));
    ASSERT_TRUE(broker_->restart());
    EXPECT_EQ(create_as(pipe_name("freed"), nobody), 5) << "a squatter takes the name of a pipe that just went";
    auto again = server_instance::create(pipe_name("freed"));
    EXPECT_EQ(query_pipe(pipe_name("freed")).owner_uid, ::geteuid());
}

// Issue 14, item 1: a client that opens a pipe while its servers have not registered again
// with the new broker is not told "no such pipe" - the pipe exists, it is on its way back.

TEST_F(restart, AnOpenDuringTheRestartWaitsForThePipeAndConnects) {
    auto server = ready_peer({"serve-echo", pipe_name("back"), "byte", "1"});
    ASSERT_TRUE(eventually([&] { return instances_of(pipe_name("back")) == 1; }));
    server.kill(SIGSTOP); // it cannot register again until we say so
    ASSERT_TRUE(broker_->restart());
    auto opened = std::async(std::launch::async, [&] {
        std::error_code ec;
        auto c = client::open(pipe_name("back"), {}, ec);
        return std::make_pair(std::move(c), ec);
    });
    // The broker holds the open (it counts as a waiting client) until the pipe is back.
    ASSERT_TRUE(eventually([] { return get_broker_status().waiters == 1; }));
    EXPECT_EQ(opened.wait_for(0s), std::future_status::timeout);
    server.kill(SIGCONT);
    ASSERT_EQ(opened.wait_for(20s), std::future_status::ready);
    auto [c, ec] = opened.get();
    ASSERT_FALSE(ec) << ec.message() << " (before the fix: ERROR_FILE_NOT_FOUND)";
    c.write(bytes("still here"));
    std::byte buf[64];
    auto r = c.read(buf);
    EXPECT_EQ(text({buf, r.bytes}), "still here");
}

TEST_F(restart, AWaitDuringTheRestartTimesOutAndAnOpenEndsWithItsServers) {
    auto server = ready_peer({"serve-echo", pipe_name("late"), "byte", "1"});
    ASSERT_TRUE(eventually([&] { return instances_of(pipe_name("late")) == 1; }));
    ASSERT_TRUE(stop_process(server.pid()));
    ASSERT_TRUE(broker_->restart());
    // WaitNamedPipe of a pipe on its way back waits (its own timeout), as for a busy pipe.
    std::error_code ec;
    wait_named_pipe(pipe_name("late"), 200ms, {}, ec);
    EXPECT_EQ(ec, win32_error::sem_timeout) << ec.message();
    auto opened = std::async(std::launch::async, [&] {
        std::error_code open_ec;
        client::open(pipe_name("late"), {}, open_ec);
        return open_ec;
    });
    ASSERT_TRUE(eventually([] { return get_broker_status().waiters == 1; }));
    // Its server dies without coming back: the held open learns the pipe is gone.
    server = process{};
    ASSERT_EQ(opened.wait_for(20s), std::future_status::ready);
    EXPECT_EQ(opened.get(), win32_error::file_not_found);
    EXPECT_EQ(get_broker_status().waiters, 0u);
}
