#include "registry.hpp"

#include <algorithm>

namespace npipe::broker {

bool pipe_entry::any_listening() const noexcept { return first_listening() != nullptr; }

instance* pipe_entry::first_listening() const noexcept {
    instance* first = nullptr;
    for (instance* i : instances)
        if (i->state == instance_state::listening && (!first || i->listening_since < first->listening_since)) first = i;
    return first;
}

std::vector<server_process> pipe_entry::servers() const {
    std::vector<server_process> out;
    for (const instance* i : instances) out.push_back({i->server_pid, i->server_start});
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

bool pipe_entry::full() const noexcept {
    return max_instances < 255 && instances.size() >= max_instances;
}

pipe_entry* registry::find(const std::string& key) noexcept {
    auto it = pipes_.find(key);
    return it == pipes_.end() ? nullptr : it->second.get();
}

const pipe_entry* registry::find(const std::string& key) const noexcept {
    auto it = pipes_.find(key);
    return it == pipes_.end() ? nullptr : it->second.get();
}

pipe_entry& registry::add_pipe(std::string key, std::uint64_t id) {
    auto entry = std::make_unique<pipe_entry>();
    entry->id = id;
    entry->key = key;
    auto& ref = *entry;
    pipes_.emplace(std::move(key), std::move(entry));
    return ref;
}

instance& registry::add_instance(pipe_entry& pipe) {
    auto inst = std::make_unique<instance>();
    inst->id = next_instance_id_++;
    inst->pipe = &pipe;
    inst->listening_since = next_listen_++;
    auto& ref = *inst;
    pipe.instances.push_back(&ref);
    instances_.emplace(ref.id, std::move(inst));
    return ref;
}

instance* registry::find_instance(std::uint64_t id) noexcept {
    auto it = instances_.find(id);
    return it == instances_.end() ? nullptr : it->second.get();
}

bool registry::remove_instance(std::uint64_t id, std::vector<waiter>& orphaned_waiters) {
    auto it = instances_.find(id);
    if (it == instances_.end()) return false;
    pipe_entry* pipe = it->second->pipe;
    std::erase(pipe->instances, it->second.get());
    instances_.erase(it);
    if (!pipe->instances.empty()) return false;
    orphaned_waiters = std::move(pipe->waiters);
    pipes_.erase(pipe->key);
    return true;
}

protocol::pipe_record registry::record(const pipe_entry& p) const {
    protocol::pipe_record r;
    r.name = p.display_name;
    r.type = p.type;
    r.direction = p.direction;
    r.max_instances = p.max_instances;
    r.owner_uid = p.owner_uid;
    r.owner_sid = p.security.owner ? p.security.owner->to_string() : sid::user(p.owner_uid).to_string();
    r.sddl = p.security.to_sddl();
    r.out_buffer_size = p.out_buffer_size;
    r.in_buffer_size = p.in_buffer_size;
    r.default_timeout_ms = p.default_timeout_ms;
    r.reject_remote = p.reject_remote;
    r.remote = p.exported && !p.reject_remote; // lookups.cpp: and only when the broker serves Samba
    for (const instance* i : p.instances) {
        protocol::instance_record ir;
        ir.state = static_cast<std::uint8_t>(i->state);
        ir.server_pid = i->server_pid;
        ir.server_uid = i->server_uid;
        bool has_client = i->state == instance_state::connected || i->state == instance_state::closing;
        ir.client_pid = has_client ? i->client_pid : 0;
        ir.client_uid = has_client ? i->client_uid : 0xFFFFFFFF;
        if (has_client && i->client_remote) {
            ir.client_account = i->client_remote->account;
            ir.client_address = i->client_remote->address_and_port();
        }
        ir.out_buffer_size = i->out_buffer_size;
        ir.in_buffer_size = i->in_buffer_size;
        r.instances.push_back(ir);
    }
    return r;
}

std::string remote_peer::address_and_port() const {
    if (address.empty()) return {};
    bool v6 = address.find(':') != std::string::npos;
    return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

} // namespace npipe::broker
