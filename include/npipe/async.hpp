// npipe/async.hpp - pipe operations that an event loop drives: the reactor-agnostic core of the
// asynchronous C++ API (npipe/asio.hpp puts asio on top of it; another loop can do the same).
//
// An async_operation is one ReadFile, WriteFile, TransactNamedPipe, ConnectNamedPipe, CreateFile
// (with its wait) or WaitNamedPipe that has started and not yet finished. step() advances it as
// far as the kernel allows now, never blocking, and says what it waits for before the next
// step: a descriptor to become readable or writable, or only a time to pass. Whoever owns the
// loop waits for that and calls step() again, until it says `none`: the operation has
// completed, and error(), result() and take_client() tell how. These are the very steps the
// blocking calls and the Win32 overlapped layer run, so an operation behaves as its blocking
// twin does, down to the Win32 error.
//
// Why the loop drives the steps, rather than the library's own reactor thread: a wait costs
// one readiness wake-up on the thread that will also run the completion, where a hop through
// another thread and back costs two thread switches per operation - more than a socket round
// trip. So the library keeps no thread for these operations; the loop's thread does the work.
//
// Thread safety: one async_operation is used by one thread at a time (step(), cancel() and the
// observers must not overlap). Operations on one end may be pending together - a read and a
// write at once, as on Windows - and may be stepped from different threads; steps on one
// direction of one end take that direction's lock. The end must outlive its operations' steps:
// cancel an operation (or let it complete) before the end is closed or moved.
#pragma once

#include <npipe/error.hpp>
#include <npipe/export.hpp>
#include <npipe/named_pipe.hpp>
#include <npipe/types.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>

namespace npipe {

namespace detail {
class async_op;
} // namespace detail

/// What a pending operation waits for before its next step.
struct async_wait {
    enum class kind : unsigned char {
        none,     ///< nothing: the operation has completed
        readable, ///< `fd` to become readable (or to end, or to fail)
        writable, ///< `fd` to become writable (or to fail)
        time,     ///< only `after` to pass
    };
    kind what = kind::none;
    int fd = -1;
    /// Step again after this long at the latest, ready or not (negative: only once `fd` is).
    std::chrono::microseconds after{-1};
    /// `fd` is the end's data connection, which stays the same descriptor until the end is
    /// connected, disconnected or closed: a loop may keep it registered across operations.
    /// Any other descriptor (the instance's broker link, a request to the broker) may be closed
    /// by the next step: stop watching it before stepping.
    bool connection = false;
    /// A readable wait whose step stopped short of finding `fd` empty (a receive stops at a
    /// boundary between writers, with more queued): `fd` may be readable already. An
    /// edge-triggered loop steps again at once (or re-arms, which reports what is there)
    /// instead of waiting for an edge that may not come; a level-triggered one may ignore it.
    bool may_be_ready = false;
};

/// One asynchronous pipe operation (see the file comment). Destroying one that has not
/// completed cancels it.
class NPIPE_API async_operation {
public:
    /// ReadFile into `buffer` (which must stay valid until completion). Message read mode
    /// takes one message; a part of one completes with ERROR_MORE_DATA and result().more_data.
    static async_operation read(pipe_end_base& end, std::span<std::byte> buffer);
    /// WriteFile of `data` (valid until completion); one message on a message pipe.
    static async_operation write(pipe_end_base& end, std::span<const std::byte> data);
    /// TransactNamedPipe: writes `request`, reads one reply message into `reply`.
    static async_operation transact(pipe_end_base& end, std::span<const std::byte> request,
                                    std::span<std::byte> reply);
    /// ConnectNamedPipe: completes when a client is connected (already_connected() when it had
    /// come before); ERROR_NO_DATA when it came and went.
    static async_operation connect(server_instance& server);
    /// CreateFile on a pipe name; take_client() hands over the end. With `wait`, an open that
    /// finds every instance busy waits that long once for one to listen (WaitNamedPipe
    /// semantics: use_default_wait, wait_forever or a time) and tries again.
    static async_operation open(std::string_view name, const client_options& options = {},
                                std::optional<std::chrono::milliseconds> wait = std::nullopt);
    /// WaitNamedPipe: completes when an instance listens; ERROR_FILE_NOT_FOUND, ERROR_SEM_TIMEOUT.
    static async_operation wait_named_pipe(std::string_view name, std::chrono::milliseconds timeout,
                                           const endpoint& where = {});

    /// An operation that completes at its first step with `ec` (what a closed end starts).
    static async_operation failed(std::error_code ec);

    async_operation() noexcept;
    async_operation(async_operation&&) noexcept;
    async_operation& operator=(async_operation&&) noexcept;
    ~async_operation();

    /// Advances the operation; what it waits for now (`none`: it has completed). The first step
    /// makes the blocking call's checks: an error there completes it at once.
    async_wait step() noexcept;
    /// Completes an operation that has not completed with `why` (ERROR_OPERATION_ABORTED by
    /// default), giving back what it can: a read's bytes return to the connection; a message
    /// that started to go out goes out whole (what was written is counted). Nothing after.
    void cancel() noexcept;
    void cancel(std::error_code why) noexcept;

    bool completed() const noexcept;
    /// The error the error_code& form of the blocking call reports (ERROR_MORE_DATA for a part
    /// of a message; a connect that found its client already there reports none).
    std::error_code error() const noexcept;
    /// Bytes read or written, and whether the message goes on (read, transact).
    read_result result() const noexcept;
    /// connect: the client had come before the call (ERROR_PIPE_CONNECTED on Windows).
    bool already_connected() const noexcept;
    /// open: the new end, once; an empty client otherwise.
    client take_client() noexcept;

private:
    enum class op_kind : unsigned char { data, connect, open, wait };
    async_operation(std::unique_ptr<detail::async_op> op, op_kind kind) noexcept;

    std::unique_ptr<detail::async_op> op_;
    op_kind kind_ = op_kind::data;
    bool completed_ = true;
};

} // namespace npipe
