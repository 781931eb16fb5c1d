// async_ops.hpp - ReadFile, WriteFile, TransactNamedPipe and ConnectNamedPipe as operations a
// lane of the reactor runs (io_reactor.hpp): the same halves the blocking calls use
// (pipe_channel's begin_* / make_* / end_*), each step under the lock the blocking call holds.
// The first step makes the checks the blocking call makes first, so an error there is the
// call's synchronous failure.
#pragma once

#include "io_reactor.hpp"
#include "message_stream.hpp"
#include "pipe_channel.hpp"

#include <memory>
#include <optional>
#include <span>

namespace npipe::detail {

class server_impl;
class connect_op;

/// What every pipe operation keeps: the end it works on, kept alive by `owner` (the handle's
/// object) until it completes.
class pipe_async_op : public async_op {
public:
    op_outcome result() const noexcept override { return out_; }
    /// The first step failed before anything was done (the call fails at once).
    bool failed_at_start() const noexcept { return failed_at_start_; }

protected:
    pipe_async_op(pipe_channel& ch, std::shared_ptr<void> owner) noexcept : ch_(ch), owner_(std::move(owner)) {}
    step_result fail_start(std::error_code ec) noexcept;
    step_result aborted(std::error_code why) noexcept;

    pipe_channel& ch_;
    std::shared_ptr<void> owner_;
    op_outcome out_;
    bool failed_at_start_ = false;
};

class async_read final : public pipe_async_op {
public:
    async_read(pipe_channel& ch, std::shared_ptr<void> owner, std::span<std::byte> buffer) noexcept
        : pipe_async_op(ch, std::move(owner)), buf_(buffer) {}
    step_result step() noexcept override;
    void cancel(std::error_code why) noexcept override;

private:
    void finish() noexcept;
    std::span<std::byte> buf_;
    std::optional<read_op> op_;
};

class async_write final : public pipe_async_op {
public:
    async_write(pipe_channel& ch, std::shared_ptr<void> owner, std::span<const std::byte> data) noexcept
        : pipe_async_op(ch, std::move(owner)), data_(data) {}
    step_result step() noexcept override;
    void cancel(std::error_code why) noexcept override;

private:
    void finish() noexcept;
    std::span<const std::byte> data_;
    std::optional<write_op> op_;
};

/// TransactNamedPipe: its checks, the request under the write lock, the reply under the read lock.
class async_transact final : public pipe_async_op {
public:
    async_transact(pipe_channel& ch, std::shared_ptr<void> owner, std::span<const std::byte> request,
                   std::span<std::byte> reply) noexcept
        : pipe_async_op(ch, std::move(owner)), request_(request), reply_(reply) {}
    step_result step() noexcept override;
    void cancel(std::error_code why) noexcept override;

private:
    step_result finish() noexcept;
    std::span<const std::byte> request_;
    std::span<std::byte> reply_;
    std::optional<transact_op> op_;
};

/// ConnectNamedPipe. A client that came first is ERROR_PIPE_CONNECTED at the first step.
class async_connect final : public pipe_async_op {
public:
    async_connect(server_impl& server, std::shared_ptr<void> owner);
    ~async_connect() override;
    step_result step() noexcept override;
    void cancel(std::error_code why) noexcept override;

private:
    std::unique_ptr<connect_op> op_;
    bool started_ = false;
};

} // namespace npipe::detail
