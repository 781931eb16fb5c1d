// bench/cases_servers.cpp - 64 clients against Win32 echo servers (see cases.hpp).
#include "cases.hpp"
#include "server_floors.hpp"

#include <algorithm>
#include <vector>

namespace bench {
namespace {

constexpr std::size_t server_clients = 64;
constexpr unsigned port_threads = 2;

} // namespace

double echo_run(const options& o, const std::string& kind, std::size_t message, bool latency, long& threads) {
    auto name = unique_pipe_name("srv");
    std::vector<std::string> args = {kind, name};
    if (kind == "srv-iocp") args.push_back(std::to_string(port_threads));
    auto r = run_echo_clients(args, name, server_clients, message, o.run_seconds);
    threads = std::max(threads, r.server_threads);
    return latency ? r.mean_round_trip_us : r.mib_per_second;
}

double echo_floor_run(const workspace& w, const options& o, int epoll_threads, std::size_t message, bool latency) {
    auto path = server_floor_path(w);
    const char* kind = epoll_threads == 0 ? "floor-echo-threads" : epoll_threads == 1 ? "floor-echo-epoll" : "floor-echo-epoll2";
    auto r = run_echo_clients_bare({kind, path}, path, server_clients, message, o.run_seconds);
    return latency ? r.mean_round_trip_us : r.mib_per_second;
}

} // namespace bench
