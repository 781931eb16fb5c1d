// bench/soak_report.cpp - statistics, and the report as a table and as JSON.
#include "soak.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>

namespace soak {

std::optional<double> percentile(std::vector<double> samples, double p) {
    if (samples.empty()) return std::nullopt;
    std::sort(samples.begin(), samples.end());
    // nearest rank: the smallest sample with at least p% of the samples at or below it
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(samples.size())));
    return samples[std::clamp<std::size_t>(rank, 1, samples.size()) - 1];
}

std::optional<double> median(const std::vector<double>& samples) { return percentile(samples, 50); }

std::optional<double> maximum(const std::vector<double>& samples) {
    if (samples.empty()) return std::nullopt;
    return *std::max_element(samples.begin(), samples.end());
}

std::optional<double> minimum(const std::vector<double>& samples) {
    if (samples.empty()) return std::nullopt;
    return *std::min_element(samples.begin(), samples.end());
}

namespace {

/// A scenario's heading in the table (figures carry the short name, as the JSON does).
std::string title_of(const std::string& scenario) {
    static const std::map<std::string, std::string> titles = {
        {"flood", "flood from uid 65534 (system scope): root's CreateFile + 64 B round trip + CloseHandle"},
        {"footprint", "footprint: the user-scope broker, /proc/PID/fd, VmRSS, Pss (smaps_rollup)"},
        {"held", "held connections: 1,000 at once, message mode, every byte and size checked"},
        {"restart", "restart: SIGKILL of the user-scope broker under 1,000 listening instances"},
    };
    auto it = titles.find(scenario);
    return it == titles.end() ? scenario : it->second;
}

std::string format_number(double v) {
    char b[64];
    double a = std::fabs(v);
    if (a == std::floor(a) && a < 1e15) std::snprintf(b, sizeof b, "%.0f", v);
    else if (a >= 100) std::snprintf(b, sizeof b, "%.0f", v);
    else if (a >= 10) std::snprintf(b, sizeof b, "%.1f", v);
    else if (a >= 0.1) std::snprintf(b, sizeof b, "%.2f", v);
    else std::snprintf(b, sizeof b, "%.3f", v);
    return b;
}

std::string format_value(const std::optional<double>& v, const std::string& unit) {
    if (!v) return "-";
    return unit.empty() ? format_number(*v) : format_number(*v) + " " + unit;
}

std::vector<std::string> cells_of(const figure& f) {
    std::string base = f.baseline ? format_value(f.baseline, f.unit) + " (" + f.baseline_label + ")" : "-";
    char ratio[32] = "-";
    if (auto q = f.ratio()) std::snprintf(ratio, sizeof ratio, "%.2f", *q);
    return {f.label, format_value(f.value, f.unit), base, ratio, f.note};
}

void print_section(const std::string& scenario, const std::vector<figure>& figures) {
    std::vector<std::vector<std::string>> rows{{"figure", "value", "baseline (same run)", "ratio", "note"}};
    for (const auto& f : figures)
        if (f.scenario == scenario) rows.push_back(cells_of(f));
    if (rows.size() == 1) return;
    std::vector<std::size_t> width(rows[0].size(), 0);
    for (const auto& row : rows)
        for (std::size_t i = 0; i + 1 < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    std::printf("\n%s\n", title_of(scenario).c_str());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        const auto& row = rows[r];
        std::string line = "  ";
        for (std::size_t i = 0; i < row.size(); ++i) {
            bool left = i == 0 || i == 2 || i == 4;
            std::string cell = row[i];
            if (i + 1 < row.size() && cell.size() < width[i])
                cell = left ? cell + std::string(width[i] - cell.size(), ' ') : std::string(width[i] - cell.size(), ' ') + cell;
            line += (i ? "  " : "") + cell;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
        if (r == 0) std::printf("  %s\n", std::string(line.size() - 2, '-').c_str());
    }
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += b;
        } else out += c;
    }
    return out + "\"";
}

std::string json_number(const std::optional<double>& v) {
    if (!v || !std::isfinite(*v)) return "null";
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", *v);
    return b;
}

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
    return out + "]";
}

} // namespace

void print_report(const report& r, const options& o, double total_seconds) {
    std::printf("\nnpipe-soak%s: %d pipes x %d instances; figures beside a baseline measured in this run; "
                "ratio = value / baseline\n",
                o.quick ? " --quick" : "", pipe_count, instances_per_pipe);
    std::vector<std::string> order;
    for (const auto& f : r.figures)
        if (std::find(order.begin(), order.end(), f.scenario) == order.end()) order.push_back(f.scenario);
    for (const auto& s : order) print_section(s, r.figures);
    if (!r.notes.empty()) std::printf("\n");
    for (const auto& n : r.notes) std::printf("note: %s\n", n.c_str());
    for (const auto& p : r.problems) std::printf("PROBLEM: %s\n", p.c_str());
    std::printf("\nnpipe-soak: %.0f s in all\n", total_seconds);
    std::fflush(stdout);
}

void write_json(const std::string& file, const report& r, const options& o, double total_seconds) {
    std::ofstream f(file);
    f << "{\n  \"quick\": " << (o.quick ? "true" : "false") << ",\n  \"echo_mib\": " << o.echo_mib
      << ",\n  \"kills\": " << o.kills << ",\n  \"root_iterations\": " << o.root_iterations
      << ",\n  \"flood_rounds\": " << o.flood_rounds << ",\n  \"instances\": " << total_instances
      << ",\n  \"total_seconds\": " << json_number(total_seconds) << ",\n  \"figures\": [\n";
    for (std::size_t i = 0; i < r.figures.size(); ++i) {
        const auto& x = r.figures[i];
        f << "    {\"scenario\": " << json_string(x.scenario) << ", \"id\": " << json_string(x.id)
          << ", \"label\": " << json_string(x.label) << ", \"value\": " << json_number(x.value)
          << ", \"unit\": " << json_string(x.unit) << ", \"baseline\": " << json_number(x.baseline)
          << ", \"baseline_label\": " << json_string(x.baseline_label) << ", \"ratio\": " << json_number(x.ratio())
          << ", \"note\": " << json_string(x.note) << "}" << (i + 1 < r.figures.size() ? "," : "") << "\n";
    }
    f << "  ],\n  \"notes\": " << json_strings(r.notes) << ",\n  \"problems\": " << json_strings(r.problems) << "\n}\n";
    if (!f) throw std::runtime_error("cannot write " + file);
}

} // namespace soak
