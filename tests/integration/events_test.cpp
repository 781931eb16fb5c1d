// The broker's events, from real processes: every kind, field by field; the ring under a flood
// with a reader that does not read (nothing lost that is not counted, pipe traffic unhindered);
// who may see whose events in system scope.
#include "fixture.hpp"

#include <npipe/namespace.hpp>
#include <npipe/security.hpp>

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <map>
#include <poll.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
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
    // Sanitized builds run 5-15 times slower (TSan took 72 s for 20,000 alone, past the limit
    // beside other tests): the same invariant over 8,000 creates, still 16 times the ring.
    constexpr int creates = 8000;
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

namespace {

/// npiped with a configuration file (and extra arguments) in the test's runtime directory.
process broker_with_config(const std::string& dir, const std::string& yaml, std::vector<std::string> extra = {}) {
    std::string path = dir + "/npiped.yaml";
    std::ofstream(path) << yaml;
    std::vector<std::string> argv{bindir() + "/npiped", "--runtime-dir", dir, "--config", path};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return process(std::move(argv));
}

std::vector<json> json_lines(const std::string& path) {
    std::vector<json> out;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

} // namespace

TEST_F(events, JsonLinesFileRotatesAndHoldsWhatTheRingHolds) {
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    std::string file = dir_ + "/events.jsonl";
    auto broker = broker_with_config(dir_, "events:\n  file: " + file + "\n  file_max_bytes: 4000\n  file_keep: 2\n");
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    for (int i = 0; i < 40; ++i) auto s = server_instance::create(pipe_name("rotated-" + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return get_broker_status().events >= 81; }));
    // Rotated: the file and two older ones, none bigger than the limit, nothing beyond .2.
    ASSERT_TRUE(std::filesystem::exists(file + ".1"));
    ASSERT_TRUE(std::filesystem::exists(file + ".2"));
    EXPECT_FALSE(std::filesystem::exists(file + ".3"));
    for (auto p : {file, file + ".1", file + ".2"}) EXPECT_LE(std::filesystem::file_size(p), 4000u) << p;
    // Oldest to newest, the files are consecutive events, the same the ring shows.
    std::vector<json> on_disk;
    for (auto p : {file + ".2", file + ".1", file})
        for (auto& e : json_lines(p)) on_disk.push_back(std::move(e));
    ASSERT_FALSE(on_disk.empty());
    for (std::size_t i = 1; i < on_disk.size(); ++i)
        EXPECT_EQ(on_disk[i]["Sequence"].get<std::uint64_t>(), on_disk[i - 1]["Sequence"].get<std::uint64_t>() + 1);
    auto ring = all_events();
    std::map<std::uint64_t, json> by_seq;
    for (auto& e : ring) by_seq[e["Sequence"].get<std::uint64_t>()] = e;
    for (const auto& e : on_disk) {
        auto it = by_seq.find(e["Sequence"].get<std::uint64_t>());
        if (it != by_seq.end()) {
            EXPECT_EQ(it->second, e);
        }
    }
    EXPECT_EQ(on_disk.back()["Sequence"], ring.back()["Sequence"]);
}

TEST_F(events, ConfigurationFileMistakesAreNamedWithTheirLine) {
    auto broker = broker_with_config(dir_, "events:\n  capacity: 100\n  jornald: true\n");
    EXPECT_EQ(broker.wait(), 2) << "an unknown key stops the broker";
    auto typed = broker_with_config(dir_, "limits:\n  instances_per_uid: many\n");
    EXPECT_EQ(typed.wait(), 2);
    ::chmod(dir_.c_str(), 0700);
    // Options on the command line win over the file.
    auto ok = broker_with_config(dir_, "events:\n  capacity: 100\nlimits:\n  idle_timeout_ms: 1234\n", {"--events", "50"});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    auto status = get_broker_status();
    EXPECT_EQ(status.event_capacity, 50u);
    EXPECT_EQ(status.idle_timeout, 1234ms);
}

TEST_F(events, JournaldGetsStructuredFields) {
    // The journal's native protocol: one datagram per entry, FIELD=value lines, to
    // /run/systemd/journal/socket. Where no journald runs (CI containers), this test plays
    // journald's receiving end on that path; where one runs, the entry is read back with journalctl.
    const std::string socket_path = "/run/systemd/journal/socket";
    bool own_socket = !std::filesystem::exists(socket_path);
    int journal = -1;
    std::vector<std::string> made; // directories this test creates, removed afterwards
    if (own_socket) {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root to stand in for journald at " << socket_path;
        for (std::string d : {"/run/systemd", "/run/systemd/journal"})
            if (std::filesystem::create_directory(d)) made.insert(made.begin(), d);
        journal = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, socket_path.c_str());
        ASSERT_EQ(::bind(journal, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    }
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    process broker({bindir() + "/npiped", "--runtime-dir", dir_, "--journald"});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    auto s = server_instance::create(pipe_name("journaled"));
    std::map<std::string, std::string> entry;
    if (own_socket) {
        // Entries arrive in order: the broker's start, then the create.
        for (int i = 0; i < 2 && entry["NPIPE_EVENT_TYPE"] != "CreatePipe"; ++i) {
            pollfd p{journal, POLLIN, 0};
            ASSERT_EQ(::poll(&p, 1, 10000), 1) << "no journal entry";
            char buf[65536];
            ssize_t n = ::recv(journal, buf, sizeof buf, 0);
            ASSERT_GT(n, 0);
            entry.clear();
            std::istringstream lines(std::string(buf, static_cast<std::size_t>(n)));
            for (std::string line; std::getline(lines, line);) {
                auto eq = line.find('=');
                if (eq != std::string::npos) entry[line.substr(0, eq)] = line.substr(eq + 1);
            }
        }
        ::close(journal);
        std::filesystem::remove(socket_path);
        for (const auto& d : made) std::filesystem::remove(d);
    } else {
        // A real journald: read the entry back.
        ASSERT_TRUE(eventually([&] {
            std::string cmd = "journalctl -o json --no-pager SYSLOG_IDENTIFIER=npiped NPIPE_PIPE_NAME='\\journaled' "
                              "NPIPE_PROCESS_ID=" + std::to_string(::getpid());
            std::FILE* f = ::popen(cmd.c_str(), "r");
            char line[65536];
            bool found = f && std::fgets(line, sizeof line, f);
            if (f) ::pclose(f);
            if (found) {
                json read_back = json::parse(line);
                for (auto it = read_back.begin(); it != read_back.end(); ++it)
                    entry[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
            }
            return found;
        }));
    }
    EXPECT_EQ(entry["SYSLOG_IDENTIFIER"], "npiped");
    EXPECT_EQ(entry["NPIPE_EVENT_TYPE"], "CreatePipe");
    EXPECT_EQ(entry["NPIPE_EVENT_ID"], "17");
    EXPECT_EQ(entry["NPIPE_PIPE_NAME"], "\\journaled");
    EXPECT_EQ(entry["NPIPE_PROCESS_ID"], std::to_string(::getpid()));
    EXPECT_EQ(entry["PRIORITY"], "6");
    EXPECT_NE(entry["MESSAGE"].find("CreatePipe \\journaled"), std::string::npos) << entry["MESSAGE"];
    EXPECT_FALSE(entry["NPIPE_PROCESS_GUID"].empty());
}

// ---- Sigma rules in the broker ---------------------------------------------------------------

namespace {

std::string write_rule(const std::string& dir, const std::string& file, const std::string& yaml) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir + "/" + file) << yaml;
    return dir;
}

const char* connect_rule = R"(title: Test - connect to a guarded pipe
id: 11111111-2222-3333-4444-555555555555
status: test
author: npipe tests
level: high
logsource:
    category: pipe_created
    product: windows
detection:
    selection:
        PipeName: '\guarded'
        EventType: ConnectPipe
    condition: selection
)";

} // namespace

TEST_F(events, ShippedRulesRaiseAlertsThatNameTheRuleAndItsAuthor) {
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    std::string rules = write_rule(dir_ + "/rules", "broken.yml", "title: [unclosed\n");
    process broker({bindir() + "/npiped", "--runtime-dir", dir_, "--rules", rules});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    auto beacon = server_instance::create(pipe_name("MSSE-4242-server")); // Cobalt Strike's default
    auto ordinary = server_instance::create(pipe_name("wkssvc")); // excluded by the pattern rule's filter
    auto all = all_events();
    auto alerts = of(all, 109, "MSSE-4242-server");
    ASSERT_EQ(alerts.size(), 1u) << "the broken rule file is skipped, the shipped ones stay in force";
    const json& a = alerts[0];
    EXPECT_EQ(a["EventType"], "Alert");
    EXPECT_EQ(a["TriggerEventType"], "CreatePipe");
    EXPECT_EQ(a["RuleTitle"], "CobaltStrike Named Pipe");
    EXPECT_EQ(a["RuleId"], "d5601f8c-b26f-4ab0-9035-69e11a8d4ad2");
    EXPECT_NE(a["RuleAuthor"].get<std::string>().find("Florian Roth"), std::string::npos);
    EXPECT_EQ(a["RuleLevel"], "critical");
    EXPECT_EQ(a["Action"], "alert");
    EXPECT_EQ(a["ProcessId"], ::getpid());
    auto created = of(all, 17, "MSSE-4242-server");
    ASSERT_EQ(created.size(), 1u);
    EXPECT_EQ(created[0]["RuleName"], "CobaltStrike Named Pipe");
    EXPECT_TRUE(of(all, 109, "wkssvc").empty());
    EXPECT_FALSE(of(all, 17, "wkssvc")[0].contains("RuleName"));

    // PsExec, Covenant and a Potato, as the issue names them: each flagged by its SigmaHQ rule.
    const std::pair<const char*, const char*> patterns[] = {
        {"PSEXESVC", "f3f3a972-f982-40ad-b63c-bca6afdfad7c"},           // PsExec Default Named Pipe
        {"gruntsvc", "fe3ac066-98bb-432a-b1e7-a5229cb39d4a"},           // Malicious Named Pipe (Covenant)
        {"lsarpc\\pipe\\srvsvc", "637f689e-b4a5-4a86-be0e-0100a0a33ba2"}, // EfsPotato
    };
    std::vector<server_instance> held;
    for (const auto& [name, rule_id] : patterns) held.push_back(server_instance::create(pipe_name(name)));
    all = all_events();
    for (const auto& [name, rule_id] : patterns) {
        bool found = false;
        for (const auto& e : of(all, 109, name)) found = found || e["RuleId"] == rule_id;
        EXPECT_TRUE(found) << name << " should raise rule " << rule_id;
    }
}

TEST_F(events, PreventModeRefusesWhatARuleMatchesAndSaysWhich) {
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    std::string rules = write_rule(dir_ + "/rules", "connect.yml", connect_rule);
    // Only the test rule refuses; the shipped ones keep alerting.
    std::string cfg = dir_ + "/npiped.yaml";
    std::ofstream(cfg) << "rules:\n  directories: [" << rules << "]\n  prevent_rules: [11111111-2222-3333-4444-555555555555]\n";
    process broker({bindir() + "/npiped", "--runtime-dir", dir_, "--config", cfg});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    auto beacon = server_instance::create(pipe_name("MSSE-1-server")); // alert only
    auto guarded = server_instance::create(pipe_name("guarded"));      // the create matches nothing
    std::error_code ec;
    client::open(pipe_name("guarded"), {}, ec);
    EXPECT_EQ(ec, win32_error::access_denied) << "the connect rule prevents";
    auto all = all_events();
    auto denied = of(all, 102, "guarded");
    ASSERT_EQ(denied.size(), 1u);
    EXPECT_NE(denied[0]["Reason"].get<std::string>().find("prevented by Sigma rule 'Test - connect to a guarded pipe'"),
              std::string::npos)
        << denied[0]["Reason"];
    auto alert = of(all, 109, "guarded");
    ASSERT_EQ(alert.size(), 1u);
    EXPECT_EQ(alert[0]["Action"], "prevented");
    EXPECT_EQ(alert[0]["RuleAuthor"], "npipe tests");
    EXPECT_EQ(of(all, 109, "MSSE-1-server")[0]["Action"], "alert");

    // --prevent: every rule refuses; a beacon-named pipe is never created.
    broker = process{};
    process strict({bindir() + "/npiped", "--runtime-dir", dir_, "--prevent"});
    ASSERT_TRUE(eventually([&] { std::error_code e2; get_broker_status({}, e2); return !e2; }));
    server_instance::create(pipe_name("MSSE-2-server"), {}, ec);
    EXPECT_EQ(ec, win32_error::access_denied);
    EXPECT_EQ(list_pipes().size(), 0u);
    auto refused = of(all_events(), 108, "MSSE-2-server");
    ASSERT_EQ(refused.size(), 1u);
    EXPECT_NE(refused[0]["Reason"].get<std::string>().find("CobaltStrike Named Pipe"), std::string::npos);
}

TEST_F(events, SquattingAttemptsAndTheBrokersEndAreEvents) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the squatter runs as another uid (CI runs as root)";
    std::optional<system_broker> broker;
    broker.emplace();
    ASSERT_TRUE(broker->ready());
    auto s = server_instance::create(pipe_name("service"));
    EXPECT_EQ(peer({"create-as", pipe_name("service"), "65534"}).wait(), 5);
    // A follower hears the broker stop, then the end of its stream.
    std::vector<json> followed;
    auto follower = std::async(std::launch::async, [&] {
        std::error_code ec;
        monitor_options o;
        o.follow = true;
        monitor_events(o, [&](std::uint64_t, const std::string& text) { followed.push_back(json::parse(text)); return true; },
                       {}, {}, ec);
        return ec;
    });
    ASSERT_TRUE(eventually([&] { return get_broker_status().monitors == 1; }));
    auto squat = of(all_events(), 103, "service");
    ASSERT_EQ(squat.size(), 1u);
    EXPECT_EQ(squat[0]["EventType"], "SquattingAttempt");
    EXPECT_EQ(squat[0]["Uid"], 65534);
    EXPECT_EQ(squat[0]["Result"], "denied");
    EXPECT_EQ(squat[0]["OwnerSid"], "S-1-22-1-0");
    EXPECT_NE(squat[0]["Reason"].get<std::string>().find("FILE_CREATE_PIPE_INSTANCE"), std::string::npos);
    stop_broker();
    ASSERT_EQ(follower.wait_for(20s), std::future_status::ready);
    EXPECT_EQ(follower.get(), win32_error::service_not_active) << "the stream ends with the broker";
    ASSERT_FALSE(followed.empty());
    EXPECT_EQ(followed.back()["EventType"], "BrokerStopped");
    EXPECT_EQ(followed.back()["EventId"], 2);
}

TEST_F(events, AuditFindsThePotatoPattern) {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the server runs as an ordinary user (CI runs as root)";
    system_broker broker;
    ASSERT_TRUE(broker.ready());
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    auto server = peer({"serve-as", pipe_name("potato"), "12345"}, out[1]);
    ::close(out[1]);
    char line[8] = {};
    ASSERT_GT(::read(out[0], line, sizeof line), 0);
    ::close(out[0]);
    auto root_client = client::open(pipe_name("potato")); // root talks to an ordinary user's server
    ASSERT_TRUE(eventually([&] { return query_pipe(pipe_name("potato")).instances[0].client_uid == 0u; }));
    EXPECT_EQ(query_pipe(pipe_name("potato")).instances[0].server_uid, 12345u);
    std::string cmd = bindir() + "/npipe audit --json --no-default-rules";
    std::FILE* f = ::popen(cmd.c_str(), "r");
    ASSERT_NE(f, nullptr);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    int status = ::pclose(f);
    EXPECT_EQ(WEXITSTATUS(status), 1) << "findings: exit 1";
    auto findings = json::parse(text);
    bool potato = false;
    for (const auto& finding : findings)
        potato = potato || (finding["kind"] == "privilege-inversion" && finding["pipe"] == pipe_name("potato"));
    EXPECT_TRUE(potato) << text;
}

TEST_F(events, ReloadedRulesKeepThePreviousVersionOfAFileThatBroke) {
    // Hostile case 16: a rule file edited into bad YAML (or a pathological pattern) is refused on
    // SIGHUP, and the rules it held before stay in force; the other files load as they are.
    ::setenv("NPIPE_NO_AUTOSTART", "1", 1);
    ::chmod(dir_.c_str(), 0700);
    auto rule = [](const std::string& id, const std::string& pattern) {
        return "title: Test " + id + "\nid: " + id + "\nauthor: npipe tests\nlevel: high\nlogsource:\n"
               "    category: pipe_created\ndetection:\n    selection:\n        PipeName|re: '" + pattern +
               "'\n    condition: selection\n";
    };
    std::string rules = write_rule(dir_ + "/rules", "mine.yml", rule("aaaaaaaa-0000-0000-0000-000000000001", "^\\\\mine-"));
    process broker({bindir() + "/npiped", "--runtime-dir", dir_, "--no-default-rules", "--rules", rules});
    ASSERT_TRUE(eventually([&] { std::error_code ec; get_broker_status({}, ec); return !ec; }));
    { auto s = server_instance::create(pipe_name("mine-1")); }
    ASSERT_EQ(of(all_events(), 109, "mine-1").size(), 1u);
    // Break mine.yml (an unclosed bracket; a back-reference RE2 refuses), add another good file.
    write_rule(rules, "mine.yml", "title: [unclosed\n");
    write_rule(rules, "hostile.yml", rule("aaaaaaaa-0000-0000-0000-000000000003", "^(a+)\\1$"));
    write_rule(rules, "other.yml", rule("aaaaaaaa-0000-0000-0000-000000000002", "^\\\\other-"));
    broker.kill(SIGHUP);
    int n = 0;
    ASSERT_TRUE(eventually([&] {
        auto s = server_instance::create(pipe_name("other-" + std::to_string(++n)));
        return !of(all_events(), 109, "other-" + std::to_string(n)).empty();
    })) << "the reload never happened";
    { auto s = server_instance::create(pipe_name("mine-2")); }
    auto kept = of(all_events(), 109, "mine-2");
    ASSERT_EQ(kept.size(), 1u) << "the broken file's previous rule stays in force";
    EXPECT_EQ(kept[0]["RuleId"], "aaaaaaaa-0000-0000-0000-000000000001");
    EXPECT_EQ(get_broker_status().pid, broker.pid()) << "SIGHUP reloads, it does not stop the broker";
}

TEST_F(events, ADisconnectRightBeforeCloseKeepsItsCounts) {
    // The most common server pattern: DisconnectNamedPipe, then CloseHandle at once. With the
    // broker stopped meanwhile, the disconnect request and the link's end reach it together;
    // the request is still taken (reason and byte counts), not dropped as a half request.
    auto server = server_instance::create(pipe_name("Counted"));
    auto client = client::open(pipe_name("Counted"));
    server.connect();
    const char hello[] = "hello";
    client.write(std::as_bytes(std::span(hello, 5)));
    std::byte buf[16];
    ASSERT_EQ(server.read(buf).bytes, 5u);
    server.write(std::as_bytes(std::span("abc", 3)));
    pid_t broker_pid = get_broker_status().pid;
    ASSERT_TRUE(stop_process(broker_pid));
    server.disconnect();
    { auto closing = std::move(server); }
    ASSERT_EQ(::kill(broker_pid, SIGCONT), 0);
    ASSERT_TRUE(eventually([&] { return !of(all_events(), 106, "Counted").empty(); }));
    auto ends = of(all_events(), 105, "Counted");
    ASSERT_EQ(ends.size(), 1u);
    EXPECT_EQ(ends[0]["Reason"], "server disconnected");
    EXPECT_EQ(ends[0]["BytesFromClient"], 5);
    EXPECT_EQ(ends[0]["BytesToClient"], 3);
}
