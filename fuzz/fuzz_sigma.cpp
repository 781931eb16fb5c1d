// fuzz/fuzz_sigma.cpp - the Sigma rule parser (parse_rule), what it compiles, and matching.
//
// The input is a rule file. Checked for every input:
//  - parse_rule gives a rule or a problem, never both, never neither: a problem names the file,
//    says something, and points at a line of the input (or none); over-long input is refused;
//  - a rule has a title, the pipe_created category, a compiled detection and the file's name;
//  - matching it against a few events (fields absent, empty, ordinary, and the input itself as
//    every field, invalid UTF-8 and all) completes, gives the same answer twice, and agrees with
//    matching() over a set holding only that rule;
//  - the input as a Sigma string value, escaped (`\` `*` `?` preceded by `\`), compiles and
//    matches exactly itself (case-insensitively, and with windash when its dashes are swapped).
#include "fuzz_check.hpp"

#include "sigma/sigma.hpp"
#include "sigma/utf8.hpp"
#include "sigma/value_pattern.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

using namespace npipe::sigma;

namespace {

using event = std::map<std::string, std::string, std::less<>>;

field_lookup lookup(const event& e) {
    return [&e](std::string_view field) -> std::optional<std::string> {
        auto found = e.find(field);
        if (found == e.end()) return std::nullopt;
        return found->second;
    };
}

void check_matching(const std::shared_ptr<const rule>& r, const field_lookup& fields) {
    const bool first = matches(*r, fields);
    FUZZ_CHECK(matches(*r, fields) == first);
    rule_set one;
    one.rules.push_back(r);
    FUZZ_CHECK(matching(one, fields).size() == (first ? 1u : 0u));
}

void check_rule(std::string_view input) {
    load_problem problem;
    const std::string name = "fuzz.yml";
    auto r = parse_rule(input, name, problem);
    FUZZ_CHECK(problem.file == name);
    if (!r) {
        FUZZ_CHECK(!problem.message.empty());
        const auto lines = static_cast<std::size_t>(std::count(input.begin(), input.end(), '\n'));
        FUZZ_CHECK(problem.line <= lines + 2);
        return;
    }
    FUZZ_CHECK(problem.message.empty());
    FUZZ_CHECK(input.size() <= max_rule_file_size);
    FUZZ_CHECK(!r->title.empty());
    FUZZ_CHECK(r->category == pipe_category);
    FUZZ_CHECK(r->detection != nullptr);
    FUZZ_CHECK(r->file == name);

    // As long as a pipe name can be (256 UTF-16 units, up to 1 KiB of UTF-8): longer text only
    // makes each run slower (RE2 builds DFA states per input byte), not different.
    const std::string text(input.substr(0, 1024));
    const event events[] = {
        {},
        {{"PipeName", ""}, {"Image", ""}},
        {{"PipeName", "\\wkssvc"}, {"Image", "C:\\Windows\\System32\\svchost.exe"}},
        {{"PipeName", "\\PSHost.1.2.DefaultAppDomain.x"}, {"Image", "/usr/bin/pwsh"}},
    };
    for (const auto& e : events) check_matching(r, lookup(e));
    // Every field the rule asks for holds the input.
    check_matching(r, [&](std::string_view) -> std::optional<std::string> { return text; });
}

void check_value(std::string_view input) {
    const std::string value = npipe::sigma::detail::to_valid_utf8(input.substr(0, 1024));
    std::string escaped;
    for (char c : value) {
        if (c == '\\' || c == '*' || c == '?') escaped += '\\';
        escaped += c;
    }
    using npipe::sigma::detail::string_position;
    std::string error;
    npipe::sigma::detail::pattern_compiler compiler;
    for (bool windash : {false, true}) {
        const auto re = compiler.compile(
            npipe::sigma::detail::sigma_string_pattern(escaped, string_position::whole, windash), {}, error);
        if (!re) continue; // too large for max_regex_memory: refused, not mismatched
        FUZZ_CHECK(RE2::FullMatch(value, *re));
        FUZZ_CHECK(RE2::PartialMatch(value, *re));
        if (windash) {
            std::string swapped = value;
            std::replace(swapped.begin(), swapped.end(), '-', '/');
            FUZZ_CHECK(RE2::FullMatch(swapped, *re));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_rule(input);
    check_value(input);
    return 0;
}
