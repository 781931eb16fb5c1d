// bench/report.cpp - the table, the figures below it, and the JSON (see report.hpp).
#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

#include <unistd.h>

namespace bench {
namespace {

std::string format_value(std::optional<double> v, unit u) {
    if (!v) return "FAILED";
    char b[64];
    switch (u) {
    case unit::microseconds: std::snprintf(b, sizeof b, "%.2f us", *v); break;
    case unit::mib_per_second: std::snprintf(b, sizeof b, "%.0f MiB/s", *v); break;
    case unit::per_second: std::snprintf(b, sizeof b, "%.0f /s", *v); break;
    }
    return b;
}

const char* unit_name(unit u) {
    switch (u) {
    case unit::microseconds: return "us";
    case unit::mib_per_second: return "MiB/s";
    case unit::per_second: return "1/s";
    }
    return "";
}

struct evaluated {
    std::optional<double> np, base, ratio;
    std::optional<bool> met;
};

evaluated evaluate(const row& r) {
    evaluated e{r.npipe->median(), r.baseline->median(), {}, {}};
    if (e.np && e.base && *e.base > 0) e.ratio = *e.np / *e.base;
    if (e.ratio && r.goal) e.met = r.goal->at_most ? *e.ratio <= r.goal->value : *e.ratio >= r.goal->value;
    return e;
}

/// The table's cells: a header line, then a line per row of the sections that ran.
std::vector<std::vector<std::string>> table_cells(const std::vector<row>& rows, const options& o) {
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"case", "npipe", "baseline", "ratio", "target", "met"});
    for (auto& r : rows) {
        if (!o.runs(r.section()) || r.skipped) continue;
        auto e = evaluate(r);
        char ratio[32] = "-", goal[32] = "-";
        if (e.ratio) std::snprintf(ratio, sizeof ratio, "%.2f", *e.ratio);
        if (r.goal) std::snprintf(goal, sizeof goal, "%s %.2f", r.goal->at_most ? "<=" : ">=", r.goal->value);
        std::string met = !r.goal ? "-" : !e.met ? "?" : *e.met ? "yes" : "NO";
        cells.push_back({r.label, format_value(e.np, r.u), format_value(e.base, r.u) + " (" + r.baseline_name + ")",
                         ratio, goal, met});
    }
    return cells;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char b[8];
            std::snprintf(b, sizeof b, "\\u%04x", c);
            out += b;
        } else out += c;
    }
    return out + "\"";
}

std::string json_number(std::optional<double> v) {
    if (!v || !std::isfinite(*v)) return "null";
    char b[32];
    std::snprintf(b, sizeof b, "%.6g", *v);
    return b;
}

std::string json_array(const std::vector<double>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_number(v[i]);
    return out + "]";
}

std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + json_string(v[i]);
    return out + "]";
}

/// One element of "cases" (without the separator and the line's end).
std::string json_case(const row& r) {
    auto e = evaluate(r);
    std::string s = "{\"id\": " + json_string(r.id) + ", \"label\": " + json_string(r.label) +
                    ", \"unit\": " + json_string(unit_name(r.u)) + ", \"npipe\": " + json_number(e.np) +
                    ", \"baseline\": " + json_number(e.base) + ", \"baseline_kind\": " + json_string(r.baseline_name) +
                    ", \"ratio\": " + json_number(e.ratio) + ", \"target\": ";
    if (r.goal)
        s += "{\"op\": " + json_string(r.goal->at_most ? "<=" : ">=") + ", \"value\": " + json_number(r.goal->value) +
             "}, \"met\": " + (e.met ? (*e.met ? "true" : "false") : "null");
    else
        s += "null, \"met\": null";
    auto errors = r.npipe->errors;
    errors.insert(errors.end(), r.baseline->errors.begin(), r.baseline->errors.end());
    return s + ", \"npipe_samples\": " + json_array(r.npipe->samples) +
           ", \"baseline_samples\": " + json_array(r.baseline->samples) + ", \"errors\": " + json_strings(errors) + "}";
}

/// The SMB section's line(s): why it did not run, or impacket against TCP loopback.
void print_smb(const smb_summary& s, const options& o) {
    if (!o.runs("smb")) return;
    if (!s.skipped.empty()) {
        std::printf("SMB through smbd: SKIPPED: %s\n", s.skipped.c_str());
        return;
    }
    if (!s.ran) return;
    auto ratio = [](std::optional<double> a, std::optional<double> b) { return a && b && *b > 0 ? *a / *b : 0.0; };
    std::printf("SMB through smbd (not pinned, nor its TCP baseline), impacket against TCP loopback: 64 B round "
                "trip %s / %s (%.1f), 64 KiB echo %s / %s (%.4f)\n",
                format_value(s.rt_impacket, unit::microseconds).c_str(),
                format_value(s.rt_tcp, unit::microseconds).c_str(), ratio(s.rt_impacket, s.rt_tcp), format_value(s.echo_impacket, unit::mib_per_second).c_str(),
                format_value(s.echo_tcp, unit::mib_per_second).c_str(), ratio(s.echo_impacket, s.echo_tcp));
}

} // namespace

void print_table(const std::vector<row>& rows, const options& o) {
    auto cells = table_cells(rows, o);
    std::vector<std::size_t> width(cells[0].size(), 0);
    for (auto& line : cells)
        for (std::size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
    auto print_line = [&](const std::vector<std::string>& line) {
        for (std::size_t i = 0; i < line.size(); ++i) {
            bool left = i == 0 || i == 2;
            std::printf("%s%*s%s", i ? " | " : "", left ? -static_cast<int>(width[i]) : static_cast<int>(width[i]),
                        line[i].c_str(), i + 1 == line.size() ? "\n" : "");
        }
    };
    std::printf("\nnpipe-bench: median of %d runs of ~%.2g s each; ratio = npipe / baseline\n", o.reps,
                o.run_seconds);
    int cpu = pin_cpu(o);
    if (cpu >= 0) std::printf("round trips: median per run, both processes pinned to CPU %d (--no-pin to not)\n\n", cpu);
    else std::printf("round trips: median per run, processes not pinned\n\n");
    print_line(cells[0]);
    std::size_t total = 0;
    for (auto wdt : width) total += wdt;
    std::printf("%s\n", std::string(total + 3 * (width.size() - 1), '-').c_str());
    for (std::size_t i = 1; i < cells.size(); ++i) print_line(cells[i]);
}

void print_side_figures(const side_figures& f, const options& o) {
    const broker_cpu& cpu = f.cpu;
    if (!o.runs("throughput")) {
    } else if (cpu.measured)
        std::printf("\nbroker CPU during %.0f MiB transferred: %.0f ms (broker pid %d; %u npipe connections set "
                    "up; clock tick %ld ms)\n",
                    cpu.mib, cpu.ms, static_cast<int>(cpu.pid), cpu.connections, 1000 / ::sysconf(_SC_CLK_TCK));
    else
        std::printf("\nbroker CPU during %.0f MiB transferred: not measured: %s\n", cpu.mib, cpu.note.c_str());
    if (o.runs("servers"))
        std::printf("server threads with 64 clients connected: thread per client %ld, overlapped %ld, IOCP %ld "
                    "(each with the library's reactor thread)\n",
                    f.threads.blocking, f.threads.overlapped, f.threads.port);
    if (o.runs("connections")) {
        std::printf("broker CPU per connection (scaling case, 1/2/4/8 client threads):");
        for (auto& b : f.scale_broker_us) {
            auto m = b.median();
            if (m) std::printf(" %.0f us", *m);
            else std::printf(" -");
        }
        std::printf("\n");
    }
    print_smb(f.smb, o);
    if (f.np_conn.connections)
        std::printf("npipe connections: %u, %u opens found the instance busy and waited (WaitNamedPipe)\n",
                    f.np_conn.connections, f.np_conn.busy);
    std::fflush(stdout);
}

void write_json(const std::string& file, const std::vector<row>& rows, const side_figures& f, const options& o) {
    const broker_cpu& cpu = f.cpu;
    std::ofstream out(file);
    out << "{\n  \"quick\": " << (o.quick ? "true" : "false") << ",\n  \"round_trip_pinned_cpu\": " << pin_cpu(o)
        << ",\n  \"reps\": " << o.reps
        << ",\n  \"run_seconds\": " << json_number(o.run_seconds) << ",\n  \"statistic\": \"median\",\n  \"cases\": [\n";
    for (std::size_t i = 0; i < rows.size(); ++i)
        out << "    " << json_case(rows[i]) << (i + 1 < rows.size() ? "," : "") << "\n";
    out << "  ],\n  \"broker_cpu\": {\"measured\": " << (cpu.measured ? "true" : "false")
        << ", \"pid\": " << cpu.pid << ", \"mib_transferred\": " << json_number(cpu.mib)
        << ", \"cpu_ms\": " << (cpu.measured ? json_number(cpu.ms) : "null")
        << ", \"connections\": " << cpu.connections << ", \"note\": " << json_string(cpu.note) << "},\n"
        << "  \"npipe_connections\": {\"count\": " << f.np_conn.connections
        << ", \"busy_waits\": " << f.np_conn.busy << "},\n"
        << "  \"smb\": {\"skipped\": " << (f.smb.skipped.empty() ? "null" : json_string(f.smb.skipped))
        << ", \"impacket_round_trip_us\": " << json_number(f.smb.rt_impacket)
        << ", \"tcp_round_trip_us\": " << json_number(f.smb.rt_tcp)
        << ", \"impacket_echo_mib_s\": " << json_number(f.smb.echo_impacket)
        << ", \"tcp_echo_mib_s\": " << json_number(f.smb.echo_tcp) << "}\n}\n";
    if (!out) throw std::runtime_error("cannot write " + file);
}

} // namespace bench
