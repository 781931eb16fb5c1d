// connection_tags.hpp - what the broker's epoll tags say (connections.cpp, accepting.cpp): the
// top byte the kind of descriptor, the rest the connection's id or the listener's.
#pragma once

#include <cstdint>

namespace npipe::broker {

constexpr std::uint64_t tag_listener = 1ull << 56;
constexpr std::uint64_t tag_other = 2ull << 56;
constexpr std::uint64_t tag_connection = 3ull << 56;
constexpr std::uint64_t tag_links = 5ull << 56; // the links poller has something ready
constexpr std::uint64_t tag_mask = 0xFFull << 56;
// A listener's tag says which: 0 the shared one, else a uid's own (uid + 1).
constexpr std::uint64_t shared_listener = 0;

} // namespace npipe::broker
