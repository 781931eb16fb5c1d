// registry.hpp - the namespace the broker owns: pipes, their instances and who waits for them.
// Pure bookkeeping: decisions.cpp reads it, the request handlers (requests.cpp) change it.
#pragma once

#include "os/fd.hpp"
#include "protocol/messages.hpp"
#include "saved_pipes.hpp"

#include <npipe/security.hpp>

#include <npipe/types.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace npipe::broker {

using clock = std::chrono::steady_clock;

struct pipe_entry;

/// A client that came over the network (through smbd), as smbd described it: what `npipe list`
/// and the events say of it.
struct remote_peer {
    std::string account;  // DOMAIN\account
    std::string computer; // the client computer's name
    std::string address;  // its IP address
    std::uint16_t port = 0;
    /// address:port, an IPv6 address in brackets.
    std::string address_and_port() const;
};

struct instance {
    std::uint64_t id = 0;
    std::uint64_t link_connection = 0; // the server's control connection
    pipe_entry* pipe = nullptr;
    instance_state state = instance_state::listening;
    /// When it last began to listen (created, or listening again after a disconnect), in the
    /// registry's count: a client goes to the instance listening longest, as NPFS queues them.
    std::uint64_t listening_since = 0;
    pid_t server_pid = 0;
    std::uint64_t server_start = 0; // when the server process started (names it for good)
    // Each instance's own, as its server asked (Windows keeps the quotas per instance); its
    // clients are told these.
    std::uint32_t out_buffer_size = 0;
    std::uint32_t in_buffer_size = 0;
    uid_t server_uid = 0;
    std::uint64_t generation = 0; // connections served so far; the current one's number
    pid_t client_pid = 0;
    uid_t client_uid = 0;
    os::fd page;       // the instance's shared page, handed to each client
    os::fd server_end; // our copy of the data connection, watched only for the client's hang-up
    clock::time_point connected_at;
    std::uint64_t client_start = 0; // the client process's start time (its ProcessGuid)
    std::uint8_t client_impersonation = 1;
    std::optional<remote_peer> client_remote; // the client came through smbd
};

struct waiter {
    std::uint64_t connection = 0;
    uid_t uid = 0; // who waits (counted against its waiters limit)
    std::optional<clock::time_point> deadline; // empty = forever
};

struct pipe_entry {
    std::uint64_t id = 0;     // random, never reused; kept across broker restarts
    std::string key;          // canonical (upper-cased) NAME
    std::string display_name; // full name as the first creator spelled it
    // As the first instance made the pipe: a further instance may ask for another type, limit
    // or timeout and gets these (Windows keeps them in the pipe, Wine too); only a different
    // direction is refused.
    std::uint8_t direction = 3;
    std::uint8_t type = 0;
    std::uint16_t max_instances = 255;
    std::uint32_t default_timeout_ms = 0;
    std::uint32_t out_buffer_size = 0; // the sizes the first instance asked for (npipe info shows them)
    std::uint32_t in_buffer_size = 0;
    bool reject_remote = false;
    /// Its owner exports it to SMB clients (through Samba: see samba_identity.hpp); remote
    /// opens of a pipe that is not exported find nothing.
    bool exported = false;
    /// Its DACL was given (at create, or by SetSecurityInfo) rather than npipe's default, which
    /// grants the network nothing however it reads.
    bool explicit_dacl = false;
    uid_t owner_uid = 0;
    security_descriptor security; // checked on every open and every new instance
    std::size_t descriptor_bytes = 0; // its SDDL's size, counted against the owner's limit
    std::vector<instance*> instances;
    std::vector<waiter> waiters;
    std::vector<server_process> saved_servers; // as the pipe's saved file has them

    /// The processes holding instances, sorted, each once.
    std::vector<server_process> servers() const;
    bool any_listening() const noexcept;
    instance* first_listening() const noexcept;
    bool full() const noexcept;
};

class registry {
public:
    pipe_entry* find(const std::string& key) noexcept;
    const pipe_entry* find(const std::string& key) const noexcept;
    pipe_entry& add_pipe(std::string key, std::uint64_t id);
    instance& add_instance(pipe_entry& pipe);
    /// Removes the instance; returns true when its pipe is gone with it (and the pipe's waiters
    /// must be told). The caller has already released the instance's descriptors it watches.
    bool remove_instance(std::uint64_t id, std::vector<waiter>& orphaned_waiters);
    instance* find_instance(std::uint64_t id) noexcept;
    /// The instance listens again (ConnectNamedPipe after a disconnect): it joins the back of
    /// the pipe's queue of listening instances.
    void listen_again(instance& inst) noexcept {
        inst.state = instance_state::listening;
        inst.listening_since = next_listen_++;
    }

    const std::map<std::string, std::unique_ptr<pipe_entry>>& pipes() const noexcept { return pipes_; }
    std::size_t instance_count() const noexcept { return instances_.size(); }

    protocol::pipe_record record(const pipe_entry& p) const;

private:
    std::map<std::string, std::unique_ptr<pipe_entry>> pipes_;
    std::map<std::uint64_t, std::unique_ptr<instance>> instances_;
    std::uint64_t next_instance_id_ = 1;
    std::uint64_t next_listen_ = 1; // instance::listening_since
};

} // namespace npipe::broker
