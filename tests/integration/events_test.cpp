// The broker's events, from real processes: every kind, field by field; the ring under a flood
// with a reader that does not read (nothing lost that is not counted, pipe traffic unhindered);
// who may see whose events in system scope.
#include "fixture.hpp"

#include <npipe/namespace.hpp>
#include <npipe/security.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <future>
#include <latch>
#include <pwd.h>
#include <regex>

using namespace npipe;
using namespace npipe_test;
using nlohmann::json;

namespace {

class events : public named_pipe_test {
protected:
    /// Every event the broker keeps now, oldest first.
    static std::vector<json> all_events() {
        std::vector<json> out;
        std::error_code ec;
        monitor_events({}, [&](std::uint64_t, const std::string& text) { out.push_back(json::parse(text)); return true; },
                       {}, {}, ec);
        EXPECT_FALSE(ec) << ec.message();
        return out;
    }
    /// The events of one EventId for one pipe (PipeName `\name`).
    static std::vector<json> of(const std::vector<json>& all, int id, const std::string& short_name = {}) {
        std::vector<json> out;
        for (const auto& e : all)
            if (e["EventId"] == id && (short_name.empty() || e.value("PipeName", "") == "\\" + short_name)) out.push_back(e);
        return out;
    }
    static std::string self_image() { return std::filesystem::read_symlink("/proc/self/exe").string(); }
    static std::string my_user() {
        passwd* pw = ::getpwuid(::geteuid());
        return pw ? pw->pw_name : std::to_string(::geteuid());
    }
    /// The fields every event about this process acting carries.
    static void expect_actor_is_me(const json& e) {
        EXPECT_EQ(e["ProcessId"], ::getpid());
        EXPECT_EQ(e["Uid"], ::geteuid());
        EXPECT_EQ(e["User"], my_user());
        EXPECT_EQ(e["Image"], self_image());
        EXPECT_TRUE(std::regex_match(e["ProcessGuid"].get<std::string>(),
                                     std::regex(R"(\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\})")))
            << e["ProcessGuid"];
        EXPECT_TRUE(std::regex_match(e["UtcTime"].get<std::string>(),
                                     std::regex(R"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3})")))
            << e["UtcTime"];
        ASSERT_TRUE(e["Gids"].is_array());
        EXPECT_EQ(e["Gids"][0], ::getegid());
        EXPECT_EQ(e["Remote"], false);
    }
};

} // namespace

TEST_F(events, EveryKindFieldByField) {
    server_options o;
    o.type = pipe_type::message;
    o.read_mode = read_mode::message;
    o.max_instances = 4;
    o.extra_access = rights::WRITE_DAC;
    o.sddl = "D:(D;;0x2;;;S-1-22-1-" + std::to_string(::geteuid()) + ")(A;;FA;;;S-1-22-1-" +
             std::to_string(::geteuid()) + ")"; // this user may not write: opens for writing are denied
    auto first = server_instance::create(pipe_name("Watched"), o);
    auto second = server_instance::create(pipe_name("watched"), o);
    std::error_code ec;
    server_options dup = o;
    dup.first_instance = true;
    server_instance::create(pipe_name("watched"), dup, ec);
    EXPECT_EQ(ec, win32_error::access_denied);
    client_options rw;
    client::open(pipe_name("watched"), rw, ec);
    EXPECT_EQ(ec, win32_error::access_denied);
    client_options r;
    r.write = false;
    r.impersonation = impersonation_level::impersonation;
    auto c = client::open(pipe_name("watched"), r);
    EXPECT_TRUE(first.connect());
    first.write(bytes("twelve bytes"));
    std::byte buf[64];
    EXPECT_EQ(c.read(buf).bytes, 12u);
    first.disconnect();
    auto sd = first.security();
    sd.dacl = std::vector<ace>{};
    sd.dacl->push_back({ace_type::access_allowed, 0, rights::FILE_ALL_ACCESS, sid::user(::geteuid())});
    first.set_security(sd, security_info::DACL_SECURITY_INFORMATION);
    // WaitNamedPipe on a pipe whose only instance is busy runs out of time.
    auto lonely = server_instance::create(pipe_name("lonely"));
    auto hold = client::open(pipe_name("lonely"));
    wait_named_pipe(pipe_name("lonely"), 30ms, {}, ec);
    EXPECT_EQ(ec, win32_error::sem_timeout);

    auto all = all_events();
    ASSERT_FALSE(all.empty());
    EXPECT_EQ(all.front()["EventType"], "BrokerStarted");
    EXPECT_EQ(all.front()["EventId"], 1);
    // Sequence numbers: 1, 2, 3, ... in order.
    for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i]["Sequence"], i + 1);

    auto created = of(all, 17, "Watched");
    ASSERT_EQ(created.size(), 1u) << "EID 17 for the pipe's first instance only";
    const json& c17 = created[0];
    EXPECT_EQ(c17["EventType"], "CreatePipe");
    expect_actor_is_me(c17);
    EXPECT_EQ(c17["PipeName"], "\\Watched") << "as its creator spelled it, Sysmon's form";
    EXPECT_EQ(c17["OwnerSid"], "S-1-22-1-" + std::to_string(::geteuid()));
    EXPECT_NE(c17["Sddl"].get<std::string>().find("(D;;DC;;;S-1-22-1-"), std::string::npos) << c17["Sddl"];
    EXPECT_EQ(c17["Instances"], 1);
    EXPECT_EQ(c17["MaxInstances"], 4);
    EXPECT_EQ(c17["PipeType"], "Message");
    EXPECT_EQ(c17["Result"], "success");

    auto more = of(all, 101, "Watched");
    ASSERT_EQ(more.size(), 1u);
    EXPECT_EQ(more[0]["EventType"], "CreatePipe") << "Sysmon logs every CreateNamedPipe as EID 17";
    EXPECT_EQ(more[0]["Instances"], 2);
    EXPECT_EQ(more[0]["ProcessGuid"], c17["ProcessGuid"]) << "one process, one ProcessGuid";

    auto create_denied = of(all, 108, "Watched");
    ASSERT_EQ(create_denied.size(), 1u);
    EXPECT_EQ(create_denied[0]["EventType"], "CreateDenied");
    EXPECT_EQ(create_denied[0]["Result"], "denied");
    EXPECT_NE(create_denied[0]["Reason"].get<std::string>().find("FIRST_PIPE_INSTANCE"), std::string::npos);

    auto denied = of(all, 102, "Watched");
    ASSERT_EQ(denied.size(), 1u);
    EXPECT_EQ(denied[0]["EventType"], "OpenDenied");
    expect_actor_is_me(denied[0]);
    EXPECT_EQ(denied[0]["Result"], "denied");
    EXPECT_NE(denied[0]["Reason"].get<std::string>().find("FILE_WRITE_DATA"), std::string::npos) << denied[0]["Reason"];

    auto connected = of(all, 18, "Watched");
    ASSERT_EQ(connected.size(), 1u);
    const json& c18 = connected[0];
    EXPECT_EQ(c18["EventType"], "ConnectPipe");
    expect_actor_is_me(c18);
    EXPECT_EQ(c18["PeerProcessId"], ::getpid());
    EXPECT_EQ(c18["PeerUid"], ::geteuid());
    EXPECT_EQ(c18["PeerImage"], self_image());
    EXPECT_EQ(c18["ImpersonationLevel"], "Impersonation");
    EXPECT_EQ(c18["Instances"], 2);

    auto gone_client = of(all, 105, "Watched");
    ASSERT_EQ(gone_client.size(), 1u);
    const json& d = gone_client[0];
    EXPECT_EQ(d["EventType"], "DisconnectPipe");
    EXPECT_EQ(d["BytesToClient"], 12);
    EXPECT_EQ(d["BytesFromClient"], 0);
    EXPECT_GE(d["DurationMs"].get<long long>(), 0);
    EXPECT_EQ(d["Reason"], "server disconnected");
    EXPECT_EQ(d["PeerProcessId"], ::getpid());

    auto changed = of(all, 107, "Watched");
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0]["EventType"], "SecurityChange");
    EXPECT_NE(changed[0]["PreviousSddl"], changed[0]["Sddl"]);
    EXPECT_EQ(changed[0]["Sddl"], first.security().to_sddl());

    auto timed_out = of(all, 104, "lonely");
    ASSERT_EQ(timed_out.size(), 1u);
    EXPECT_EQ(timed_out[0]["EventType"], "WaitTimeout");
    EXPECT_EQ(timed_out[0]["Result"], "timeout");
    expect_actor_is_me(timed_out[0]);

    // Pipe gone and broker stopped come last.
    { auto drop = std::move(first); }
    { auto drop = std::move(second); }
    ASSERT_TRUE(eventually([&] { return !of(all_events(), 106, "Watched").empty(); }));
    auto gone = of(all_events(), 106, "Watched");
    EXPECT_EQ(gone[0]["EventType"], "PipeGone");
    EXPECT_EQ(gone[0]["Instances"], 0);
}

TEST_F(events, FloodOfCreatesLosesNothingUncountedAndAStalledReaderSlowsNobody) {
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    process broker({bindir() + "/npiped", "--runtime-dir", dir_, "--events", "1000"});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));

    // A follower that takes one event and then stops reading until the flood is over.
    std::latch flood_done(1);
    std::uint64_t received = 0, lost = 0, first_seq = 0, last_seq = 0;
    bool gap_without_loss = false;
    auto reader = std::async(std::launch::async, [&] {
        std::error_code ec;
        monitor_options o;
        o.follow = true;
        std::uint64_t expected_next = 0, pending_lost = 0;
        monitor_events(
            o,
            [&](std::uint64_t seq, const std::string& text) {
                if (received == 0) {
                    first_seq = seq;
                    flood_done.wait(); // stalled: the broker must not wait for us
                } else if (seq != expected_next + pending_lost) {
                    gap_without_loss = true;
                }
                pending_lost = 0;
                expected_next = seq + 1;
                last_seq = seq;
                ++received;
                return text.find("\"BrokerStopped\"") == std::string::npos && text.find("\\\\flood-end") == std::string::npos;
            },
            [&](std::uint64_t n) { lost += n; pending_lost += n; }, {}, ec);
        return ec;
    });
    ASSERT_TRUE(eventually([&] { return get_broker_status().monitors == 1; }));
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    // Sanitized builds run 5-15 times slower: the same invariant over a fifth of the flood (still
    // 40 times the ring) keeps them within the test's time limit.
    constexpr int creates = 20000;
#else
    constexpr int creates = 100000; // the issue's figure
#endif
    for (int i = 0; i < creates; ++i) {
        auto s = server_instance::create(pipe_name("flood-" + std::to_string(i % 7)));
    }
    flood_done.count_down();
    auto end = server_instance::create(pipe_name("flood-end"));
    ASSERT_EQ(reader.wait_for(60s), std::future_status::ready);
    EXPECT_FALSE(reader.get());
    auto status = get_broker_status();
    // Two events per create (created, gone) plus the start: the ring held 1000 of them.
    EXPECT_GE(status.events, 2u * creates);
    EXPECT_GT(lost, 0u) << "the reader stalled through " << 2 * creates << " events with room for 1000";
    EXPECT_FALSE(gap_without_loss) << "every gap in the sequence was announced as lost";
    EXPECT_EQ(received + lost, last_seq - first_seq + 1) << "received + announced lost = everything in between";
    EXPECT_EQ(status.events_lost, lost);
}

TEST_F(events, InSystemScopeOthersSeeOnlyTheirOwnEvents) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the reader runs as another uid (CI runs as root)";
    system_broker broker;
    ASSERT_TRUE(broker.ready());
    server_options open_to_all;
    open_to_all.sddl = "D:(A;;GRGW;;;WD)(A;;FA;;;BA)";
    auto mine = server_instance::create(pipe_name("roots"), open_to_all);
    EXPECT_EQ(peer({"open-as", pipe_name("roots"), "65534", "rw"}).wait(), 0);
    auto root_view = all_events();
    EXPECT_FALSE(of(root_view, 18, "roots").empty());
    EXPECT_FALSE(of(root_view, 17, "roots").empty());
    // uid 65534 reads: it sees its own open (it is the actor) but not root's create.
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    auto reader = peer({"monitor-as", "-", "65534"}, out[1]);
    ::close(out[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
    ::close(out[0]);
    EXPECT_EQ(reader.wait(), 0);
    std::vector<json> seen;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) seen.push_back(json::parse(line));
    EXPECT_EQ(of(seen, 18, "roots").size(), 1u) << text;
    EXPECT_TRUE(of(seen, 17, "roots").empty()) << "root's create is not nobody's business";
    for (const auto& e : seen)
        EXPECT_TRUE(e["Uid"] == 65534 || e.value("PeerUid", 0u) == 65534u) << e.dump();
}
