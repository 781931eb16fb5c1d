#include "namespace_records.hpp"

namespace npipe::detail {

pipe_status to_pipe_status(const protocol::pipe_record& r) {
    pipe_status s;
    s.name = r.name;
    s.type = r.type == 1 ? pipe_type::message : pipe_type::byte;
    s.direction = static_cast<pipe_direction>(r.direction);
    s.max_instances = r.max_instances;
    s.owner_uid = r.owner_uid;
    s.owner_sid = r.owner_sid;
    s.sddl = r.sddl;
    s.remote = r.remote;
    s.out_buffer_size = r.out_buffer_size;
    s.in_buffer_size = r.in_buffer_size;
    s.default_timeout = std::chrono::milliseconds(r.default_timeout_ms);
    s.reject_remote_clients = r.reject_remote;
    for (const auto& i : r.instances) {
        instance_status is;
        is.state = static_cast<instance_state>(i.state);
        is.server_pid = i.server_pid;
        is.server_uid = i.server_uid;
        if (i.client_pid != 0) is.client_pid = i.client_pid;
        if (i.client_uid != 0xFFFFFFFFu) is.client_uid = i.client_uid;
        is.client_account = i.client_account;
        is.client_address = i.client_address;
        is.out_buffer_size = i.out_buffer_size;
        is.in_buffer_size = i.in_buffer_size;
        s.instances.push_back(is);
    }
    return s;
}

} // namespace npipe::detail
