// The other process in integration tests. Roles:
//   serve-echo NAME byte|message INSTANCES      echo server with one thread per instance; prints "ready"
//   serve-once NAME byte|message                 one client: reads one message/chunk, replies "ack:<data>", exits
//   serve-write NAME byte|message SIZE           connects one client, writes SIZE bytes as one write, exits 0
//   client-send NAME DATA                        opens, writes DATA, reads the reply, prints it
//   client-write-forever NAME                    opens a message pipe and writes 1 MiB messages forever
//   hold NAME                                    creates an instance and sleeps until killed; prints "ready"
//   client-as NAME UID LEVEL DATA                becomes UID (all ids, groups cleared), opens allowing
//                                                LEVEL (anonymous|identification|impersonation|delegation),
//                                                writes DATA, then reads until the server goes
//   open-as NAME UID r|w|rw                      becomes UID, opens with that access, closes; the exit
//                                                status is the Win32 error (0: opened)
//   create-as NAME UID                           becomes UID, creates an instance of NAME, closes it;
//                                                the exit status is the Win32 error (0: created)
//   create-loop NAME UID N                       becomes UID, tries N times to create an instance of
//                                                NAME; the exit status is how often it succeeded
//   serve-as NAME UID                            becomes UID, creates NAME (owner and root may open it),
//                                                prints "ready", takes one client and holds it until killed
//   monitor-as - UID                             becomes UID, prints every event the broker shows it
//                                                (JSON lines), exits 0
//   set-dacl-as NAME UID SDDL                    becomes UID, opens NAME asking GENERIC_READ|WRITE_DAC,
//                                                replaces the pipe's DACL with SDDL's; the exit status
//                                                is the Win32 error of the open or of the change
#include <npipe/named_pipe.hpp>
#include <npipe/namespace.hpp>
#include <npipe/security.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <grp.h>
#include <unistd.h>

using namespace npipe;

namespace {

void ready() {
    std::puts("ready");
    std::fflush(stdout);
}

server_options opts(const char* type) {
    server_options o;
    if (std::strcmp(type, "message") == 0) {
        o.type = pipe_type::message;
        o.read_mode = read_mode::message;
    }
    return o;
}

void echo_loop(server_instance s) {
    std::vector<std::byte> buf(1 << 20);
    for (;;) {
        std::error_code ec;
        s.connect(ec);
        if (ec && ec != win32_error::no_data) return;
        for (;;) {
            std::vector<std::byte> msg;
            read_result r;
            do {
                r = s.read(buf, ec);
                if (ec && ec != win32_error::more_data) break;
                msg.insert(msg.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
            } while (r.more_data);
            if (ec && ec != win32_error::more_data) break;
            s.write(msg, ec);
            if (ec) break;
        }
        s.disconnect(ec);
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    std::string role = argv[1];
    const char* name = argv[2];
    try {
        if (role == "serve-echo") {
            unsigned n = static_cast<unsigned>(std::stoul(argv[4]));
            auto o = opts(argv[3]);
            std::vector<std::thread> threads;
            for (unsigned i = 0; i < n; ++i) threads.emplace_back(echo_loop, server_instance::create(name, o));
            ready();
            for (auto& t : threads) t.join();
            return 0;
        }
        if (role == "serve-once") {
            auto s = server_instance::create(name, opts(argv[3]));
            ready();
            s.connect();
            std::vector<std::byte> buf(65536);
            auto r = s.read(buf);
            std::string reply = "ack:" + std::string(reinterpret_cast<const char*>(buf.data()), r.bytes);
            s.write(std::as_bytes(std::span(reply)));
            s.flush();
            return 0;
        }
        if (role == "serve-write") {
            auto s = server_instance::create(name, opts(argv[3]));
            ready();
            s.connect();
            std::vector<std::byte> data(std::stoul(argv[4]));
            for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7 + 3);
            s.write(data);
            s.flush();
            return 0;
        }
        if (role == "client-send") {
            auto c = client::open(name);
            std::string data = argv[3];
            c.write(std::as_bytes(std::span(data)));
            std::vector<std::byte> buf(65536);
            auto r = c.read(buf);
            std::fwrite(buf.data(), 1, r.bytes, stdout);
            return 0;
        }
        if (role == "client-write-forever") {
            auto c = client::open(name);
            std::vector<std::byte> big(1 << 20, std::byte{0x5a});
            ready();
            for (;;) c.write(big);
        }
        if (role == "client-as") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer client-as: cannot become the uid");
                return 1;
            }
            client_options o;
            std::string level = argv[4];
            o.impersonation = level == "anonymous"        ? impersonation_level::anonymous
                              : level == "impersonation" ? impersonation_level::impersonation
                              : level == "delegation"    ? impersonation_level::delegation
                                                         : impersonation_level::identification;
            auto c = client::open(name, o);
            std::string data = argv[5];
            c.write(std::as_bytes(std::span(data)));
            std::vector<std::byte> buf(256);
            std::error_code ec;
            while (!ec) c.read(buf, ec);
            return 0;
        }
        if (role == "create-loop") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer: cannot become the uid");
                return 255;
            }
            int won = 0;
            for (unsigned long i = 0, n = std::stoul(argv[4]); i < n; ++i) {
                std::error_code ec;
                server_instance::create(name, {}, ec);
                if (!ec) ++won;
            }
            return std::min(won, 254);
        }
        if (role == "open-as" || role == "create-as") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer: cannot become the uid");
                return 255;
            }
            std::error_code ec;
            if (role == "open-as") {
                std::string access = argv[4];
                client_options o;
                o.read = access.find('r') != std::string::npos;
                o.write = access.find('w') != std::string::npos;
                client::open(name, o, ec);
            } else {
                server_instance::create(name, {}, ec);
            }
            if (ec) std::fprintf(stderr, "npipe_test_peer %s: %s\n", role.c_str(), ec.message().c_str());
            return ec.value() & 0xff;
        }
        if (role == "serve-as") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer: cannot become the uid");
                return 255;
            }
            auto s = server_instance::create(name);
            ready();
            s.connect();
            for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
        }
        if (role == "monitor-as") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer: cannot become the uid");
                return 255;
            }
            std::error_code ec;
            monitor_events({}, [](std::uint64_t, const std::string& text) { std::printf("%s\n", text.c_str()); return true; },
                           {}, {}, ec);
            if (ec) std::fprintf(stderr, "npipe_test_peer monitor-as: %s\n", ec.message().c_str());
            return ec ? 1 : 0;
        }
        if (role == "set-dacl-as") {
            auto uid = static_cast<uid_t>(std::stoul(argv[3]));
            if (::setgroups(0, nullptr) != 0 || ::setresgid(uid, uid, uid) != 0 || ::setresuid(uid, uid, uid) != 0) {
                std::perror("npipe_test_peer: cannot become the uid");
                return 255;
            }
            client_options o;
            o.access_mask = rights::GENERIC_READ | rights::WRITE_DAC;
            std::error_code ec;
            auto c = client::open(name, o, ec);
            if (!ec) {
                auto sd = parse_sddl(argv[4], ec);
                if (sd) c.set_security(*sd, security_info::DACL_SECURITY_INFORMATION, ec);
            }
            if (ec) std::fprintf(stderr, "npipe_test_peer %s: %s\n", role.c_str(), ec.message().c_str());
            return ec.value() & 0xff;
        }
        if (role == "hold") {
            auto s = server_instance::create(name, opts(argc > 3 ? argv[3] : "byte"));
            ready();
            for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
        }
    } catch (const std::system_error& e) {
        std::fprintf(stderr, "npipe_test_peer %s: %s\n", role.c_str(), e.what());
        return 1;
    }
    return 2;
}
