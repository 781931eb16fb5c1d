// rule_loader.cpp - load_rules: rule files from directories and files, each parsed on its own
// so that one bad file costs only itself.
#include "sigma/sigma.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>

namespace npipe::sigma {

namespace {

namespace fs = std::filesystem;

bool has_rule_extension(const fs::path& p) {
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return ext == ".yml" || ext == ".yaml";
}

// The file's text, at most max_rule_file_size bytes; nullopt with `problem` set otherwise.
// Only regular files are opened (a FIFO named *.yml would block the loader).
std::optional<std::string> read_rule_file(const fs::path& path, load_problem& problem) {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec) {
        problem.message = "cannot read: " + ec.message();
        return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
        problem.message = "not a regular file";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        problem.message = "cannot open the file";
        return std::nullopt;
    }
    std::string text(max_rule_file_size + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) {
        problem.message = "cannot read the file";
        return std::nullopt;
    }
    text.resize(static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_rule_file_size) {
        problem.message = "the file is larger than " + std::to_string(max_rule_file_size) +
                          " bytes, the limit for a rule file";
        return std::nullopt;
    }
    return text;
}

// The rule files a path names: itself if it is not a directory, else every *.yml/*.yaml below
// it (symbolic links to directories are not followed), sorted.
std::vector<fs::path> rule_files(const fs::path& root, std::vector<load_problem>& problems) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
        files.push_back(root); // read_rule_file reports what is wrong with it, if anything
        return files;
    }
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    const fs::recursive_directory_iterator end;
    if (ec) {
        problems.push_back({root.string(), "cannot list the directory: " + ec.message(), 0});
        return files;
    }
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        std::error_code type_ec;
        if (!it->is_directory(type_ec) && has_rule_extension(it->path())) files.push_back(it->path());
    }
    if (ec) problems.push_back({root.string(), "cannot list the directory: " + ec.message(), 0});
    std::sort(files.begin(), files.end());
    return files;
}

} // namespace

rule_set load_rules(const std::vector<std::string>& paths) {
    rule_set set;
    std::map<std::string, std::string> id_files; // rule id -> the file that defined it first
    for (const std::string& path : paths) {
        for (const fs::path& file : rule_files(path, set.problems)) {
            load_problem problem{file.string(), {}, 0};
            const std::optional<std::string> text = read_rule_file(file, problem);
            if (!text) {
                set.problems.push_back(std::move(problem));
                continue;
            }
            auto r = parse_rule(*text, file.string(), problem);
            if (!r) {
                set.problems.push_back(std::move(problem));
                continue;
            }
            if (!r->id.empty()) {
                auto [at, inserted] = id_files.emplace(r->id, r->file);
                if (!inserted) {
                    set.problems.push_back({r->file, "rule id " + r->id + " is already loaded from " +
                                                         at->second + "; this copy is skipped", 0});
                    continue;
                }
            }
            set.rules.push_back(std::move(r));
        }
    }
    return set;
}

} // namespace npipe::sigma
