// protocol/instance_page.hpp - the layout of an instance's shared page: part of the library <->
// broker contract, like the frames.
//
// A server makes one page per instance (os::shared_page: a memfd sealed so that only the
// server's own mapping can write it) and sends it with create_instance; the broker checks the
// seal and hands the page to every client of the instance with `opened`. A client maps it
// read-only. DisconnectNamedPipe must throw away what the client has not read yet, which the
// kernel cannot do, so the server publishes here "connections up to generation G are
// disconnected" and the client looks before touching its socket.
//
// Changing the layout changes the protocol: it needs a new protocol::version.
#pragma once

#include "os/socket.hpp"

#include <cstdint>
#include <type_traits>

namespace npipe::protocol {

struct instance_page {
    std::uint64_t disconnected_generation; // connections up to this number have been dropped
};

static_assert(sizeof(instance_page) <= os::shared_page::size);
static_assert(std::is_standard_layout_v<instance_page> && std::is_trivially_copyable_v<instance_page>);

/// The generation up to which the server has disconnected (what the server did before it
/// published it is visible after this).
inline std::uint64_t load_disconnected(const void* page) noexcept {
    return __atomic_load_n(&static_cast<const instance_page*>(page)->disconnected_generation, __ATOMIC_ACQUIRE);
}

/// The server (the only writer) publishes that connections up to generation `g` are
/// disconnected. The published generation never goes back.
inline void store_disconnected(void* page, std::uint64_t g) noexcept {
    auto* p = static_cast<instance_page*>(page);
    if (g > __atomic_load_n(&p->disconnected_generation, __ATOMIC_RELAXED))
        __atomic_store_n(&p->disconnected_generation, g, __ATOMIC_RELEASE);
}

} // namespace npipe::protocol
