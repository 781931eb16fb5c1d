// Sigma rules (src/sigma): the SigmaHQ pipe_created rules npipe ships, checked rule by rule, and
// rules of our own for every modifier, every condition form and every way a rule file is refused.
#include "sigma/sigma.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace npipe::sigma;

namespace {

using event = std::map<std::string, std::string, std::less<>>;

field_lookup lookup(const event& e) {
    return [e](std::string_view field) -> std::optional<std::string> {
        auto found = e.find(field);
        if (found == e.end()) return std::nullopt;
        return found->second;
    };
}

bool hit(const rule& r, const event& e) { return matches(r, lookup(e)); }

// A pipe rule around a detection section (each line of `detection` indented by four spaces).
std::string pipe_rule(std::string_view detection, std::string_view id = "00000000-0000-0000-0000-000000000001") {
    std::string yaml = "title: Test rule\nid: " + std::string(id) +
                       "\nauthor: npipe tests\nlevel: high\nlogsource:\n    product: windows\n"
                       "    category: pipe_created\ndetection:\n";
    std::size_t start = 0;
    while (start < detection.size()) {
        std::size_t end = detection.find('\n', start);
        if (end == std::string_view::npos) end = detection.size();
        yaml += "    " + std::string(detection.substr(start, end - start)) + "\n";
        start = end + 1;
    }
    return yaml;
}

std::shared_ptr<const rule> parse_ok(const std::string& yaml) {
    load_problem problem;
    auto r = parse_rule(yaml, "test.yml", problem);
    EXPECT_TRUE(r) << to_string(problem) << "\n" << yaml;
    return r;
}

load_problem parse_fails(const std::string& yaml) {
    load_problem problem;
    auto r = parse_rule(yaml, "bad.yml", problem);
    EXPECT_FALSE(r) << yaml;
    EXPECT_EQ(problem.file, "bad.yml");
    EXPECT_FALSE(problem.message.empty());
    return problem;
}

// One field test: `PipeName` (or the field named in `key`) against a value.
std::shared_ptr<const rule> field_rule(std::string_view key_and_value) {
    return parse_ok(pipe_rule("selection:\n    " + std::string(key_and_value) + "\ncondition: selection"));
}

event pipe(std::string name) { return {{"PipeName", std::move(name)}}; }
event pipe(std::string name, std::string image) {
    return {{"PipeName", std::move(name)}, {"Image", std::move(image)}};
}

// A fresh directory under the test temp dir, removed at the end of the test.
class temp_dir {
public:
    temp_dir() {
        std::random_device rd;
        path_ = std::filesystem::path(testing::TempDir()) / ("npipe-sigma-" + std::to_string(rd()));
        std::filesystem::create_directories(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string write(const std::string& name, const std::string& text) const {
        auto p = path_ / name;
        std::filesystem::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
    std::string path() const { return path_.string(); }

private:
    std::filesystem::path path_;
};

const load_problem* find_problem(const rule_set& set, std::string_view file_suffix) {
    for (const auto& p : set.problems)
        if (p.file.size() >= file_suffix.size() &&
            p.file.compare(p.file.size() - file_suffix.size(), file_suffix.size(), file_suffix) == 0)
            return &p;
    return nullptr;
}

// ---- the default rule set ------------------------------------------------------------------------

class SigmaDefaultRules : public testing::Test {
protected:
    static void SetUpTestSuite() { set_ = new rule_set(load_rules({NPIPE_SOURCE_RULES_DIR})); }
    static void TearDownTestSuite() {
        delete set_;
        set_ = nullptr;
    }

    static const rule& by_id(const std::string& id) {
        for (const auto& r : set_->rules)
            if (r->id == id) return *r;
        ADD_FAILURE() << "no rule " << id;
        static const rule none;
        return none;
    }

    static rule_set* set_;
};
rule_set* SigmaDefaultRules::set_ = nullptr;

// Names a Windows machine creates all the time.
const std::vector<std::string> ordinary_pipes = {"\\wkssvc", "\\srvsvc", "\\lsarpc",
                                                 "\\spoolss", "\\ntsvcs", "\\browser"};

struct expectation {
    std::string id;
    std::vector<event> fire;  // events the rule is written to catch
    std::vector<event> quiet; // events its selections or filters leave alone, besides ordinary_pipes
};

const std::vector<expectation>& expectations() {
    static const std::vector<expectation> all = {
        {"739915e4-1e70-4778-8b8a-17db02f66db1", // Turla Group Named Pipes
         {pipe("\\atctl"), pipe("\\comnap"), pipe("\\iehelper"), pipe("\\sdlrpc"), pipe("\\userpipe"),
          pipe("\\ATCTL")},
         {pipe("\\atctl2"), pipe("\\x\\atctl"), pipe("\\rpc")}},
        {"9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b", // RedSun - Named Pipe Created
         {pipe("\\REDSUN", "C:\\Users\\xodih\\Downloads\\RedSun.exe"), pipe("\\redsun")},
         {pipe("\\REDSUN2"), pipe("\\xREDSUN")}},
        {"f3f3a972-f982-40ad-b63c-bca6afdfad7c", // PsExec Default Named Pipe
         {pipe("\\PSEXESVC"), pipe("\\psexesvc", "C:\\Windows\\PSEXESVC.exe")},
         {pipe("\\PSEXESVC-host-1234-stdin")}},
        {"1ea13e8c-03ea-409b-877d-ce5c3d2c1cb3", // ADFS Database Named Pipe Connection By Uncommon Tool
         {pipe("\\MICROSOFT##WID\\tsql\\query", "C:\\Users\\eve\\AADInternals.exe"),
          pipe("\\MICROSOFT##WID\\tsql\\query")},
         {pipe("\\MICROSOFT##WID\\tsql\\query", "C:\\Windows\\System32\\mmc.exe"),
          pipe("\\MICROSOFT##WID\\tsql\\query", "C:\\Program Files\\Microsoft SQL Server\\sqlservr.exe"),
          pipe("\\MICROSOFT##WID\\tsql\\query", "C:\\Program Files\\Azure AD Connect\\AzureADConnect.exe")}},
        {"d5601f8c-b26f-4ab0-9035-69e11a8d4ad2", // CobaltStrike Named Pipe
         {pipe("\\MSSE-1234-server"), pipe("\\postex_ssh_0a1b"), pipe("\\status_42"), pipe("\\msagent_12"),
          pipe("\\mojo_5"), pipe("\\interprocess_1"), pipe("\\samr_1"), pipe("\\netlogon_1"),
          pipe("\\srvsvc_1"), pipe("\\lsarpc_1"), pipe("\\wkssvc_1")},
         {pipe("\\MSSE-1234"), pipe("\\samr"), pipe("\\netlogon"), pipe("\\postex")}},
        {"0e7163d4-9e19-4fa7-9be6-000c61aad77a", // CobaltStrike Named Pipe Pattern Regex
         {pipe("\\mojo.5688.8052.183894939787088877ab"), pipe("\\wkssvc_a1"), pipe("\\wkssvc0f"),
          pipe("\\ntsvcs12"), pipe("\\DserNamePipe9f"), pipe("\\windows.update.manager123"),
          pipe("\\win\\msrpc_ab"), pipe("\\f53fab"), pipe("\\msrpc_abcd"), pipe("\\spoolss_12"),
          pipe("\\Winsock2\\CatalogChangeListener-abc-0,")},
         {pipe("\\wkssvc_"), pipe("\\ntsvcs"), pipe("\\f53fab1"), pipe("\\WKSSVC_A1"),
          pipe("\\DserNamePipeZZ")}},
        {"85adeb13-4fc9-4e68-8a4a-c7cb2c336eb7", // CobaltStrike Named Pipe Patterns
         {pipe("\\DserNamePipe12"), pipe("\\demoagent_11"), pipe("\\wkssvc_12"), pipe("\\ntsvcs2a"),
          pipe("\\spoolss_x"), pipe("\\mojo.5688.8052.35780273329370473ff"),
          pipe("\\Winsock2\\CatalogChangeListener-123-0,"),
          pipe("\\DserNamePipeR12", "C:\\Users\\bob\\beacon.exe")},
         {pipe("\\SearchTextHarvester"), pipe("\\PGMessagePipe"), pipe("\\MsFteWds"), pipe("\\scerpc"),
          pipe("\\demoagent_33"), pipe("\\Winsock2\\CatalogChangeListener-123-1,"),
          pipe("\\DserNamePipeR12", "C:\\Program Files\\Websense\\Websense Endpoint\\wepsvc.exe"),
          pipe("\\DserNamePipeW7", "C:\\Program Files (x86)\\Websense\\wepsvc.exe")}},
        {"4d0083b3-580b-40da-9bba-626c19fe4033", // HackTool - CoercedPotato Named Pipe Creation
         {pipe("\\coerced\\pipe\\spoolss"), pipe("\\x\\COERCED\\")},
         {pipe("\\coerced")}},
        {"1f7025a6-e747-4130-aac4-961eb47015f1", // HackTool - DiagTrackEoP Default Named Pipe
         {pipe("\\thisispipe"), pipe("\\abc-ThisIsPipe-1")},
         {pipe("\\thisis")}},
        {"637f689e-b4a5-4a86-be0e-0100a0a33ba2", // HackTool - EfsPotato Named Pipe Creation
         {pipe("\\x\\pipe\\srvsvc"), pipe("\\1234\\pipe\\")},
         {pipe("\\pipe\\srvsvc"), pipe("\\x\\pipe\\CtxShare"), pipe("\\pipe\\LOCAL\\Monitorian")}},
        {"961d0ba2-3eea-4303-a930-2cf78bbfcc5e", // HackTool - Credential Dumping Tools Named Pipe Created
         {pipe("\\lsadump"), pipe("\\cachedump_1"), pipe("\\x\\wceservicepipe")},
         {pipe("\\lsass"), pipe("lsadump")}},
        {"0adc67e0-a68f-4ffd-9c43-28905aad5d6a", // HackTool - Koh Default Named Pipe
         {pipe("\\imposecost"), pipe("\\imposingcost")},
         {pipe("\\impose")}},
        {"58cb02d5-78ce-4692-b3e1-dce850aae41a", // Alternate PowerShell Hosts Pipe
         {pipe("\\PSHost.134003.9344.DefaultAppDomain.evil", "C:\\Users\\bob\\AppData\\Local\\Temp\\evil.exe")},
         {pipe("\\PSHost.1.2.DefaultAppDomain.powershell"), // no Image: filter_main_null
          pipe("\\PSHost.1.2.DefaultAppDomain.powershell",
               "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.pwsh", "C:\\Program Files\\PowerShell\\7\\pwsh.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.pwsh",
               "C:\\Program Files\\WindowsApps\\Microsoft.PowerShellPreview_7.4.0.0_x64\\pwsh.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.sqlps",
               "C:\\Program Files (x86)\\Microsoft SQL Server\\130\\Tools\\Binn\\SQLPS.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.gc",
               "C:\\Program Files\\AzureConnectedMachineAgent\\GCArcService\\GC\\gc_worker.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.x", "C:\\Program Files\\Citrix\\x.exe"),
          pipe("\\PSHost.1.2.DefaultAppDomain.x", "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\x.exe")}},
        {"ac7102b4-9e1e-4802-9b4f-17c5524c015c", // New PowerShell Instance Created
         {pipe("\\PSHost.134003.9344.DefaultAppDomain.powershell"), pipe("\\pshost")},
         {pipe("\\x\\PSHost")}},
        {"f318b911-ea88-43f4-9281-0de23ede628e", // PUA - CSExec Default Named Pipe
         {pipe("\\csexecsvc"), pipe("\\csexecsvc-host-1")},
         {pipe("\\csexec")}},
        {"f6451de4-df0a-41fa-8d72-b39f54a08db5", // PUA - PAExec Default Named Pipe
         {pipe("\\PAExec-1234-HOST"), pipe("\\paexecsvc")},
         {pipe("\\x\\PAExec")}},
        {"d36f87ea-c403-44d2-aa79-1a0ac7c24456", // PUA - RemCom Default Named Pipe
         {pipe("\\RemCom_communicaton"), pipe("\\x\\remcom_stdin")},
         {pipe("\\Rem")}},
        {"493fb4ab-cdcc-4c4f-818c-0e363bd1e4bb", // WMI Event Consumer Created Named Pipe
         {pipe("\\anything", "C:\\Windows\\System32\\wbem\\scrcons.exe"), pipe("\\x", "C:\\SCRCONS.EXE")},
         {pipe("\\x", "C:\\Windows\\System32\\scrcons.exe.bak"), pipe("\\x")}},
        {"fe3ac066-98bb-432a-b1e7-a5229cb39d4a", // Malicious Named Pipe Created
         {pipe("\\adschemerpc"), pipe("\\583da945-62af-10e8-4902-a8f205c72b2e"), pipe("\\PoshC2_x"),
          pipe("\\posh"), pipe("\\isapi_dg2"), pipe("\\jaccdpqnvbrrxlaf"),
          // a real Windows pipe, targeted on purpose (CrackMapExec's smbexec)
          pipe("\\svcctl")},
         {pipe("\\isapi_dg3"), pipe("\\adschemerpc2"), pipe("\\status_1")}},
        {"41504465-5e3a-4a5b-a5b4-2a0baadd4463", // PsExec Tool Execution From Suspicious Locations
         {pipe("\\PSEXESVC", "C:\\Users\\Public\\PsExec64.exe"),
          pipe("\\PSEXESVC", "C:\\Users\\bob\\Downloads\\tools\\psexec.exe"),
          pipe("\\psexesvc", "C:\\Users\\bob\\AppData\\Local\\Temp\\PsExec.exe")},
         {pipe("\\PSEXESVC", "C:\\Windows\\PSEXESVC.exe"), pipe("\\PSEXESVC"),
          pipe("\\PSEXESVC-1", "C:\\Users\\Public\\PsExec64.exe")}},
    };
    return all;
}

TEST_F(SigmaDefaultRules, AllTwentyLoadWithTheirAttribution) {
    for (const auto& p : set_->problems) ADD_FAILURE() << to_string(p);
    ASSERT_EQ(set_->rules.size(), 20u);
    std::set<std::string> ids;
    for (const auto& r : set_->rules) {
        EXPECT_FALSE(r->title.empty()) << r->file;
        EXPECT_FALSE(r->author.empty()) << r->file; // the DRL: every match names the author
        EXPECT_EQ(r->category, "pipe_created");
        EXPECT_FALSE(r->level.empty()) << r->file;
        EXPECT_NE(r->file.find(NPIPE_SOURCE_RULES_DIR), std::string::npos);
        ids.insert(r->id);
    }
    EXPECT_EQ(ids.size(), 20u);
    for (const auto& e : expectations()) EXPECT_EQ(ids.count(e.id), 1u) << e.id;

    // Stable order: the loader walks directories in sorted (path) order.
    std::vector<std::filesystem::path> files;
    for (const auto& r : set_->rules) files.emplace_back(r->file);
    EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));

    const rule& redsun = by_id("9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b");
    EXPECT_EQ(redsun.title, "RedSun - Named Pipe Created");
    EXPECT_EQ(redsun.author, "Swachchhanda Shrawan Poudel (Nextron Systems), @unresolvedhost");
    EXPECT_EQ(redsun.level, "critical");
    EXPECT_EQ(redsun.status, "experimental");
    EXPECT_EQ(redsun.tags.size(), 6u);
    EXPECT_EQ(redsun.references.size(), 2u);
}

TEST_F(SigmaDefaultRules, EachFiresOnWhatItTargets) {
    for (const auto& e : expectations()) {
        const rule& r = by_id(e.id);
        for (const auto& ev : e.fire)
            EXPECT_TRUE(hit(r, ev)) << r.title << " (" << e.id << ") misses PipeName=" << ev.at("PipeName")
                                    << (ev.count("Image") ? " Image=" + ev.at("Image") : "");
        for (const auto& ev : e.quiet)
            EXPECT_FALSE(hit(r, ev)) << r.title << " (" << e.id << ") fires on PipeName=" << ev.at("PipeName")
                                     << (ev.count("Image") ? " Image=" + ev.at("Image") : "");
    }
}

TEST_F(SigmaDefaultRules, NoneFiresOnOrdinaryWindowsPipes) {
    for (const auto& name : ordinary_pipes) {
        for (const event& ev : {pipe(name), pipe(name, "C:\\Windows\\System32\\svchost.exe"),
                                pipe(name, "C:\\Windows\\System32\\spoolsv.exe"), pipe(name, "/usr/bin/npipe")}) {
            for (const auto& r : set_->rules)
                EXPECT_FALSE(hit(*r, ev)) << r->title << " (" << r->id << ") fires on " << name;
            EXPECT_TRUE(matching(*set_, lookup(ev)).empty()) << name;
        }
    }
}

TEST_F(SigmaDefaultRules, TheSysmonSampleEventMatchesRedSunOnly) {
    // sysmon-eid17-sample.json (EID 17, CreatePipe) from SigmaHQ's regression data.
    const event sample = {{"EventType", "CreatePipe"},
                          {"PipeName", "\\REDSUN"},
                          {"Image", "C:\\Users\\xodih\\Downloads\\RedSun.exe"},
                          {"User", "swachchhanda\\xodih"},
                          {"ProcessId", "15596"}};
    auto hits = matching(*set_, lookup(sample));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0]->id, "9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b");
}

TEST_F(SigmaDefaultRules, MatchingLooksEachFieldUpOnce) {
    std::map<std::string, int> calls;
    field_lookup counting = [&](std::string_view field) -> std::optional<std::string> {
        ++calls[std::string(field)];
        if (field == "PipeName") return "\\PSHost.1.evil";
        return std::nullopt;
    };
    auto hits = matching(*set_, counting);
    ASSERT_EQ(hits.size(), 1u); // New PowerShell Instance; Alternate Hosts wants an Image
    EXPECT_EQ(hits[0]->id, "ac7102b4-9e1e-4802-9b4f-17c5524c015c");
    EXPECT_EQ(calls["PipeName"], 1);
    EXPECT_EQ(calls["Image"], 1);
}

TEST_F(SigmaDefaultRules, TheMemoMatcherAnswersAsMatchingAndRemembersEachAnswer) {
    auto ids = [](const std::vector<std::shared_ptr<const rule>>& hits) {
        std::vector<std::string> out;
        for (const auto& h : hits) out.push_back(h->id);
        return out;
    };
    auto fields = tested_fields(*set_);
    EXPECT_TRUE(std::is_sorted(fields.begin(), fields.end()));
    EXPECT_NE(std::find(fields.begin(), fields.end(), "PipeName"), fields.end());
    EXPECT_NE(std::find(fields.begin(), fields.end(), "Image"), fields.end());

    memo_matcher memo(*set_, 3); // small: the fourth new answer starts afresh
    std::vector<event> events = {pipe("\\PSEXESVC", "C:\\Users\\Public\\p.exe"), pipe("\\srvsvc"),
                                 pipe("\\PSHost.1.evil"), pipe("\\REDSUN", "C:\\x\\RedSun.exe"),
                                 pipe("\\PSEXESVC", "C:\\Windows\\PSEXESVC.exe")};
    for (const auto& e : expectations())
        for (const auto& ev : e.fire) events.push_back(ev);
    for (int round = 0; round < 2; ++round)
        for (const auto& ev : events) {
            int calls = 0;
            auto counted = [&](std::string_view f) {
                ++calls;
                return lookup(ev)(f);
            };
            EXPECT_EQ(ids(memo.matching(counted)), ids(matching(*set_, lookup(ev)))) << ev.at("PipeName");
            EXPECT_EQ(calls, static_cast<int>(fields.size())) << "once per tested field, remembered or not";
        }
    // One field that no rule tests changes nothing; one that does is a new answer.
    event with_pid = pipe("\\PSHost.1.evil");
    with_pid["ProcessId"] = "42";
    EXPECT_EQ(ids(memo.matching(lookup(with_pid))), ids(matching(*set_, lookup(pipe("\\PSHost.1.evil")))));
    EXPECT_TRUE(memo_matcher(rule_set{}).matching(lookup(pipe("\\PSEXESVC"))).empty());
}

TEST_F(SigmaDefaultRules, ConcurrentMatching) {
    std::vector<std::thread> threads;
    std::vector<int> hits(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i)
                hits[static_cast<std::size_t>(t)] +=
                    static_cast<int>(matching(*set_, lookup(pipe("\\PSEXESVC", "C:\\Users\\Public\\p.exe"))).size());
        });
    for (auto& th : threads) th.join();
    for (int h : hits) EXPECT_EQ(h, 400); // the default pipe rule and the suspicious-location one
}

// ---- values and modifiers ------------------------------------------------------------------------

TEST(SigmaValues, PlainValueIsTheWholeFieldCaseInsensitively) {
    auto r = field_rule("PipeName: '\\MyPipe'");
    EXPECT_TRUE(hit(*r, pipe("\\MyPipe")));
    EXPECT_TRUE(hit(*r, pipe("\\mYpIPE")));
    EXPECT_FALSE(hit(*r, pipe("\\MyPipe2")));
    EXPECT_FALSE(hit(*r, pipe("x\\MyPipe")));
    EXPECT_FALSE(hit(*r, pipe("MyPipe")));
    EXPECT_FALSE(hit(*r, {})); // absent field
}

TEST(SigmaValues, UnicodeCaseFolding) {
    auto r = field_rule("PipeName: '\\Ärger-Straße-Σ'");
    EXPECT_TRUE(hit(*r, pipe("\\ärger-straße-σ")));
    EXPECT_TRUE(hit(*r, pipe("\\ÄRGER-STRAßE-Σ")));
    EXPECT_TRUE(hit(*r, pipe("\\ärger-straße-ς"))); // final sigma folds like sigma
    EXPECT_FALSE(hit(*r, pipe("\\Arger-Straße-Σ")));
    EXPECT_FALSE(hit(*r, pipe("\\ärger-strasse-σ"))); // simple folding: ß is not "ss"
}

TEST(SigmaValues, Wildcards) {
    auto r = field_rule("PipeName: '\\a?c*'");
    EXPECT_TRUE(hit(*r, pipe("\\abc")));
    EXPECT_TRUE(hit(*r, pipe("\\aXcdef")));
    EXPECT_TRUE(hit(*r, pipe("\\aéc")));        // ? is one character, not one byte
    EXPECT_TRUE(hit(*r, pipe("\\a\nc\nline"))); // wildcards cross line breaks
    EXPECT_FALSE(hit(*r, pipe("\\ac")));
    EXPECT_FALSE(hit(*r, pipe("\\abbc")));
    auto middle = field_rule("PipeName: '\\MSSE-*-server'");
    EXPECT_TRUE(hit(*middle, pipe("\\MSSE-1234-server")));
    EXPECT_TRUE(hit(*middle, pipe("\\MSSE--server")));
    EXPECT_FALSE(hit(*middle, pipe("\\MSSE-1234-server2")));
}

TEST(SigmaValues, Escaping) {
    // '\*' and '\?' are literal wildcard characters.
    auto star = field_rule(R"(PipeName: 'a\*b\?')");
    EXPECT_TRUE(hit(*star, pipe("a*b?")));
    EXPECT_FALSE(hit(*star, pipe("axb?")));
    EXPECT_FALSE(hit(*star, pipe("a*bc")));
    // '\\*' is a backslash, then a wildcard.
    auto backslash_then_star = field_rule(R"(PipeName: '\\*')");
    EXPECT_TRUE(hit(*backslash_then_star, pipe("\\anything")));
    EXPECT_TRUE(hit(*backslash_then_star, pipe("\\")));
    EXPECT_FALSE(hit(*backslash_then_star, pipe("anything")));
    // '\\\*' is a backslash and a literal star.
    auto both = field_rule(R"(PipeName: '\\\*')");
    EXPECT_TRUE(hit(*both, pipe("\\*")));
    EXPECT_FALSE(hit(*both, pipe("\\x")));
    // Any other backslash is itself; '\\\\' is two backslashes, as is '\\\'.
    auto path = field_rule(R"(Image: 'C:\Windows\system32\cmd.exe')");
    EXPECT_TRUE(hit(*path, {{"Image", "c:\\windows\\System32\\CMD.EXE"}}));
    auto two = field_rule(R"(PipeName: 'a\\\\b')");
    EXPECT_TRUE(hit(*two, pipe("a\\\\b")));
    EXPECT_FALSE(hit(*two, pipe("a\\b")));
    auto three = field_rule(R"(PipeName: 'a\\\b')");
    EXPECT_TRUE(hit(*three, pipe("a\\\\b")));
    auto trailing = field_rule(R"(PipeName|contains: '\coerced\')");
    EXPECT_TRUE(hit(*trailing, pipe("\\coerced\\x")));
    EXPECT_FALSE(hit(*trailing, pipe("\\coerced")));
    // Regular-expression characters in plain values are literal.
    auto dots = field_rule(R"(PipeName: '\mojo.5688(x)[1]+$')");
    EXPECT_TRUE(hit(*dots, pipe("\\mojo.5688(x)[1]+$")));
    EXPECT_FALSE(hit(*dots, pipe("\\mojoX5688(x)[1]+$")));
}

TEST(SigmaValues, NumbersAndBooleansCompareAsText) {
    auto r = parse_ok(pipe_rule("selection:\n    EventID: 17\n    Flag: true\ncondition: selection"));
    EXPECT_TRUE(hit(*r, {{"EventID", "17"}, {"Flag", "TRUE"}}));
    EXPECT_FALSE(hit(*r, {{"EventID", "18"}, {"Flag", "true"}}));
}

TEST(SigmaValues, ContainsStartsWithEndsWith) {
    auto contains = field_rule("PipeName|contains: 'evil'");
    EXPECT_TRUE(hit(*contains, pipe("\\my-EVIL-pipe")));
    EXPECT_TRUE(hit(*contains, pipe("evil")));
    EXPECT_FALSE(hit(*contains, pipe("\\good")));
    auto starts = field_rule("PipeName|startswith: '\\evil'");
    EXPECT_TRUE(hit(*starts, pipe("\\Evil_1")));
    EXPECT_FALSE(hit(*starts, pipe("\\x\\evil")));
    auto ends = field_rule("Image|endswith: '\\evil.exe'");
    EXPECT_TRUE(hit(*ends, {{"Image", "C:\\x\\EVIL.exe"}}));
    EXPECT_FALSE(hit(*ends, {{"Image", "C:\\x\\evil.exe.txt"}}));
    auto wildcard_inside = field_rule("PipeName|contains: 'a*z'");
    EXPECT_TRUE(hit(*wildcard_inside, pipe("\\xxaMIDDLEzxx")));
    EXPECT_FALSE(hit(*wildcard_inside, pipe("\\za")));
    auto empty = field_rule("PipeName|contains: ''");
    EXPECT_TRUE(hit(*empty, pipe("")));
    EXPECT_TRUE(hit(*empty, pipe("x")));
    EXPECT_FALSE(hit(*empty, {}));
}

TEST(SigmaValues, ListsAreOrAllMakesThemAnd) {
    auto any = field_rule("PipeName:\n        - '\\one'\n        - '\\two'");
    EXPECT_TRUE(hit(*any, pipe("\\one")));
    EXPECT_TRUE(hit(*any, pipe("\\TWO")));
    EXPECT_FALSE(hit(*any, pipe("\\three")));
    auto all = field_rule("PipeName|contains|all:\n        - 'MSSE-'\n        - '-server'");
    EXPECT_TRUE(hit(*all, pipe("\\MSSE-1-server")));
    EXPECT_FALSE(hit(*all, pipe("\\MSSE-1")));
    EXPECT_FALSE(hit(*all, pipe("\\x-server")));
    auto all_plain = field_rule("PipeName|all:\n        - '\\a*'\n        - '*z'");
    EXPECT_TRUE(hit(*all_plain, pipe("\\abcz")));
    EXPECT_FALSE(hit(*all_plain, pipe("\\abc")));
    // Flow-style lists are lists too.
    auto flow = field_rule("PipeName|endswith: ['.a', '.b']");
    EXPECT_TRUE(hit(*flow, pipe("x.B")));
}

TEST(SigmaValues, MapsAreAndListsOfMapsAreOr) {
    auto map = parse_ok(
        pipe_rule("selection:\n    PipeName: '\\p'\n    Image|endswith: '\\x.exe'\ncondition: selection"));
    EXPECT_TRUE(hit(*map, pipe("\\p", "C:\\x.exe")));
    EXPECT_FALSE(hit(*map, pipe("\\p", "C:\\y.exe")));
    EXPECT_FALSE(hit(*map, pipe("\\p")));
    auto list = parse_ok(pipe_rule("selection:\n    - PipeName: '\\p'\n    - Image|endswith: '\\x.exe'\n"
                                   "      PipeName|startswith: '\\q'\ncondition: selection"));
    EXPECT_TRUE(hit(*list, pipe("\\p")));
    EXPECT_TRUE(hit(*list, pipe("\\q1", "C:\\x.exe")));
    EXPECT_FALSE(hit(*list, pipe("\\q1", "C:\\y.exe")));
    EXPECT_FALSE(hit(*list, pipe("\\r", "C:\\x.exe")));
}

TEST(SigmaValues, NullMatchesAbsentOrEmpty) {
    auto r = field_rule("Image: null");
    EXPECT_TRUE(hit(*r, pipe("\\p")));
    EXPECT_TRUE(hit(*r, pipe("\\p", "")));
    EXPECT_FALSE(hit(*r, pipe("\\p", "C:\\x.exe")));
    auto tilde = field_rule("Image: ~");
    EXPECT_TRUE(hit(*tilde, pipe("\\p")));
    auto quoted = field_rule("Image: 'null'"); // the string "null"
    EXPECT_FALSE(hit(*quoted, pipe("\\p")));
    EXPECT_TRUE(hit(*quoted, pipe("\\p", "NULL")));
    auto mixed = field_rule("Image:\n        - null\n        - '*\\x.exe'");
    EXPECT_TRUE(hit(*mixed, pipe("\\p")));
    EXPECT_TRUE(hit(*mixed, pipe("\\p", "C:\\x.exe")));
    EXPECT_FALSE(hit(*mixed, pipe("\\p", "C:\\y.exe")));
}

TEST(SigmaValues, Exists) {
    auto yes = field_rule("Image|exists: true");
    EXPECT_TRUE(hit(*yes, pipe("\\p", "C:\\x.exe")));
    EXPECT_TRUE(hit(*yes, pipe("\\p", ""))); // presence only, even empty
    EXPECT_FALSE(hit(*yes, pipe("\\p")));
    auto no = field_rule("Image|exists: false");
    EXPECT_TRUE(hit(*no, pipe("\\p")));
    EXPECT_FALSE(hit(*no, pipe("\\p", "")));
}

TEST(SigmaValues, Cased) {
    auto plain = field_rule("PipeName|cased: '\\ABC'");
    EXPECT_TRUE(hit(*plain, pipe("\\ABC")));
    EXPECT_FALSE(hit(*plain, pipe("\\abc")));
    auto contains = field_rule("PipeName|contains|cased: 'Evil'");
    EXPECT_TRUE(hit(*contains, pipe("\\xEvilx")));
    EXPECT_FALSE(hit(*contains, pipe("\\xevilx")));
    auto ends = field_rule("Image|endswith|cased: '.EXE'");
    EXPECT_TRUE(hit(*ends, {{"Image", "a.EXE"}}));
    EXPECT_FALSE(hit(*ends, {{"Image", "a.exe"}}));
    auto starts = field_rule("PipeName|cased|startswith: '\\Ä'"); // order of modifiers is free
    EXPECT_TRUE(hit(*starts, pipe("\\Äx")));
    EXPECT_FALSE(hit(*starts, pipe("\\äx")));
}

TEST(SigmaValues, Windash) {
    auto r = field_rule("CommandLine|contains|windash: ' -exec '");
    for (std::string dash : {"-", "/", "\xE2\x80\x93", "\xE2\x80\x94", "\xE2\x80\x95"})
        EXPECT_TRUE(hit(*r, {{"CommandLine", "tool" " " + dash + "exec x"}})) << dash;
    EXPECT_FALSE(hit(*r, {{"CommandLine", "tool +exec x"}}));
    EXPECT_FALSE(hit(*r, {{"CommandLine", "tool exec x"}}));
    // A slash or an en dash in the value stands for all five as well.
    auto slash = field_rule("CommandLine|windash: 'x /y'");
    EXPECT_TRUE(hit(*slash, {{"CommandLine", "X -Y"}}));
    EXPECT_TRUE(hit(*slash, {{"CommandLine", "x \xE2\x80\x94y"}}));
    auto en = field_rule("CommandLine|windash|all:\n        - '*\xE2\x80\x93" "a*'\n        - '*/b*'");
    EXPECT_TRUE(hit(*en, {{"CommandLine", "-a /b"}}));
    EXPECT_TRUE(hit(*en, {{"CommandLine", "/a -b"}}));
    EXPECT_FALSE(hit(*en, {{"CommandLine", "-a"}}));
    // Without windash a dash is only a dash.
    auto none = field_rule("CommandLine|contains: ' -exec'");
    EXPECT_FALSE(hit(*none, {{"CommandLine", "x /exec"}}));
}

TEST(SigmaValues, RegularExpressions) {
    auto r = field_rule(R"(PipeName|re: '^\\evil[0-9]+$')");
    EXPECT_TRUE(hit(*r, pipe("\\evil12")));
    EXPECT_FALSE(hit(*r, pipe("\\EVIL12"))); // case-sensitive by default
    EXPECT_FALSE(hit(*r, pipe("\\evil12x")));
    auto search = field_rule("PipeName|re: 'rpc_[0-9a-f]{2}'"); // unanchored: found anywhere
    EXPECT_TRUE(hit(*search, pipe("\\msrpc_ab12")));
    EXPECT_FALSE(hit(*search, pipe("\\msrpc_g1")));
    auto i = field_rule(R"(PipeName|re|i: '^\\evil[0-9]+$')");
    EXPECT_TRUE(hit(*i, pipe("\\EVIL12")));
    auto m = field_rule("Text|re|m: '^line2$'");
    EXPECT_TRUE(hit(*m, {{"Text", "line1\nline2\nline3"}}));
    auto not_m = field_rule("Text|re: '^line2$'");
    EXPECT_FALSE(hit(*not_m, {{"Text", "line1\nline2\nline3"}}));
    auto s = field_rule("Text|re|s: 'a.b'");
    EXPECT_TRUE(hit(*s, {{"Text", "a\nb"}}));
    auto not_s = field_rule("Text|re: 'a.b'");
    EXPECT_FALSE(hit(*not_s, {{"Text", "a\nb"}}));
    EXPECT_TRUE(hit(*not_s, {{"Text", "axb"}}));
    auto ims = field_rule("Text|re|i|m|s: '^A.B$'");
    EXPECT_TRUE(hit(*ims, {{"Text", "x\na\nb\ny"}}));
    auto all = field_rule("PipeName|re|all:\n        - '^\\\\a'\n        - 'z$'");
    EXPECT_TRUE(hit(*all, pipe("\\abcz")));
    EXPECT_FALSE(hit(*all, pipe("\\abc")));
    auto list = field_rule("PipeName|re:\n        - '^x'\n        - '^y'");
    EXPECT_TRUE(hit(*list, pipe("yes")));
    EXPECT_FALSE(hit(*list, {}));
    // Unicode classes and case folding in expressions.
    auto unicode = field_rule("PipeName|re|i: '^\\pL+ä$'");
    EXPECT_TRUE(hit(*unicode, pipe("abcÄ")));
}

TEST(SigmaValues, HostileRegularExpressionsRunInLinearTime) {
    const std::string as(100 * 1024, 'a');
    const std::string xs(100 * 1024, 'x');
    auto nested = field_rule("PipeName|re: '(a+)+$'");
    EXPECT_TRUE(hit(*nested, pipe(as)));
    EXPECT_FALSE(hit(*nested, pipe(as + "!")));
    EXPECT_TRUE(hit(*nested, pipe(as + "!" + as)));
    auto pairs = field_rule("PipeName|re: '(x+x+)+y'");
    EXPECT_FALSE(hit(*pairs, pipe(xs)));
    EXPECT_TRUE(hit(*pairs, pipe(xs + "y")));
    auto anchored = field_rule("PipeName|re: '^(a|aa)*$'");
    EXPECT_FALSE(hit(*anchored, pipe(as + "b")));
    // Plain wildcards too.
    auto stars = field_rule("PipeName: '*a*a*a*a*a*a*a*a*b'");
    EXPECT_FALSE(hit(*stars, pipe(as)));
    EXPECT_TRUE(hit(*stars, pipe(as + "b")));
}

TEST(SigmaValues, LongListsOfValues) {
    // An indicator list: thousands of names, any of which matches.
    std::string list = "PipeName:";
    for (int i = 0; i < 3000; ++i) list += "\n        - '\\ioc-" + std::to_string(i) + "-*'";
    auto r = field_rule(list);
    ASSERT_TRUE(r);
    EXPECT_TRUE(hit(*r, pipe("\\IOC-0-x")));
    EXPECT_TRUE(hit(*r, pipe("\\ioc-1777-")));
    EXPECT_TRUE(hit(*r, pipe("\\ioc-2999-yz")));
    EXPECT_FALSE(hit(*r, pipe("\\ioc-3000-x")));
    EXPECT_FALSE(hit(*r, pipe("\\ioc-12")));
}

TEST(SigmaValues, AliasedPatternsAreCompiledOnce) {
    // 50 expensive expressions, aliased 100 times: 5,100 items but 50 patterns.
    std::string yaml = "title: aliases\nlogsource:\n    category: pipe_created\nexpressions: &e [";
    for (int i = 0; i < 50; ++i) yaml += (i ? ", " : "") + std::string("'[a-z]{200}") + std::to_string(i) + "'";
    yaml += "]\ndetection:\n    s:\n";
    for (int i = 0; i < 100; ++i) yaml += "        - F" + std::to_string(i) + "|re: *e\n";
    yaml += "    condition: s\n";
    auto r = parse_ok(yaml);
    ASSERT_TRUE(r);
    EXPECT_TRUE(hit(*r, {{"F99", std::string(200, 'q') + "49"}}));
    EXPECT_FALSE(hit(*r, {{"F99", std::string(199, 'q') + "49"}}));
}

TEST(SigmaValues, InvalidUtf8InEventsIsMatchedAsReplacementCharacters) {
    auto r = field_rule("Image|endswith: '\\tool.exe'");
    EXPECT_TRUE(hit(*r, {{"Image", "/home/\xff\xfe/\\tool.exe"}}));
    auto q = field_rule("PipeName: '\\a?b'");
    EXPECT_TRUE(hit(*q, pipe("\\a\xff" "b")));
    EXPECT_FALSE(hit(*q, pipe("\\a\xff\xff" "b"))); // two stray bytes are two characters
    auto wild = field_rule("PipeName: '*'");
    EXPECT_TRUE(hit(*wild, pipe("\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80")));
}

// ---- conditions ----------------------------------------------------------------------------------

// Three selections on the fields A, B, C (each "1" to be true) plus `_hidden` on field H.
std::shared_ptr<const rule> abc_rule(const std::string& condition) {
    return parse_ok(pipe_rule("sel_a:\n    A: '1'\nsel_b:\n    B: '1'\nfilter_c:\n    C: '1'\n_hidden:\n    H: '1'\n"
                              "condition: " + condition));
}

event abc(bool a, bool b, bool c, bool h = false) {
    return {{"A", a ? "1" : "0"}, {"B", b ? "1" : "0"}, {"C", c ? "1" : "0"}, {"H", h ? "1" : "0"}};
}

// Truth table of a condition against an oracle over A, B, C.
template <class Oracle>
void check_truth_table(const std::string& condition, Oracle oracle) {
    auto r = abc_rule(condition);
    ASSERT_TRUE(r);
    for (int bits = 0; bits < 16; ++bits) {
        const bool a = bits & 1, b = bits & 2, c = bits & 4, h = bits & 8;
        EXPECT_EQ(hit(*r, abc(a, b, c, h)), oracle(a, b, c, h))
            << "condition '" << condition << "' with A=" << a << " B=" << b << " C=" << c << " H=" << h;
    }
}

TEST(SigmaConditions, Operators) {
    check_truth_table("sel_a", [](bool a, bool, bool, bool) { return a; });
    check_truth_table("sel_a and sel_b", [](bool a, bool b, bool, bool) { return a && b; });
    check_truth_table("sel_a or sel_b", [](bool a, bool b, bool, bool) { return a || b; });
    check_truth_table("not sel_a", [](bool a, bool, bool, bool) { return !a; });
    check_truth_table("not not sel_a", [](bool a, bool, bool, bool) { return a; });
    check_truth_table("sel_a and not filter_c", [](bool a, bool, bool c, bool) { return a && !c; });
    check_truth_table("(sel_a or sel_b) and not filter_c", [](bool a, bool b, bool c, bool) { return (a || b) && !c; });
    check_truth_table("sel_a and (sel_b or filter_c)", [](bool a, bool b, bool c, bool) { return a && (b || c); });
    check_truth_table("not (sel_a and sel_b)", [](bool a, bool b, bool, bool) { return !(a && b); });
}

TEST(SigmaConditions, Precedence) {
    // `and` binds tighter than `or`, `not` tighter than `and`.
    check_truth_table("sel_a or sel_b and filter_c", [](bool a, bool b, bool c, bool) { return a || (b && c); });
    check_truth_table("sel_b and filter_c or sel_a", [](bool a, bool b, bool c, bool) { return (b && c) || a; });
    check_truth_table("not sel_a and sel_b", [](bool a, bool b, bool, bool) { return !a && b; });
    check_truth_table("not sel_a or sel_b", [](bool a, bool b, bool, bool) { return !a || b; });
    check_truth_table("sel_a and not sel_b or filter_c", [](bool a, bool b, bool c, bool) { return (a && !b) || c; });
    check_truth_table("sel_a OR sel_b AND NOT filter_c", [](bool a, bool b, bool c, bool) { return a || (b && !c); });
}

TEST(SigmaConditions, Quantifiers) {
    check_truth_table("1 of sel_*", [](bool a, bool b, bool, bool) { return a || b; });
    check_truth_table("any of sel*", [](bool a, bool b, bool, bool) { return a || b; });
    check_truth_table("all of sel_*", [](bool a, bool b, bool, bool) { return a && b; });
    check_truth_table("1 of sel_* and not 1 of filter_*", [](bool a, bool b, bool c, bool) { return (a || b) && !c; });
    check_truth_table("all of sel_* or 1 of filter*", [](bool a, bool b, bool c, bool) { return (a && b) || c; });
    check_truth_table("1 of *_c", [](bool, bool, bool c, bool) { return c; });
    check_truth_table("1 of s*_*", [](bool a, bool b, bool, bool) { return a || b; });
    check_truth_table("not 1 of sel_*", [](bool a, bool b, bool, bool) { return !(a || b); });
    // `them` leaves out selections whose names start with '_'; explicit patterns do not.
    check_truth_table("1 of them", [](bool a, bool b, bool c, bool) { return a || b || c; });
    check_truth_table("all of them", [](bool a, bool b, bool c, bool) { return a && b && c; });
    check_truth_table("1 of _*", [](bool, bool, bool, bool h) { return h; });
    check_truth_table("_hidden or 1 of them", [](bool a, bool b, bool c, bool h) { return a || b || c || h; });
    check_truth_table("all of *", [](bool a, bool b, bool c, bool h) { return a && b && c && h; });
    check_truth_table("ALL OF THEM", [](bool a, bool b, bool c, bool) { return a && b && c; });
    check_truth_table("1 of sel_a", [](bool a, bool, bool, bool) { return a; }); // a pattern without stars
}

TEST(SigmaConditions, AListOfConditionsIsTheirDisjunction) {
    auto r = parse_ok(pipe_rule("sel_a:\n    A: '1'\nsel_b:\n    B: '1'\n"
                                "condition:\n    - sel_a and sel_b\n    - not sel_a"));
    EXPECT_TRUE(hit(*r, abc(true, true, false)));
    EXPECT_TRUE(hit(*r, abc(false, false, false)));
    EXPECT_FALSE(hit(*r, abc(true, false, false)));
}

TEST(SigmaConditions, NestingUpToTheLimit) {
    std::string deep = std::string(max_condition_depth, '(') + "sel_a" + std::string(max_condition_depth, ')');
    check_truth_table(deep, [](bool a, bool, bool, bool) { return a; });
    std::string nots;
    for (int i = 0; i < max_condition_depth; ++i) nots += "not ";
    check_truth_table(nots + "sel_a", [](bool a, bool, bool, bool) { return a; }); // an even number
    // Long flat chains are not nesting.
    std::string chain = "sel_a";
    for (int i = 0; i < 5000; ++i) chain += i % 2 ? " and sel_a" : " or sel_a";
    check_truth_table(chain, [](bool a, bool, bool, bool) { return a; });
}

TEST(SigmaConditions, Errors) {
    auto fails = [](const std::string& condition, std::string_view expected) {
        auto p = parse_fails(
            pipe_rule("sel_a:\n    A: '1'\nsel_b:\n    B: '1'\n_x:\n    X: '1'\ncondition: " + condition));
        EXPECT_NE(p.message.find(expected), std::string::npos) << condition << " -> " << p.message;
        EXPECT_GT(p.line, 0u) << condition;
    };
    fails("sel_c", "unknown selection 'sel_c'");
    fails("sel_a and sel_c", "unknown selection 'sel_c'");
    fails("1 of filter_*", "no selection matches 'filter_*'");
    fails("sel_*", "needs '1 of' or 'all of'");
    fails("2 of sel_*", "'2 of' is not supported");
    fails("sel_a and", "missing");
    fails("sel_a sel_b", "unexpected 'sel_b'");
    fails("(sel_a", "')' expected");
    fails("sel_a)", "unexpected ')'");
    fails("and sel_a", "unexpected 'and'");
    fails("1 of", "expected after 'of'");
    fails("1 of (sel_a)", "expected after 'of'");
    fails("sel_a | count() > 5", "aggregations");
    fails("selection | count(x) by y > 1", "aggregations");
    fails("''", "empty");
    fails(std::string(max_condition_depth + 1, '(') + "sel_a" + std::string(max_condition_depth + 1, ')'),
          "nested deeper than 64");
    std::string nots;
    for (int i = 0; i <= max_condition_depth; ++i) nots += "not ";
    fails(nots + "sel_a", "nested deeper than 64");

    // Messages quote long names shortened.
    auto long_name = parse_fails(pipe_rule("sel_a:\n    A: '1'\ncondition: " + std::string(5000, 'n')));
    EXPECT_LT(long_name.message.size(), 200u) << long_name.message;
    EXPECT_NE(long_name.message.find("unknown selection 'nnnn"), std::string::npos) << long_name.message;

    auto only_hidden = parse_fails(pipe_rule("_x:\n    X: '1'\ncondition: 1 of them"));
    EXPECT_NE(only_hidden.message.find("'them' names no selection"), std::string::npos) << only_hidden.message;
}

// ---- refused rules -------------------------------------------------------------------------------

TEST(SigmaProblems, RefusedDetections) {
    auto fails = [](const std::string& detection, std::string_view expected) {
        auto p = parse_fails(pipe_rule(detection));
        EXPECT_NE(p.message.find(expected), std::string::npos) << detection << " -> " << p.message;
        return p;
    };
    auto unknown = fails("selection:\n    PipeName|contain: 'x'\ncondition: selection", "unknown modifier 'contain'");
    EXPECT_EQ(unknown.line, 10u); // the key's line in the file
    fails("selection:\n    PipeName|base64: 'x'\ncondition: selection", "modifier 'base64'");
    fails("selection:\n    PipeName|base64offset|contains: 'x'\ncondition: selection", "not supported");
    fails("selection:\n    PipeName|cidr: '10.0.0.0/8'\ncondition: selection", "not supported");
    fails("selection:\n    PipeName|expand: '%x%'\ncondition: selection", "not supported");
    fails("selection:\n    PipeName|contains|startswith: 'x'\ncondition: selection", "exclude each other");
    fails("selection:\n    PipeName|contains|contains: 'x'\ncondition: selection", "given twice");
    fails("selection:\n    PipeName|: 'x'\ncondition: selection", "empty modifier");
    fails("selection:\n    PipeName|i: 'x'\ncondition: selection", "need it");
    fails("selection:\n    PipeName|re|contains: 'x'\ncondition: selection", "'re' cannot be combined");
    fails("selection:\n    PipeName|re|windash: 'x'\ncondition: selection", "'re' cannot be combined");
    fails("selection:\n    PipeName|re|cased: 'x'\ncondition: selection", "'re' cannot be combined");
    fails("selection:\n    PipeName|exists|all: true\ncondition: selection", "'exists' cannot be combined");
    fails("selection:\n    PipeName|exists: maybe\ncondition: selection", "true or false");
    fails("selection:\n    PipeName|contains: null\ncondition: selection", "null cannot be combined");
    fails("selection:\n    PipeName: []\ncondition: selection", "empty list");
    fails("selection:\n    PipeName:\n        - [a]\ncondition: selection", "strings, numbers, booleans or null");
    fails("selection:\n    PipeName: {a: b}\ncondition: selection", "strings, numbers, booleans or null");
    fails("keywords:\n    - 'evil'\ncondition: keywords", "keyword selections");
    fails("keywords:\n    '|all':\n        - 'a'\n        - 'b'\ncondition: keywords", "keyword selections");
    fails("selection: 'x'\ncondition: selection", "must be a map of fields");
    fails("selection: {}\ncondition: selection", "is empty");
    fails("selection: []\ncondition: selection", "is empty");
    fails("selection:\n    PipeName: x\n", "no 'condition'");
    fails("condition: selection", "no selections");
    fails("selection:\n    PipeName: x\ncondition: []", "condition list is empty");
    fails("selection:\n    PipeName: x\ncondition: {a: b}", "must be a string");

    auto bad_re = fails("selection:\n    PipeName|re: '(unclosed'\ncondition: selection", "invalid regular expression");
    EXPECT_NE(bad_re.message.find("missing )"), std::string::npos) << bad_re.message;
    fails("selection:\n    PipeName|re: '(?<=look)behind'\ncondition: selection", "invalid regular expression");
    fails("selection:\n    PipeName|re: '(a)\\1'\ncondition: selection", "invalid regular expression");
    // A pattern whose program would exceed max_regex_memory.
    fails("selection:\n    PipeName|re: '\\pL{1000}'\ncondition: selection", "pattern too large");
    // Patterns that each need the full max_regex_memory: a rule gets max_rule_regex_memory.
    std::string many = "selection:\n    PipeName|re:";
    for (int i = 0; i < 100; ++i) many += "\n        - '\\pL{30}" + std::to_string(i) + "'";
    fails(many + "\ncondition: selection", "patterns together need more than the 64 MiB");
}

TEST(SigmaProblems, RefusedFiles) {
    auto fails = [](const std::string& yaml, std::string_view expected) {
        auto p = parse_fails(yaml);
        EXPECT_NE(p.message.find(expected), std::string::npos) << yaml << " -> " << p.message;
        return p;
    };
    auto broken = fails("title: x\nlogsource:\n    category: pipe_created\ndetection: [unclosed\n", "invalid YAML");
    EXPECT_GT(broken.line, 0u);
    fails("", "no rule");
    fails("- a\n- b\n", "must be a YAML map");
    fails("title: x\ndetection:\n    s:\n        A: 1\n    condition: s\n", "no 'logsource'");
    fails("title: x\nlogsource:\n    product: windows\ndetection:\n    s:\n        A: 1\n    condition: s\n",
          "has no 'category'");
    auto other = fails("title: x\nlogsource:\n    category: process_creation\n    product: windows\n"
                       "detection:\n    s:\n        Image: x\n    condition: s\n",
                       "not a pipe rule: logsource.category is 'process_creation'");
    EXPECT_EQ(other.line, 3u);
    fails("logsource:\n    category: pipe_created\ndetection:\n    s:\n        A: 1\n    condition: s\n", "no 'title'");
    fails("title: x\nlogsource:\n    category: pipe_created\n", "no 'detection'");
    fails("title: x\nlogsource:\n    category: pipe_created\ntags: {a: b}\n"
          "detection:\n    s:\n        A: 1\n    condition: s\n",
          "'tags' must be a list of strings");
    auto two = fails(pipe_rule("s:\n    A: 1\ncondition: s") + "---\n" + pipe_rule("s:\n    A: 1\ncondition: s"),
                     "rule collections are not supported");
    EXPECT_EQ(two.line, 13u); // the second title
    parse_ok(pipe_rule("s:\n    A: 1\ncondition: s") + "---\n"); // an empty document after it is none
    parse_ok("%YAML 1.2\n---\n" + pipe_rule("s:\n    A: 1\ncondition: s") + "...\n");
    auto nul = fails(pipe_rule("s:\n    A: 1\ncondition: s") + std::string("x: \0\n", 5), "NUL byte");
    EXPECT_EQ(nul.line, 12u);
    // yaml-cpp's LoadAll never returns on these; parse_rule does.
    fails(std::string(",", 1), "no rule");
    fails(std::string("\0,", 2), "NUL byte");
    fails(", \n,,\n", "no rule");
    fails(pipe_rule("s:\n    A: 1\ncondition: s") + ",\n", "invalid YAML");
    // Too large, too deep, too many aliased values.
    fails(pipe_rule("s:\n    A: 1\ncondition: s") + "description: '" + std::string(max_rule_file_size, 'x') + "'\n",
          "at most");
    fails(std::string(100'000, '[') + std::string(100'000, ']'), "invalid YAML");
    std::string bomb = "title: bomb\nlogsource:\n    category: pipe_created\nvalues: &v [";
    for (int i = 0; i < 200; ++i) bomb += (i ? ", " : "") + std::string("'x") + std::to_string(i) + "'";
    bomb += "]\ndetection:\n    s:\n";
    for (int i = 0; i < 100; ++i) bomb += "        - F" + std::to_string(i) + ": *v\n";
    bomb += "    condition: s\n";
    fails(bomb, "more than 10000 fields and values");
    // A sequence that contains itself.
    fails(pipe_rule("s: &s [*s]\ncondition: s"), "a list item must be a non-empty map of fields");
}

TEST(SigmaProblems, ToString) {
    EXPECT_EQ(to_string(load_problem{"a.yml", "bad", 3}), "a.yml:3: bad");
    EXPECT_EQ(to_string(load_problem{"a.yml", "bad", 0}), "a.yml: bad");
}

TEST(SigmaProblems, BadFilesAreSkippedTheOthersLoad) {
    temp_dir dir;
    const std::string first_id = "11111111-0000-0000-0000-000000000001";
    dir.write("good.yml", pipe_rule("selection:\n    PipeName: '\\good'\ncondition: selection", first_id));
    dir.write("sub/dir/also-good.yaml",
              pipe_rule("selection:\n    PipeName|endswith: 'also'\ncondition: selection",
                        "11111111-0000-0000-0000-000000000002"));
    dir.write("broken.yml", "title: broken\nlogsource:\n    category: pipe_created\ndetection:\n    s: [\n");
    dir.write("not-pipe.yml", "title: p\nlogsource:\n    category: process_creation\n"
                              "detection:\n    s:\n        Image: x\n    condition: s\n");
    dir.write("bad-regex.yml", pipe_rule("selection:\n    PipeName|re: '[z-a]'\ncondition: selection"));
    dir.write("bad-modifier.yml", pipe_rule("selection:\n    PipeName|endwith: 'x'\ncondition: selection"));
    dir.write("unknown-selection.yml", pipe_rule("selection:\n    PipeName: 'x'\ncondition: selection and filter"));
    dir.write("zz-duplicate.yml", pipe_rule("selection:\n    PipeName: '\\dup'\ncondition: selection", first_id));
    dir.write("huge.yml", std::string(max_rule_file_size + 1, '#'));
    dir.write("README.md", "not a rule");
    dir.write("notes.txt", "title: [");

    auto set = load_rules({dir.path()});
    std::vector<std::string> loaded;
    for (const auto& r : set.rules) loaded.push_back(r->file.substr(dir.path().size()));
    EXPECT_EQ(loaded, (std::vector<std::string>{"/good.yml", "/sub/dir/also-good.yaml"}));
    std::string problems;
    for (const auto& p : set.problems) problems += to_string(p) + "\n";
    EXPECT_EQ(set.problems.size(), 7u) << problems;

    auto expect_problem = [&](std::string_view file, std::string_view text) {
        const load_problem* p = find_problem(set, file);
        ASSERT_TRUE(p) << "no problem for " << file;
        EXPECT_NE(p->message.find(text), std::string::npos) << to_string(*p);
    };
    expect_problem("/broken.yml", "invalid YAML");
    expect_problem("/not-pipe.yml", "not a pipe rule");
    expect_problem("/bad-regex.yml", "invalid regular expression");
    expect_problem("/bad-modifier.yml", "unknown modifier 'endwith'");
    expect_problem("/unknown-selection.yml", "unknown selection 'filter'");
    expect_problem("/zz-duplicate.yml", "is already loaded from");
    expect_problem("/huge.yml", "larger than");
    EXPECT_GT(find_problem(set, "/broken.yml")->line, 0u);

    // The rules that loaded work.
    ASSERT_EQ(set.rules.size(), 2u);
    auto hits = matching(set, lookup(pipe("\\GOOD")));
    ASSERT_EQ(hits.size(), 1u);
    EXPECT_EQ(hits[0]->id, first_id);
    EXPECT_EQ(hits[0]->author, "npipe tests");
}

TEST(SigmaProblems, PathsFilesAndMissingOnes) {
    temp_dir dir;
    const std::string file =
        dir.write("any-name.rule", pipe_rule("selection:\n    PipeName: '\\x'\ncondition: selection"));
    auto set = load_rules({file, dir.path() + "/missing", dir.path() + "/missing.yml"});
    ASSERT_EQ(set.rules.size(), 1u); // a file named explicitly loads whatever its extension
    EXPECT_EQ(set.rules[0]->file, file);
    ASSERT_EQ(set.problems.size(), 2u);
    EXPECT_NE(set.problems[0].message.find("cannot read"), std::string::npos) << to_string(set.problems[0]);

    // The same directory twice: every rule once, the second copies are duplicates.
    auto twice = load_rules({NPIPE_SOURCE_RULES_DIR, NPIPE_SOURCE_RULES_DIR});
    EXPECT_EQ(twice.rules.size(), 20u);
    EXPECT_EQ(twice.problems.size(), 20u);
    auto none = load_rules({});
    EXPECT_TRUE(none.rules.empty() && none.problems.empty());
}

TEST(SigmaProblems, DefaultRulesDirectoryIsFound) {
    const std::string dir = default_rules_directory();
    ASSERT_FALSE(dir.empty());
    EXPECT_EQ(load_rules({dir}).rules.size(), 20u);
}

TEST(SigmaProblems, DefaultRuleObjectMatchesNothing) {
    rule r;
    EXPECT_FALSE(matches(r, lookup(pipe("\\x"))));
}

} // namespace
