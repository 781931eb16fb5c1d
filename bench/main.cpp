// bench/main.cpp - npipe-bench: npipe against plain AF_UNIX sockets, each case between two
// processes (the peer is this binary re-executed, see peers.cpp).
//
//   npipe-bench [--quick] [--reps N] [--time SECONDS] [--json FILE] [--no-pin] [--only SECTION]
//
// Cases: 64-byte round trip, one-way throughput (4 KiB and 64 KiB writes), connections per
// second, 64 clients at once against Win32 echo servers: overlapped I/O on one thread and a
// completion port with 2 threads against blocking calls with a thread per client, and npipe's
// SMB client through a private smbd on loopback beside impacket and plain TCP loopback. Every
// case runs several short times, npipe and baseline interleaved (the order flips every
// repetition), and the table shows the median of the runs. A round-trip run's value is its
// median round trip; a throughput run's is bytes over time from the first read to the end of the
// stream (an SMB echo run's: payload echoed over time); a connection run's is connections over
// time. Exit status: 0 when every case produced a number (targets missed or not; a section that
// cannot run here says so and is skipped), 1 when a run failed, 2 for bad usage, 3 when npipe's
// SMB client lost to impacket (not with --quick).
//
// This file runs the sections in order and builds the table's rows; the cases are in
// cases_*.cpp (declared in cases.hpp), the table and the JSON in report.cpp.
#include "async_echo.hpp"
#include "cases.hpp"
#include "common.hpp"
#include "connection_floors.hpp"
#include "connection_scaling.hpp"
#include "measure.hpp"
#include "options.hpp"
#include "report.hpp"
#include "smb_fixture.hpp"
#include "win32_connections.hpp"
#include "workspace.hpp"

#include <npipe/namespace.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <signal.h>

namespace bench {
namespace {

/// Every case's runs, in the order of the sections, and the figures shown below the table.
struct results {
    series rt_byte, rt_msg, rt_sp, rt_sp_framed, rt_win32;
    series tp_byte[2], tp_msg[2], tp_sp[2]; // 4 KiB, 64 KiB writes
    series srv_rt[3], srv_tp[3];            // blocking (thread per client), overlapped, completion port
    series srv_floor_rt[3], srv_floor_tp[3]; // bare sockets: a thread per client, epoll on 1 and 2 threads
    series scale_np[4], scale_unix[4];      // 1, 2, 4, 8 client threads
    series cr_np, cr_sock, cr_win32, cr_win32_flush, create_close, open_close, unix_cc;
    series floor_broker, floor_direct; // the designs' floors for cr_np, with bare sockets
    series floor_registry;             // and for create_close
    series ae_np, ae_asio;
    series smb_rt_np, smb_rt_impacket, smb_rt_tcp, smb_echo_np, smb_echo_impacket, smb_echo_tcp;
    side_figures side;
};

constexpr std::size_t chunks[2] = {4096, 65536};
constexpr std::size_t smb_chunk = 65536; // one SMB2 WRITE and READ each way on a byte pipe

void run_round_trips(const workspace& w, const options& o, results& r) {
    if (!o.runs("round-trip")) return;
    run_section("round trip, 64 B",
                {{&r.rt_byte, "round trip npipe byte", [&] { return round_trip_npipe(w, o, false); }},
                 {&r.rt_msg, "round trip npipe message", [&] { return round_trip_npipe(w, o, true); }},
                 {&r.rt_sp, "round trip socketpair", [&] { return round_trip_socketpair(o, false); }},
                 {&r.rt_sp_framed, "round trip socketpair framed", [&] { return round_trip_socketpair(o, true); }},
                 {&r.rt_win32, "round trip Win32 C API byte", [&] { return round_trip_win32(o); }}},
                o);
}

/// The broker's pid and CPU time now (nothing when it is not found; `ec` says why, if it does).
std::optional<double> broker_cpu_ms(const workspace& w, pid_t& pid, std::error_code& ec) {
    auto st = npipe::get_broker_status(w.ep, ec);
    pid = st.pid;
    return ec ? std::nullopt : process_cpu_ms(st.pid);
}

// Data flows over the connection itself, not through the broker: its CPU time must not grow
// with the bytes moved (it only sees one connection set up per npipe run).
void run_throughput(const workspace& w, const options& o, results& r) {
    double npipe_bytes = 0;
    std::error_code ec;
    pid_t before_pid = 0, after_pid = 0;
    auto before_ms = broker_cpu_ms(w, before_pid, ec);
    for (int i = 0; i < 2 && o.runs("throughput"); ++i) {
        std::string kib = std::to_string(chunks[i] / 1024) + " KiB";
        run_section(("throughput, " + kib + " writes").c_str(),
                    {{&r.tp_byte[i], "throughput npipe byte " + kib,
                      [&, i] { return throughput_npipe(w, o, false, chunks[i], npipe_bytes); }},
                     {&r.tp_msg[i], "throughput npipe message " + kib,
                      [&, i] { return throughput_npipe(w, o, true, chunks[i], npipe_bytes); }},
                     {&r.tp_sp[i], "throughput socketpair " + kib, [&, i] { return throughput_socketpair(o, chunks[i]); }}},
                    o);
    }
    auto after_ms = broker_cpu_ms(w, after_pid, ec);
    broker_cpu& cpu = r.side.cpu;
    cpu.mib = npipe_bytes / (1024.0 * 1024.0);
    cpu.connections = static_cast<unsigned>(r.tp_byte[0].samples.size() + r.tp_byte[1].samples.size() +
                                            r.tp_msg[0].samples.size() + r.tp_msg[1].samples.size());
    if (!before_ms || !after_ms) {
        cpu.note = "broker not found (" + (ec ? ec.message() : std::string("no /proc entry")) + ")";
    } else if (before_pid != after_pid) {
        cpu.note = "the broker changed (pid " + std::to_string(before_pid) + " -> " + std::to_string(after_pid) + ")";
    } else {
        cpu.measured = true;
        cpu.pid = after_pid;
        cpu.ms = *after_ms - *before_ms;
    }
}

void run_servers(const workspace& w, const options& o, results& r) {
    const char* kinds[3] = {"srv-threads", "srv-overlapped", "srv-iocp"};
    server_threads& threads = r.side.threads;
    long* counts[3] = {&threads.blocking, &threads.overlapped, &threads.port};
    for (int latency = 1; latency >= 0 && o.runs("servers"); --latency) {
        std::vector<variant> vs;
        std::size_t message = latency ? 64 : 4096;
        for (int k = 0; k < 3; ++k)
            vs.push_back({latency ? &r.srv_rt[k] : &r.srv_tp[k], std::string(kinds[k]) + (latency ? " 64 B" : " 4 KiB"),
                          [&, k, latency, message] { return echo_run(o, kinds[k], message, latency, *counts[k]); }});
        for (int k = 0; k < 3; ++k)
            vs.push_back({latency ? &r.srv_floor_rt[k] : &r.srv_floor_tp[k],
                          "floor-echo " + std::to_string(k) + (latency ? " 64 B" : " 4 KiB"),
                          [&, k, latency, message] { return echo_floor_run(w, o, k, message, latency); }});
        run_section(latency ? "servers, 64 clients, 64 B round trips" : "servers, 64 clients, 4 KiB echoes", vs, o);
    }
}

// Scaling: 1, 2, 4 and 8 client threads against 8 instances; the broker's CPU per connection.
void run_scaling(const workspace& w, const options& o, results& r) {
    const unsigned scaling_clients[4] = {1, 2, 4, 8};
    for (int i = 0; i < 4 && o.runs("connections"); ++i) {
        unsigned n = scaling_clients[i];
        run_section(("connections, " + std::to_string(n) + " client thread(s), 8 instances").c_str(),
                    {{&r.scale_np[i], "scaling npipe " + std::to_string(n),
                      [&, i, n] { return scaling_npipe(w, o, n, r.side.scale_broker_us[i]); }},
                     {&r.scale_unix[i], "scaling unix socket " + std::to_string(n),
                      [&, n] { return connections_scaling_unix(w.sock.string(), n, o.run_seconds); }}},
                    o);
    }
}

void run_connections(const workspace& w, const options& o, results& r) {
    if (!o.runs("connections")) return;
    run_section("connections per second",
                {{&r.cr_np, "connections npipe", [&] { return connections_npipe(w, o, r.side.np_conn); }},
                 {&r.cr_sock, "connections unix socket", [&] { return connections_socket(w, o); }},
                 {&r.cr_win32, "connections Win32 instance per client",
                  [&] { return connections_win32(unique_pipe_name("ipc"), o.run_seconds, false); }},
                 {&r.cr_win32_flush, "connections Win32 instance per client, FlushFileBuffers",
                  [&] { return connections_win32(unique_pipe_name("ipcf"), o.run_seconds, true); }},
                 {&r.create_close, "CreateNamedPipe + CloseHandle",
                  [&] { return instance_create_close(unique_pipe_name("cc"), o.run_seconds); }},
                 {&r.open_close, "CreateFile + CloseHandle",
                  [&] { return open_close_win32(unique_pipe_name("oc"), o.run_seconds); }},
                 {&r.unix_cc, "unix socket connect + accept + close",
                  [&] { return unix_connect_close(w.sock.string(), o.run_seconds); }},
                 {&r.floor_broker, "floor of a broker hand-off", [&] { return connections_floor_broker(w, o); }},
                 {&r.floor_direct, "floor of a direct connection", [&] { return connections_floor_direct(w, o); }},
                 {&r.floor_registry, "floor of registering an instance",
                  [&] { return instance_floor_registry(w, o); }}},
                o);
}

void run_async(const workspace& w, const options& o, results& r) {
    constexpr int async_clients = 8;
    if (!o.runs("async")) return;
    run_section("async echo server, one io_context thread, 8 clients x 64 B round trips",
                {{&r.ae_np, "async echo npipe", [&] { return async_echo_npipe(w.ep, o.run_seconds, async_clients); }},
                 {&r.ae_asio, "async echo asio unix socket",
                  [&] { return async_echo_asio((w.root / "asio-echo.sock").string(), o.run_seconds, async_clients); }}},
                o);
}

/// Through smbd on loopback (cases_smb.cpp), when smbd, impacket and root are there; otherwise
/// the reason goes into r.side.smb.skipped, is said at once and again below the table.
void run_smb_cases(const options& o, results& r) {
    smb_fixture f(std::chrono::seconds(120));
    if (!f.skipped().empty()) {
        r.side.smb.skipped = f.skipped();
        std::fprintf(stderr, "npipe-bench: SMB section skipped: %s\n", f.skipped().c_str());
        return;
    }
    smb_log_in(f);
    std::string kib = std::to_string(smb_chunk / 1024) + " KiB";
    run_section("through smbd on loopback: 64 B round trips",
                {{&r.smb_rt_np, "SMB round trip npipe", [&] { return smb_round_trip_npipe(f, o); }},
                 {&r.smb_rt_impacket, "SMB round trip impacket", [&] { return smb_round_trip_impacket(f, o); }},
                 {&r.smb_rt_tcp, "round trip TCP loopback", [&] { return tcp_round_trip(o); }}},
                o);
    run_section(("through smbd on loopback: " + kib + " echoes").c_str(),
                {{&r.smb_echo_np, "SMB echo npipe " + kib, [&] { return smb_echo_npipe(f, o, smb_chunk); }},
                 {&r.smb_echo_impacket, "SMB echo impacket " + kib,
                  [&] { return smb_echo_impacket(f, o, smb_chunk); }},
                 {&r.smb_echo_tcp, "echo TCP loopback " + kib, [&] { return tcp_echo_rate(o, smb_chunk); }}},
                o);
    smb_log_out();
    smb_summary& s = r.side.smb;
    s.ran = true;
    s.rt_impacket = r.smb_rt_impacket.median(), s.rt_tcp = r.smb_rt_tcp.median();
    s.echo_impacket = r.smb_echo_impacket.median(), s.echo_tcp = r.smb_echo_tcp.median();
}

void run_smb(const options& o, results& r) {
    if (!o.runs("smb")) return;
    std::fprintf(stderr, "npipe-bench: SMB section: setting up a private smbd, broker and echo servers "
                         "(or saying why not)\n");
    try {
        run_smb_cases(o, r);
    } catch (const std::exception& e) { // the set-up or the log-in: every SMB case fails
        std::fprintf(stderr, "npipe-bench: SMB section failed: %s\n", e.what());
        for (auto* s : {&r.smb_rt_np, &r.smb_rt_impacket, &r.smb_rt_tcp, &r.smb_echo_np, &r.smb_echo_impacket,
                        &r.smb_echo_tcp})
            s->errors.push_back(e.what());
    }
}

/// The table, in its order: each npipe case beside its baseline, with its target if it has one.
std::vector<row> table_rows(const results& r) {
    const bool smb_skipped = !r.side.smb.skipped.empty();
    return {
        {"round_trip_byte", "round trip 64 B, byte mode", unit::microseconds, &r.rt_byte, &r.rt_sp, "socketpair",
         target{true, 1.1}},
        {"round_trip_message", "round trip 64 B, message mode", unit::microseconds, &r.rt_msg, &r.rt_sp, "socketpair",
         target{true, 1.1}},
        {"round_trip_message_floor", "round trip 64 B, message mode vs the framing floor", unit::microseconds, &r.rt_msg,
         &r.rt_sp_framed, "socketpair, 4-byte length + payload", std::nullopt},
        {"round_trip_win32", "round trip 64 B, byte mode, Win32 C API", unit::microseconds, &r.rt_win32, &r.rt_byte,
         "C++ API", target{true, 1.1}},
        {"throughput_4k_byte", "throughput 4 KiB writes, byte mode", unit::mib_per_second, &r.tp_byte[0], &r.tp_sp[0],
         "socketpair", std::nullopt},
        {"throughput_4k_message", "throughput 4 KiB writes, message mode", unit::mib_per_second, &r.tp_msg[0],
         &r.tp_sp[0], "socketpair", std::nullopt},
        {"throughput_64k_byte", "throughput 64 KiB writes, byte mode", unit::mib_per_second, &r.tp_byte[1],
         &r.tp_sp[1], "socketpair", target{false, 0.9}},
        {"throughput_64k_message", "throughput 64 KiB writes, message mode", unit::mib_per_second, &r.tp_msg[1],
         &r.tp_sp[1], "socketpair", target{false, 0.9}},
        {"connections", "connect + 64 B round trip + close, one instance reused", unit::per_second, &r.cr_np,
         &r.cr_sock, "unix socket", target{false, 0.7}},
        {"connections_floor_broker", "the same with bare sockets, a broker handing over", unit::per_second,
         &r.floor_broker, &r.cr_sock, "unix socket", std::nullopt},
        {"connections_vs_broker_floor", "the same, npipe vs that broker floor", unit::per_second, &r.cr_np,
         &r.floor_broker, "bare sockets, broker hand-off", std::nullopt},
        {"connections_floor_direct", "the same with bare sockets, direct, 1-byte answer", unit::per_second,
         &r.floor_direct, &r.cr_sock, "unix socket", std::nullopt},
        {"connections_win32", "the same, Win32, a new instance per client", unit::per_second, &r.cr_win32, &r.cr_sock,
         "unix socket", target{false, 0.5}},
        {"connections_win32_flush", "the same, FlushFileBuffers before DisconnectNamedPipe", unit::per_second,
         &r.cr_win32_flush, &r.cr_sock, "unix socket", target{false, 0.5}},
        {"connections_create_close", "CreateNamedPipe (another instance) + CloseHandle", unit::per_second,
         &r.create_close, &r.unix_cc, "connect+accept+close", target{false, 0.5}},
        {"connections_open_close", "CreateFile + CloseHandle (server listens again)", unit::per_second, &r.open_close,
         &r.unix_cc, "connect+accept+close", std::nullopt},
        {"connections_floor_registry", "registering with a third process, bare sockets", unit::per_second,
         &r.floor_registry, &r.unix_cc, "connect+accept+close", std::nullopt},
        {"connections_create_vs_floor", "CreateNamedPipe + CloseHandle vs that floor", unit::per_second,
         &r.create_close, &r.floor_registry, "bare sockets, registering", std::nullopt},
        {"connections_scaling_1", "connections, 1 client thread, 8 instances", unit::per_second, &r.scale_np[0],
         &r.scale_unix[0], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_2", "connections, 2 client threads, 8 instances", unit::per_second, &r.scale_np[1],
         &r.scale_unix[1], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_4", "connections, 4 client threads, 8 instances", unit::per_second, &r.scale_np[2],
         &r.scale_unix[2], "unix socket, 8 accepting threads", std::nullopt},
        {"connections_scaling_8", "connections, 8 client threads, 8 instances", unit::per_second, &r.scale_np[3],
         &r.scale_unix[3], "unix socket, 8 accepting threads", std::nullopt},
        {"async_echo", "async echo server, 8 clients, 64 B round trips", unit::per_second, &r.ae_np, &r.ae_asio,
         "asio unix socket", target{false, 0.9}},
        {"servers_overlapped_rt", "64 clients, 64 B round trip: overlapped, 1 thread", unit::microseconds, &r.srv_rt[1],
         &r.srv_rt[0], "thread per client", target{true, 1.0 / 0.95}},
        {"servers_iocp_rt", "64 clients, 64 B round trip: IOCP, 2 threads", unit::microseconds, &r.srv_rt[2],
         &r.srv_rt[0], "thread per client", target{true, 1.0 / 0.95}},
        {"servers_overlapped_tp", "64 clients, 4 KiB echoes: overlapped, 1 thread", unit::mib_per_second, &r.srv_tp[1],
         &r.srv_tp[0], "thread per client", target{false, 0.95}},
        {"servers_iocp_tp", "64 clients, 4 KiB echoes: IOCP, 2 threads", unit::mib_per_second, &r.srv_tp[2],
         &r.srv_tp[0], "thread per client", target{false, 0.95}},
        {"servers_floor_rt", "64 B round trip, bare sockets: epoll, 1 thread", unit::microseconds, &r.srv_floor_rt[1],
         &r.srv_floor_rt[0], "bare sockets, thread per client", std::nullopt},
        {"servers_overlapped_rt_vs_floor", "64 B round trip: overlapped vs that epoll floor", unit::microseconds,
         &r.srv_rt[1], &r.srv_floor_rt[1], "bare sockets, epoll, 1 thread", std::nullopt},
        {"servers_floor_tp", "4 KiB echoes, bare sockets: epoll, 1 thread", unit::mib_per_second, &r.srv_floor_tp[1],
         &r.srv_floor_tp[0], "bare sockets, thread per client", std::nullopt},
        {"servers_overlapped_tp_vs_floor", "4 KiB echoes: overlapped vs that epoll floor", unit::mib_per_second,
         &r.srv_tp[1], &r.srv_floor_tp[1], "bare sockets, epoll, 1 thread", std::nullopt},
        {"servers_floor2_rt", "64 B round trip, bare sockets: epoll, 2 threads", unit::microseconds,
         &r.srv_floor_rt[2], &r.srv_floor_rt[0], "bare sockets, thread per client", std::nullopt},
        {"servers_iocp_rt_vs_floor", "64 B round trip: IOCP vs that 2-thread floor", unit::microseconds, &r.srv_rt[2],
         &r.srv_floor_rt[2], "bare sockets, epoll, 2 threads", std::nullopt},
        {"servers_floor2_tp", "4 KiB echoes, bare sockets: epoll, 2 threads", unit::mib_per_second, &r.srv_floor_tp[2],
         &r.srv_floor_tp[0], "bare sockets, thread per client", std::nullopt},
        {"servers_iocp_tp_vs_floor", "4 KiB echoes: IOCP vs that 2-thread floor", unit::mib_per_second, &r.srv_tp[2],
         &r.srv_floor_tp[2], "bare sockets, epoll, 2 threads", std::nullopt},
        {"smb_round_trip", "SMB 64 B round trip via smbd, npipe client (TransactNamedPipe)", unit::microseconds,
         &r.smb_rt_np, &r.smb_rt_tcp, "TCP loopback, 64 B echo", std::nullopt, smb_skipped},
        {"smb_round_trip_vs_impacket", "the same, against impacket's (transactNamedPipe, same pipe, same run)",
         unit::microseconds, &r.smb_rt_np, &r.smb_rt_impacket, "impacket", target{true, 1.0}, smb_skipped},
        {"smb_echo_64k", "SMB 64 KiB echo via smbd, npipe client (WriteFile + ReadFile)", unit::mib_per_second,
         &r.smb_echo_np, &r.smb_echo_tcp, "TCP loopback, 64 KiB echo", std::nullopt, smb_skipped},
        {"smb_echo_64k_vs_impacket", "the same, against impacket's (writeFile + readFile)", unit::mib_per_second,
         &r.smb_echo_np, &r.smb_echo_impacket, "impacket", target{false, 1.0}, smb_skipped},
    };
}

/// The SMB rows that say npipe's client beats impacket's; a miss is loud (stderr and exit 3).
bool npipe_beats_impacket(const std::vector<row>& rows) {
    bool won = true;
    for (auto& c : rows) {
        if (!c.id.ends_with("_vs_impacket") || c.skipped || !c.npipe->median() || !c.baseline->median()) continue;
        double ratio = *c.npipe->median() / *c.baseline->median();
        bool ok = c.goal->at_most ? ratio <= c.goal->value : ratio >= c.goal->value;
        if (!ok)
            std::fprintf(stderr, "npipe-bench: !!! npipe's SMB client LOSES to impacket: %s, ratio %.2f (%s %.2f) "
                                 "!!!\n",
                         c.label.c_str(), ratio, c.goal->at_most ? "<=" : ">=", c.goal->value);
        won = won && ok;
    }
    return won;
}

/// 0 when every row of the sections that ran (skipped ones aside) has both numbers and no run
/// failed, else 1; 3 when npipe's SMB client lost to impacket (except with --quick: too short).
int exit_status(const std::vector<row>& rows, const options& o) {
    bool all = true;
    for (auto& c : rows)
        if (o.runs(c.section()) && !c.skipped && (!c.npipe->median() || !c.baseline->median())) all = false;
    // Every series is in some row (some in two): each failed run is counted once.
    std::set<const series*> all_series;
    for (auto& c : rows) all_series.insert({c.npipe, c.baseline});
    int failed_runs = 0;
    for (auto* s : all_series) failed_runs += static_cast<int>(s->errors.size());
    if (failed_runs) std::fprintf(stderr, "npipe-bench: %d run(s) failed (see above)\n", failed_runs);
    if (!all) std::fprintf(stderr, "npipe-bench: some cases produced no number\n");
    if (!all || failed_runs) return 1;
    return npipe_beats_impacket(rows) || o.quick ? 0 : 3;
}

int bench_main(const options& o) {
    workspace w = make_workspace();
    struct cleanup {
        workspace& w;
        ~cleanup() {
            stop_broker(w);
            std::error_code ec;
            std::filesystem::remove_all(w.root, ec);
        }
    } guard{w};

    results r;
    run_round_trips(w, o, r);
    run_throughput(w, o, r);
    run_servers(w, o, r);
    run_scaling(w, o, r);
    run_connections(w, o, r);
    run_async(w, o, r);
    run_smb(o, r);

    auto rows = table_rows(r);
    print_table(rows, o);
    print_side_figures(r.side, o);
    if (!o.json.empty()) write_json(o.json, rows, r.side, o);
    return exit_status(rows, o);
}

} // namespace
} // namespace bench

int main(int argc, char** argv) {
    if (argc >= 2 && std::strcmp(argv[1], "--peer") == 0) return bench::run_peer(argc - 2, argv + 2);
    ::signal(SIGPIPE, SIG_IGN);

    bench::options o;
    if (auto status = bench::parse_options(argc, argv, o)) return *status;
    try {
        return bench::bench_main(o);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "npipe-bench: %s\n", e.what());
        return 1;
    }
}
