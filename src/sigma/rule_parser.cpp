// rule_parser.cpp - one rule file's YAML to a rule: its metadata, its log source (pipe_created
// only) and its compiled detection. Every refusal becomes a load_problem.
#include "sigma/detection.hpp"
#include "sigma/rule_error.hpp"
#include "sigma/sigma.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstddef>
#include <sstream>

namespace npipe::sigma {

namespace {

using detail::line_of;
using detail::rule_error;

// A text attribute; empty when absent or null. An `author` given as a list is joined.
std::string text_attribute(const YAML::Node& root, const char* key) {
    const YAML::Node n = root[key];
    if (!n.IsDefined() || n.IsNull()) return {};
    if (n.IsScalar()) return n.Scalar();
    if (!n.IsSequence()) throw rule_error(std::string("'") + key + "' must be a string", line_of(n));
    std::string joined;
    for (const auto& item : n) {
        if (!item.IsScalar())
            throw rule_error(std::string("'") + key + "' must be a string or a list of strings",
                             line_of(item));
        if (!joined.empty()) joined += ", ";
        joined += item.Scalar();
    }
    return joined;
}

std::vector<std::string> list_attribute(const YAML::Node& root, const char* key) {
    const YAML::Node n = root[key];
    std::vector<std::string> out;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (n.IsScalar()) {
        out.push_back(n.Scalar());
        return out;
    }
    if (!n.IsSequence()) throw rule_error(std::string("'") + key + "' must be a list of strings", line_of(n));
    for (const auto& item : n) {
        if (!item.IsScalar())
            throw rule_error(std::string("'") + key + "' must be a list of strings", line_of(item));
        out.push_back(item.Scalar());
    }
    return out;
}

// The 1-based line where a second, non-empty YAML document starts; 0 when there is none.
std::size_t second_document_line(const std::string& text) {
    // Records where the first node of a document is; a document of nothing but a null is empty.
    struct first_node : YAML::EventHandler {
        int line = -1;
        void note(const YAML::Mark& mark) {
            if (line < 0) line = mark.line < 0 ? 0 : mark.line;
        }
        void OnDocumentStart(const YAML::Mark&) override {}
        void OnDocumentEnd() override {}
        void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
        void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { note(mark); }
        void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
            note(mark);
        }
        void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                             YAML::EmitterStyle::value) override {
            note(mark);
        }
        void OnSequenceEnd() override {}
        void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                        YAML::EmitterStyle::value) override {
            note(mark);
        }
        void OnMapEnd() override {}
    };
    std::istringstream in(text);
    YAML::Parser parser(in);
    first_node first, second;
    if (!parser.HandleNextDocument(first) || !parser.HandleNextDocument(second)) return 0;
    return second.line < 0 ? 0 : static_cast<std::size_t>(second.line) + 1;
}

rule build_rule(std::string_view yaml, const std::string& file) {
    if (yaml.size() > max_rule_file_size)
        throw rule_error("the file is " + std::to_string(yaml.size()) + " bytes; a rule file may have at most " +
                         std::to_string(max_rule_file_size));
    // YAML text has no NUL characters; yaml-cpp would silently stop reading at one.
    if (const std::size_t nul = yaml.find('\0'); nul != std::string_view::npos) {
        const std::string_view before = yaml.substr(0, nul);
        throw rule_error("the file contains a NUL byte (it is not YAML text)",
                         static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1);
    }
    const std::string text(yaml);
    // The first document only: YAML::LoadAll can loop forever on some malformed input (a
    // stray ',' at the top level), so a second document is looked for separately.
    const YAML::Node root = YAML::Load(text);
    if (!root.IsDefined() || root.IsNull()) throw rule_error("the file holds no rule");
    if (const std::size_t second = second_document_line(text); second != 0)
        throw rule_error("the file holds more than one YAML document; rule collections are not supported",
                         second);
    if (!root.IsMap()) throw rule_error("a rule must be a YAML map", line_of(root));

    rule r;
    r.file = file;
    const YAML::Node logsource = root["logsource"];
    if (!logsource.IsDefined() || !logsource.IsMap())
        throw rule_error("not a pipe rule: it has no 'logsource' (only 'pipe_created' rules are loaded)",
                         logsource.IsDefined() ? line_of(logsource) : 0);
    r.category = text_attribute(logsource, "category");
    if (r.category != pipe_category)
        throw rule_error(r.category.empty()
                             ? "not a pipe rule: 'logsource' has no 'category' (only 'pipe_created' rules are loaded)"
                             : "not a pipe rule: logsource.category is " + detail::quoted(r.category) +
                                   " (only 'pipe_created' rules are loaded)",
                         line_of(logsource));

    r.title = text_attribute(root, "title");
    if (r.title.empty()) throw rule_error("the rule has no 'title'");
    r.id = text_attribute(root, "id");
    r.author = text_attribute(root, "author");
    r.level = text_attribute(root, "level");
    r.status = text_attribute(root, "status");
    r.description = text_attribute(root, "description");
    r.tags = list_attribute(root, "tags");
    r.references = list_attribute(root, "references");

    const YAML::Node detection = root["detection"];
    if (!detection.IsDefined()) throw rule_error("the rule has no 'detection'");
    r.detection = std::make_shared<const detail::detection>(detail::compile_detection(detection));
    return r;
}

} // namespace

std::string to_string(const load_problem& problem) {
    std::string s = problem.file;
    if (problem.line != 0) s += ":" + std::to_string(problem.line);
    return s + ": " + problem.message;
}

std::shared_ptr<const rule> parse_rule(std::string_view yaml, const std::string& file,
                                       load_problem& problem) {
    problem = load_problem{file, {}, 0};
    try {
        return std::make_shared<const rule>(build_rule(yaml, file));
    } catch (const rule_error& e) {
        problem.message = e.what();
        problem.line = e.line();
    } catch (const YAML::Exception& e) {
        // ParserException (bad syntax, nesting past yaml-cpp's depth limit) and the rest.
        problem.message = "invalid YAML: " + (e.msg.empty() ? std::string(e.what()) : e.msg);
        if (!e.mark.is_null() && e.mark.line >= 0) problem.line = static_cast<std::size_t>(e.mark.line) + 1;
    }
    return nullptr;
}

} // namespace npipe::sigma
