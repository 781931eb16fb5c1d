// npipe rules list | test: the Sigma rules the broker would load, and which of them a pipe name
// (and an image) would trigger - without a broker.
#include "rules_cmd.hpp"

#include "commands.hpp"
#include "output.hpp"

#include <npipe/event_fields.hpp>
#include <npipe/pipe_name.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace npipe::cli {

sigma::rule_set load_rule_set(const std::vector<std::string>& dirs, bool no_default) {
    std::vector<std::string> paths;
    if (!no_default) {
        std::string dir = sigma::default_rules_directory();
        if (dir.empty()) std::fprintf(stderr, "npipe: the default Sigma rules are not installed\n");
        else paths.push_back(dir);
    }
    paths.insert(paths.end(), dirs.begin(), dirs.end());
    auto set = sigma::load_rules(paths);
    for (const auto& p : set.problems) std::fprintf(stderr, "npipe: rule skipped: %s\n", sigma::to_string(p).c_str());
    return set;
}

/// Sysmon's PipeName for what the user typed: `\\.\pipe\NAME`, `NAME` or `\NAME` -> `\NAME`.
std::string sysmon_name_of(const std::string& typed) {
    if (!typed.empty() && typed[0] == '\\' && (typed.size() < 2 || typed[1] != '\\')) return typed;
    std::error_code ec;
    auto parsed = parse_pipe_name(expand_pipe_name(typed), ec);
    return "\\" + (parsed ? parsed->name : typed);
}

namespace {

nlohmann::json rule_json(const sigma::rule& r) {
    return {{"title", r.title}, {"id", r.id},     {"author", r.author}, {"level", r.level},
            {"status", r.status}, {"file", r.file}, {"tags", r.tags}};
}

struct rules_args {
    std::vector<std::string> dirs;
    bool no_default = false;
    bool json = false;
    std::string name;
    std::string image;
};

int run_rules_list(const rules_args& a) {
    auto set = load_rule_set(a.dirs, a.no_default);
    if (a.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& r : set.rules) out.push_back(rule_json(*r));
        return print_json(out);
    }
    if (set.rules.empty()) std::printf("(no rules)\n");
    for (const auto& r : set.rules)
        std::printf("%-9s %s\n          id %s, by %s\n          %s\n", r->level.c_str(), r->title.c_str(), r->id.c_str(),
                    r->author.c_str(), r->file.c_str());
    return exit_ok;
}

int run_rules_test(const rules_args& a) {
    auto set = load_rule_set(a.dirs, a.no_default);
    std::string pipe = sysmon_name_of(a.name);
    auto hits = sigma::matching(set, [&](std::string_view field) -> std::optional<std::string> {
        if (field == event_field::pipe_name) return pipe;
        if (field == event_field::image && !a.image.empty()) return a.image;
        if (field == "EventID") return "17";
        if (field == event_field::event_type) return event_type::create_pipe;
        return std::nullopt;
    });
    if (a.json) {
        nlohmann::json out = {{event_field::pipe_name, pipe}, {event_field::image, a.image}, {"matches", nlohmann::json::array()}};
        for (const auto& r : hits) out["matches"].push_back(rule_json(*r));
        if (print_json(out) != exit_ok) return exit_failure;
    } else if (hits.empty()) {
        std::printf("%s: no rule matches (%zu rules)\n", pipe.c_str(), set.rules.size());
    } else {
        for (const auto& r : hits)
            std::printf("%s: %s rule \"%s\" (%s) by %s\n", pipe.c_str(), r->level.c_str(), r->title.c_str(),
                        r->id.c_str(), r->author.c_str());
    }
    return hits.empty() ? exit_failure : exit_ok;
}

} // namespace

runner setup_rules(CLI::App& sub, context& ctx) {
    auto a = std::make_shared<rules_args>();
    add_endpoint_options(sub, ctx);
    sub.require_subcommand(1);
    auto common = [&](CLI::App& s) {
        s.add_option("--rules", a->dirs, "Also load rules from DIR (repeatable)")->type_name("DIR");
        s.add_flag("--no-default-rules", a->no_default, "Leave out the SigmaHQ rules shipped with npipe");
        s.add_flag("--json", a->json, "Print JSON");
    };
    CLI::App* list = sub.add_subcommand("list", "List the rules: level, title, id, author, file");
    common(*list);
    CLI::App* test = sub.add_subcommand("test", "Show which rules a pipe would trigger (exit 0: some, 1: none)");
    common(*test);
    test->add_option("NAME", a->name, "Pipe name: \\\\.\\pipe\\NAME, NAME or \\NAME")->required();
    test->add_option("--image", a->image, "The creating program's path (the rules' Image field)")->type_name("PATH");
    sub.footer("Rules are SigmaHQ YAML rules of the pipe_created category; the default set is SigmaHQ's, under\n"
               "the Detection Rule License 1.1 (each match names the rule's author). A rule file that does not\n"
               "load is named on stderr and skipped.");
    return [a, list] { return list->parsed() ? run_rules_list(*a) : run_rules_test(*a); };
}

} // namespace npipe::cli
