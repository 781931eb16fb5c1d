// bench/soak_user_scope.cpp - the stage of the user-scope scenarios: a private runtime directory,
// its broker, the servers holding 1,000 listening instances, and the clients.
#include "soak.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

namespace soak {
std::optional<npipe::broker_status> user_scope::status() const {
    std::error_code ec;
    auto s = npipe::get_broker_status(ep, ec);
    if (ec) return std::nullopt;
    return s;
}

int user_scope::instances_in(npipe::instance_state state) const {
    std::error_code ec;
    auto pipes = npipe::list_pipes(ep, ec);
    if (ec) return -1;
    int n = 0;
    for (const auto& p : pipes)
        for (const auto& i : p.instances) n += i.state == state;
    return n;
}

bool user_scope::wait_all_listening(std::chrono::milliseconds limit, std::chrono::milliseconds max_pause) const {
    return wait_for([&] { return instances_in(npipe::instance_state::listening) == total_instances; }, limit, max_pause);
}

user_scope open_user_scope(const std::string& root) {
    user_scope us;
    us.dir = root + "/user";
    if (::mkdir(us.dir.c_str(), 0700) != 0) throw std::system_error(errno, std::generic_category(), "mkdir " + us.dir);
    register_cleanup_dir(us.dir); // Ctrl-C kills the brokers serving it
    us.log = us.dir + "/npiped.log";
    us.ep.runtime_dir = us.dir;
    // The peers and the Win32 calls find the directory here; set before any peer starts.
    ::setenv("NPIPE_RUNTIME_DIR", us.dir.c_str(), 1);
    ::unsetenv("NPIPE_SCOPE");
    ::unsetenv("NPIPE_NO_AUTOSTART");
    // As the library starts one (--idle-exit too: a broker orphaned by a SIGKILLed driver ends).
    us.first_broker = std::make_unique<child>(
        npiped_program(), std::vector<std::string>{"--runtime-dir", us.dir, "--idle-exit", "60", "--log-file", us.log});
    if (!wait_for([&] { return us.status().has_value(); }, 20s)) throw std::runtime_error("the user-scope broker did not start");
    register_broker(us.status()->pid);
    for (int i = 0; i < pipe_count; ++i) us.names.push_back("\\\\.\\pipe\\soak-" + std::to_string(i));
    return us;
}

double start_servers(user_scope& us) {
    auto t0 = clock::now();
    for (const auto& name : us.names)
        us.servers.push_back(std::make_unique<child>(std::vector<std::string>{"server", name, std::to_string(instances_per_pipe)}));
    for (auto& s : us.servers) s->expect("ready", 60s);
    if (!wait_for([&] { auto s = us.status(); return s && s->instances >= total_instances; }, 30s))
        throw std::runtime_error("the broker never counted the servers' 1,000 instances");
    double registered = seconds_since(t0);
    if (!us.wait_all_listening(30s)) throw std::runtime_error("the 1,000 instances never all listened");
    return registered;
}

void close_user_scope(user_scope& us, report& r) {
    for (auto& s : us.servers) s->send('q');
    unsigned long errors = 0;
    for (auto& s : us.servers) {
        try {
            auto line = s->expect("stats", 10s);
            errors += static_cast<unsigned long>(field_of(line, "errors").value_or(0) + field_of(line, "oversize").value_or(0));
        } catch (const std::exception& e) {
            r.problems.push_back(std::string("a server did not stop cleanly: ") + e.what());
        }
        s->wait_exit(10s);
    }
    if (errors) r.problems.push_back("servers counted " + std::to_string(errors) + " failed connects, disconnects or oversize messages");
    us.servers.clear();
    std::error_code ec;
    npipe::stop_broker(us.ep, ec);
    if (!wait_for([&] { return brokers_serving(us.dir).empty(); }, 10s)) {
        r.problems.push_back("the user-scope broker did not stop when asked: killed");
        for (pid_t p : brokers_serving(us.dir)) ::kill(p, SIGKILL);
    }
    if (us.first_broker) us.first_broker->wait_exit(10s);
    register_broker(0);
}

log_counts count_log(const std::string& path, std::uintmax_t from) {
    log_counts c;
    std::ifstream f(path);
    f.seekg(static_cast<std::streamoff>(from));
    for (std::string line; std::getline(f, line);) {
        c.starts += line.find("serving user scope") != std::string::npos;
        c.lost_races += line.find("another broker already serves") != std::string::npos;
        c.failed += line.find("cannot start") != std::string::npos;
    }
    return c;
}

std::uintmax_t log_size(const std::string& path) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path, ec);
    return ec ? 0 : n;
}

children start_clients(const user_scope& us, int processes, int connections, std::size_t total_bytes) {
    children clients;
    const int per = connections / processes;
    for (int p = 0; p < processes; ++p) {
        std::vector<std::string> args{"clients", std::to_string(p * per), std::to_string(per),
                                      std::to_string(total_bytes / static_cast<std::size_t>(processes))};
        for (std::size_t i = 0; i < us.names.size(); ++i) // rotated: every pipe gets the same share
            args.push_back(us.names[(i + static_cast<std::size_t>(p)) % us.names.size()]);
        clients.push_back(std::make_unique<child>(args));
    }
    for (auto& c : clients) c->expect("ready", 120s);
    return clients;
}

echo_result collect_results(children& clients, std::chrono::milliseconds timeout) {
    echo_result total;
    auto deadline = clock::now() + timeout;
    for (auto& c : clients) {
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
            auto line = c->read_line(std::max(left, std::chrono::milliseconds(0)));
            if (!line) throw std::runtime_error("a client did not finish in time");
            if (line->starts_with("error ")) total.error_texts.push_back(line->substr(6));
            if (line->starts_with("failed ")) throw std::runtime_error("a client failed: " + line->substr(7));
            if (!line->starts_with("result")) continue;
            double sent = field_of(*line, "sent").value_or(0), verified = field_of(*line, "verified").value_or(0);
            total.sent += sent;
            total.verified += verified;
            total.lost += sent - verified;
            total.corrupt += field_of(*line, "corrupt").value_or(0);
            total.errors += field_of(*line, "errors").value_or(0);
            total.seconds = std::max(total.seconds, field_of(*line, "seconds").value_or(0));
            break;
        }
        c->wait_exit(10s);
    }
    return total;
}

} // namespace soak
