// win32/completion_port.hpp - I/O completion ports: a queue of completion packets that threads
// take with GetQueuedCompletionStatus(Ex). Overlapped operations on a file associated with a
// port post their packet there when they complete (overlapped.cpp); PostQueuedCompletionStatus
// posts one directly. Closing the port's last handle wakes its waiters.
#pragma once

#include "win32/kernel_object.hpp"

#include <deque>

namespace npipe::win32 {

struct completion_packet {
    ULONG_PTR key = 0;
    DWORD bytes = 0;
    LPOVERLAPPED overlapped = nullptr;
    DWORD status = 0; ///< NTSTATUS
};

class completion_port final : public object {
public:
    object_kind kind() const noexcept override { return object_kind::completion_port; }
    bool signaled() const noexcept override { return false; }
    void last_handle_closed() noexcept override;

    /// Posts a packet and wakes a waiter.
    void post(const completion_packet& p);
    /// Queues a packet and wakes the waiter that will take it (mutex held). A thread whose own
    /// poll completed the operation while it waited on this port takes the packet itself when it
    /// returns, so nobody is woken for it; one sleeping thread is woken for each packet beyond.
    void queue(const completion_packet& p);

    // Guarded by dispatch().mutex.
    std::deque<completion_packet> packets;
    bool closed = false;
    DWORD concurrency = 0; ///< NumberOfConcurrentThreads (kept, not enforced)
    std::condition_variable arrived; ///< GetQueuedCompletionStatus sleeps here
    std::size_t sleepers = 0;        ///< threads asleep on `arrived`
};

} // namespace npipe::win32
