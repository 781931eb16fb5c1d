// A program that uses an *installed* npipe, the way a downstream project would: it includes only
// the public headers and links only libnpipe. run_install_test.sh builds it twice (pkg-config and
// find_package) against the install tree and runs it with a private runtime directory.
//
//   consumer            create a pipe, open a client, exchange one message each way, print the
//                       broker's pid and "OK" (the first call starts the broker on demand)
//   consumer status     print the running broker's pid (never starts one); exit 1 when none runs
//   consumer stop       ask the broker to exit
#include <npipe/named_pipe.hpp>
#include <npipe/namespace.hpp>

#include <array>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <unistd.h>

namespace {

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string text_of(std::span<const std::byte> b, std::size_t n) {
    return std::string(reinterpret_cast<const char*>(b.data()), n);
}

int exchange() {
    const std::string name = "\\\\.\\pipe\\npipe-install-test-" + std::to_string(::getpid());
    npipe::server_options so;
    so.type = npipe::pipe_type::message;
    so.read_mode = npipe::read_mode::message;
    so.first_instance = true;
    auto server = npipe::server_instance::create(name, so);
    auto client = npipe::client::open(name);
    client.set_state(npipe::read_mode::message, std::nullopt);
    server.connect(); // the client has arrived already: returns at once

    const std::string_view request = "ping from the installed library";
    const std::string_view reply = "pong";
    std::array<std::byte, 256> buf{};

    if (client.write(bytes_of(request)) != request.size()) { std::puts("FAIL: short write (client)"); return 1; }
    auto r = server.read(buf);
    if (r.more_data || text_of(buf, r.bytes) != request) {
        std::printf("FAIL: server read '%s'\n", text_of(buf, r.bytes).c_str());
        return 1;
    }
    if (server.write(bytes_of(reply)) != reply.size()) { std::puts("FAIL: short write (server)"); return 1; }
    r = client.read(buf);
    if (r.more_data || text_of(buf, r.bytes) != reply) {
        std::printf("FAIL: client read '%s'\n", text_of(buf, r.bytes).c_str());
        return 1;
    }
    if (client.server_process_id() != ::getpid() || server.client_process_id() != ::getpid()) {
        std::puts("FAIL: process ids of the ends are wrong");
        return 1;
    }

    auto st = npipe::get_broker_status();
    std::printf("broker_pid=%d\n", static_cast<int>(st.pid));
    std::printf("runtime_dir=%s\n", st.runtime_dir.c_str());
    std::puts("OK");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        if (argc > 1 && std::strcmp(argv[1], "status") == 0) {
            std::error_code ec;
            auto st = npipe::get_broker_status({}, ec);
            if (ec) {
                std::printf("no broker: %s\n", ec.message().c_str());
                return 1;
            }
            std::printf("broker_pid=%d\n", static_cast<int>(st.pid));
            return 0;
        }
        if (argc > 1 && std::strcmp(argv[1], "stop") == 0) {
            npipe::stop_broker();
            std::puts("stopped");
            return 0;
        }
        return exchange();
    } catch (const std::system_error& e) {
        std::printf("FAIL: %s (error %d)\n", e.what(), e.code().value());
        return 1;
    }
}
