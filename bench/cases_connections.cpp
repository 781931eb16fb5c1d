// bench/cases_connections.cpp - connections per second: npipe's connection case and its
// AF_UNIX baseline, and the scaling case with the broker's CPU per connection (see cases.hpp).
#include "cases.hpp"

#include "connection_scaling.hpp"
#include "measure.hpp"
#include "unix_sockets.hpp"

#include <npipe/namespace.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace bench {
namespace {

/// Opens the pipe, waiting (WaitNamedPipe) while its one instance is busy with the previous
/// client; counts the waits in `busy`.
npipe::client open_when_free(const std::string& name, const workspace& w, unsigned& busy) {
    for (;;) {
        std::error_code ec;
        auto c = npipe::client::open(name, client_opts(w), ec);
        if (!ec) return c;
        if (ec != npipe::win32_error::pipe_busy) throw std::system_error(ec, "open " + name);
        ++busy;
        npipe::wait_named_pipe(name, 10s, w.ep); // the server is between disconnect and connect
    }
}

} // namespace

double connections_npipe(const workspace& w, const options& o, connection_counts& counts) {
    auto name = unique_pipe_name("cr");
    peer p({"cr-np", name});
    p.wait_ready();
    double r = guarded(p, o, [&] {
        auto req = request(plain_marker);
        std::vector<std::byte> reply(small_message);
        auto once = [&] {
            auto c = open_when_free(name, w, counts.busy);
            write_all(c, req);
            if (read_exact(c, reply) != reply.size()) throw std::runtime_error("no reply");
            ++counts.connections;
        };
        return per_second_then_quit(o, req, once);
    });
    p.join();
    return r;
}

double connections_socket(const workspace& w, const options& o) {
    static unsigned counter = 0;
    std::string path = (w.sock / ("cr-" + std::to_string(counter++) + ".sock")).string();
    peer p({"cr-sock", path});
    p.wait_ready();
    auto addr = unix_address(path);
    double r = guarded(p, o, [&] {
        auto req = request(plain_marker);
        std::vector<std::byte> reply(small_message);
        auto once = [&] {
            closing_fd c(unix_connect(addr));
            write_all(c.fd, req.data(), req.size());
            if (!read_exact(c.fd, reply.data(), reply.size())) throw std::runtime_error("no reply");
        };
        return per_second_then_quit(o, req, once);
    });
    p.join();
    return r;
}

double scaling_npipe(const workspace& w, const options& o, unsigned clients, series& broker_us) {
    std::error_code bec;
    auto st = npipe::get_broker_status(w.ep, bec);
    auto before = bec ? std::nullopt : process_cpu_ms(st.pid);
    long made = 0;
    double r = connections_scaling_npipe(unique_pipe_name("scale"), clients, o.run_seconds, made);
    auto after = bec ? std::nullopt : process_cpu_ms(st.pid);
    if (before && after && made > 0)
        broker_us.samples.push_back((*after - *before) * 1000.0 / static_cast<double>(made));
    return r;
}

} // namespace bench
