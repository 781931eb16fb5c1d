// client_impl.hpp - the client end of a named pipe (CreateFile on a pipe name), and CreateFile
// and WaitNamedPipe as resumable steps (client_open.cpp).
#pragma once

#include "broker_link.hpp"
#include "pipe_channel.hpp"
#include "pipe_ops.hpp"

#include <npipe/named_pipe.hpp>
#include <npipe/pipe_name.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace npipe::detail {

class client_impl final : public pipe_channel {
public:
    os::shared_page page;
    std::uint64_t generation = 0;

    ~client_impl() override { detach(); }

    void connect_to(os::fd sock) { attach(std::move(sock)); }

    bool disconnected_by_server() const noexcept { return load_disconnected(page.address()) >= generation; }

protected:
    std::error_code prepare_io(io_kind kind) noexcept override {
        if (!data_) return win32(win32_error::invalid_handle);
        if (disconnected_by_server()) return win32(win32_error::pipe_not_connected);
        // A transaction needs a server at the other end (closing: ERROR_BAD_PIPE).
        if (kind == io_kind::transact && peer_hung_up()) return win32(win32_error::bad_pipe);
        return {};
    }

    std::error_code ended(bool writing) const noexcept override {
        if (disconnected_by_server()) return win32(win32_error::pipe_not_connected);
        return pipe_channel::ended(writing);
    }
};

/// WaitNamedPipe as steps. The first step connects to the broker and sends the request (the
/// broker takes both at once); then the reply is waited for: ok when an instance listens,
/// ERROR_FILE_NOT_FOUND when the pipe does not exist or goes, ERROR_SEM_TIMEOUT.
/// cancel(): ERROR_OPERATION_ABORTED; the connection is closed, so the broker drops the waiter.
class wait_op : public pipe_op {
public:
    /// `timeout`: use_default_wait (the pipe's default), wait_forever, or a time.
    wait_op(std::string name, std::chrono::milliseconds timeout, endpoint where) noexcept
        : name_(std::move(name)), timeout_(timeout), where_(std::move(where)) {}

    step_result step(step_mode = step_mode::never_block) noexcept;
    void cancel() noexcept;

private:
    /// Completes the operation (its request to the broker closed).
    step_result complete(std::error_code ec) noexcept;

    std::string name_;
    std::chrono::milliseconds timeout_;
    endpoint where_;
    broker_request request_;
};

/// CreateFile on a pipe name as steps. With `wait`, an open that finds every instance busy
/// waits once for one to listen (a wait_op with that timeout) and tries again, as CallNamedPipe
/// does. On success take() hands over the end.
/// cancel(): ERROR_OPERATION_ABORTED; an open still waiting for its reply is closed, and a
/// connection the broker handed over meanwhile goes with it (the server sees a client that came
/// and went: ERROR_BROKEN_PIPE / ERROR_NO_DATA, as for any client that closes at once).
class open_op : public pipe_op {
public:
    open_op(std::string name, client_options options, std::optional<std::chrono::milliseconds> wait = {}) noexcept
        : name_(std::move(name)), options_(std::move(options)), wait_(wait) {}

    step_result step(step_mode = step_mode::never_block) noexcept;
    void cancel() noexcept;
    std::unique_ptr<client_impl> take() noexcept { return std::move(end_); }

private:
    step_result start_open();
    step_result open_remote(const pipe_name& parsed);
    step_result opened(frame& reply);
    /// Completes the operation (its request to the broker closed).
    step_result complete(std::error_code ec) noexcept;

    std::string name_;
    client_options options_;
    std::optional<std::chrono::milliseconds> wait_;
    std::string full_name_;
    broker_request request_;
    std::optional<wait_op> waiting_;
    bool started_ = false;
    std::unique_ptr<client_impl> end_;
};

} // namespace npipe::detail
