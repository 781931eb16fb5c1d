// fuzz/make_protocol_seeds.cpp - writes the seed corpus of fuzz_protocol with the real encoder:
// one frame per message type (frame-*), the same bodies without their header (body-*), and a
// few frames back to back (stream-*), as a connection carries them.
//
//   build-fuzz/bin/fuzz_protocol_seeds fuzz/corpus/protocol
#include "protocol/messages.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

using namespace npipe::protocol;

namespace {

std::string dir;

void write(const std::string& name, const std::vector<std::byte>& data) {
    std::ofstream f(dir + "/" + name, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!f) {
        std::perror(name.c_str());
        std::exit(1);
    }
}

void seed(const std::string& name, const std::vector<std::byte>& frame) {
    write("frame-" + name, frame);
    if (frame.size() > header_size)
        write("body-" + name, std::vector<std::byte>(frame.begin() + header_size, frame.end()));
}

std::vector<std::byte> cat(std::initializer_list<std::vector<std::byte>> frames) {
    std::vector<std::byte> out;
    for (const auto& f : frames) out.insert(out.end(), f.begin(), f.end());
    return out;
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    dir = argv[1];

    // Designated initializers: a field added to a message keeps its default here.
    create_instance_request create{.name = "\\\\.\\pipe\\seed", .direction = 3, .type = 1, .reject_remote = true,
                                   .first_instance = true, .max_instances = 4, .out_buffer_size = 4096,
                                   .in_buffer_size = 4096, .default_timeout_ms = 50,
                                   .sddl = "O:S-1-22-1-1000D:P(A;;FA;;;S-1-22-1-1000)(A;;FR;;;WD)",
                                   .message_read_mode = true};
    open_request open{.name = "\\\\.\\pipe\\seed", .read = true, .write = false, .desired_access = 0x80000000};
    wait_request wait{.name = "\\\\.\\pipe\\seed", .timeout_ms = 0xFFFFFFFF};
    name_request query{.name = "\\\\.\\pipe\\Stra\xC3\x9F" "e"};
    create_instance_request reregister = create;
    reregister.reregister = true;
    reregister.state = 1;
    reregister.generation = 9;
    reregister.pipe_id = 0x1122334455667788;
    created_reply created{.instance_id = 0x0102030405060708, .pipe_id = 0x1122334455667788, .broker_pid = 4000,
                          .broker_start = 123456, .type = 1, .max_instances = 4, .default_timeout_ms = 50};
    get_security_request get_sd{.name = "\\\\.\\pipe\\seed", .pipe_id = 0x1122334455667788};
    set_security_request set_sd{.name = "\\\\.\\pipe\\seed", .pipe_id = 0x1122334455667788, .parts = 4,
                                .sddl = "D:P(A;;FA;;;S-1-22-1-1000)(D;;FW;;;AN)"};
    security_reply sd{.sddl = "O:S-1-22-1-1000G:S-1-22-2-1000D:P(A;;FA;;;S-1-22-1-1000)"};
    opened_reply opened{.server_pid = 4242, .type = 1, .direction = 3, .max_instances = 255,
                        .out_buffer_size = 65536, .in_buffer_size = 65536, .generation = 7,
                        .pipe_id = 0x1122334455667788, .granted_access = 0x12019F};
    client_arrived_push arrived{.generation = 7, .pid = 4243, .uid = 1000, .gid = 1000, .groups = {27, 100},
                                .label = "unconfined"};
    error_reply error{.code = 231}; // ERROR_PIPE_BUSY
    pipe_list_reply list;
    list.pipes.push_back({.name = "\\\\.\\pipe\\a", .type = 0, .direction = 3, .max_instances = 255,
                          .owner_uid = 1000, .default_timeout_ms = 50});
    list.pipes.push_back({.name = "\\\\.\\pipe\\b", .type = 1, .direction = 1, .max_instances = 2,
                          .owner_uid = 1000, .out_buffer_size = 512, .in_buffer_size = 512, .reject_remote = true,
                          .instances = {{1, 4242, 4243, 1000, 1000, 512, 512, "", ""},
                                        {0, 4242, 0, 1001, 0, 0, 4096, "NPIPETEST\\carol", "192.0.2.7:49731"}},
                          .owner_sid = "S-1-22-1-1000", .sddl = "O:S-1-22-1-1000D:(A;;FA;;;S-1-22-1-1000)"});
    broker_status_reply status{.pid = 4000, .uid = 1000, .system_scope = false, .runtime_dir = "/run/user/1000/npipe",
                               .protocol_version = version, .uptime = std::chrono::seconds(3600), .pipes = 2,
                               .instances = 3, .connections_served = 10, .control_connections = 1};

    seed("create_instance", encode(create));
    seed("create_instance_reregister", encode(reregister));
    seed("get_security", encode(get_sd));
    seed("set_security", encode(set_sd));
    seed("security", encode(sd));
    seed("open", encode(open));
    seed("wait", encode(wait));
    seed("query", encode(query));
    seed("created", encode(created));
    seed("opened", encode(opened));
    seed("client_arrived", encode(arrived));
    client_arrived_push smb{.generation = 8, .pid = 0, .uid = 1001, .gid = 1001, .groups = {1001},
                            .remote = true, .account = "carol", .domain = "NPIPETEST", .computer = "WS7",
                            .address = "192.0.2.7", .port = 49731,
                            .sids = {{"S-1-5-21-1-2-3-3002"}, {"S-1-5-21-1-2-3-513"}}};
    seed("client_arrived_remote", encode(smb));
    seed("error", encode(error));
    seed("pipe_list", encode(list));
    seed("pipe_list_empty", encode(pipe_list_reply{}));
    seed("broker_status", encode(status));
    seed("listen", encode(message_type::listen, {}));
    seed("disconnect", encode(disconnect_request{.bytes_from_client = 4096, .bytes_to_client = 65536, .client_closed = true, .server_closing = false}));
    seed("monitor", encode(monitor_request{.follow = true, .since_unix_ms = 1790000000000}));
    seed("event", encode(event_push{.seq = 42, .json = R"({"EventId":17,"EventType":"CreatePipe","PipeName":"\\svc"})"}));
    seed("events_lost", encode(events_lost_push{.count = 1000}));
    seed("events_end", encode(message_type::events_end, {}));
    seed("list", encode(message_type::list, {}));
    seed("status", encode(message_type::status, {}));
    seed("stop", encode(message_type::stop, {}));
    seed("ok", encode(message_type::ok, {}));
    seed("listening", encode(message_type::listening, {}));
    seed("disconnected", encode(message_type::disconnected, {}));

    // Conversations as they go over one connection.
    write("stream-server", cat({encode(create), encode(created), encode(message_type::listen, {}),
                                encode(arrived), encode(message_type::listening, {}),
                                encode(disconnect_request{}), encode(message_type::disconnected, {})}));
    write("stream-client", cat({encode(wait), encode(message_type::ok, {}), encode(open), encode(opened)}));
    write("stream-admin", cat({encode(message_type::list, {}), encode(list), encode(message_type::status, {}),
                               encode(status), encode(query), encode(error)}));
    return 0;
}
