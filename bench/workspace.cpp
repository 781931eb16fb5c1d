// bench/workspace.cpp - the private namespace of a benchmark run (see workspace.hpp).
#include "workspace.hpp"

#include "common.hpp"

#include <npipe/namespace.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace bench {

workspace make_workspace() {
    char tmpl[] = "/tmp/npipe-bench.XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    workspace w;
    w.root = tmpl;
    w.run = w.root / "run";
    w.sock = w.root / "sock";
    for (auto& d : {w.run, w.sock})
        if (::mkdir(d.c_str(), 0700) != 0)
            throw std::system_error(errno, std::generic_category(), "mkdir " + d.string());
    // Set before any library call or thread; the peers inherit it.
    ::setenv("NPIPE_RUNTIME_DIR", w.run.c_str(), 1);
    w.ep.runtime_dir = w.run;
    return w;
}

std::optional<double> process_cpu_ms(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return std::nullopt;
    auto close = line.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) { // fields 14 and 15 (1-based)
        if (i == 14) utime = std::stoull(field);
        if (i == 15) stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

void stop_broker(const workspace& w) {
    std::error_code ec;
    auto st = npipe::get_broker_status(w.ep, ec);
    if (ec) return; // none running
    npipe::stop_broker(w.ep, ec);
    if (ec) {
        std::fprintf(stderr, "npipe-bench: stop_broker: %s\n", ec.message().c_str());
        return;
    }
    auto t0 = clock::now();
    while (::kill(st.pid, 0) == 0 && seconds_since(t0) < 3.0) std::this_thread::sleep_for(5ms);
}

npipe::client_options client_opts(const workspace& w) {
    npipe::client_options co;
    co.endpoint = w.ep;
    return co;
}

} // namespace bench
