// npipe/asio.hpp - named pipes for asio: asynchronous connect, open (with its wait), read
// (message-aware), write and transact, with any completion token (callbacks,
// asio::use_awaitable for co_await, asio::experimental::deferred, ...). Header-only over
// npipe/async.hpp; libnpipe itself does not depend on asio (include this header, have asio's
// headers - Debian: libasio-dev - and link npipe as usual).
//
//   asio::awaitable<void> echo(npipe::async::server_instance pipe) {
//       co_await pipe.async_connect(asio::use_awaitable);
//       std::array<std::byte, 4096> buf;
//       for (;;) {
//           auto r = co_await pipe.async_read(buf, asio::use_awaitable);
//           co_await pipe.async_write(std::span(buf).first(r.bytes), asio::use_awaitable);
//       }
//   }
//
// Which thread runs what (the rule):
//   - A handler runs through its associated executor - by default the pipe object's executor,
//     so on a thread running its io_context - and never inside the initiating function, even
//     when the operation completed at once.
//   - The work itself (the reads and writes on the connection, the broker's requests) happens
//     inside the initiating function as far as it can without waiting, then on a thread running
//     the object's executor when the descriptor is ready. The library starts no thread and hops
//     between none: nothing here touches npipe's own reactor thread.
//
// Errors are npipe's Win32 error codes (npipe/error.hpp): `ec == win32_error::broken_pipe`,
// `ec == std::errc::broken_pipe`. A part of a message is not an error: the read completes
// without one and read_result::more_data is set (the throwing blocking read's answer; the
// error_code& form says ERROR_MORE_DATA), so co_await does not throw on it.
//
// Cancellation: cancel() and close() end every pending operation of the object with
// ERROR_OPERATION_ABORTED (close(): ERROR_INVALID_HANDLE as Windows' CloseHandle does); a
// handler's cancellation slot (asio::bind_cancellation_slot, the awaitable operators, ...)
// ends that operation alone. Every cancellation type is honoured: a cancelled read gives its
// bytes back to the connection, a cancelled open leaves no connection behind; a write whose
// message started to go out goes out whole and reports what it wrote.
//
// Thread safety: as asio's sockets. Distinct objects: safe. One object: not safe - its
// initiating functions, cancel(), close(), disconnect() and destruction must not run at the
// same time (with several threads running the io_context, give the object a strand). One read,
// one write (or one transact) and one connect may be pending on an object at once.
#pragma once

#include <npipe/async.hpp>
#include <npipe/detail/asio_ops.hpp>
#include <npipe/named_pipe.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution_context.hpp>
#include <asio/is_executor.hpp>
#include <asio/execution/executor.hpp>

#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <tuple>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace npipe::async {

namespace detail {
template <class T>
inline constexpr bool is_executor_v = ::asio::execution::is_executor<T>::value || ::asio::is_executor<T>::value;
} // namespace detail

/// What both ends offer: the data operations, cancel and close. `End` is npipe::server_instance
/// or npipe::client. Not used on its own.
template <class End, class Executor>
class basic_pipe_end {
public:
    using executor_type = Executor;

    executor_type get_executor() const noexcept { return core_->executor; }
    /// The blocking end underneath, for what has no asynchronous form (peek, info, set_state,
    /// flush, security, ...). Do not close, disconnect or move it while it is wrapped.
    /// Precondition: is_open().
    End& next_layer() noexcept { return *end_; }
    const End& next_layer() const noexcept { return *end_; }
    bool is_open() const noexcept { return end_.has_value(); }

    /// ReadFile. Completion: void(std::error_code, npipe::read_result). Byte read mode: what is
    /// there, at least one byte. Message read mode: one message; a buffer too small for it
    /// completes without error and with more_data, and the next read continues the message.
    /// Errors as the blocking read(): ERROR_BROKEN_PIPE (peer gone, nothing left),
    /// ERROR_PIPE_NOT_CONNECTED, ERROR_PIPE_LISTENING, ERROR_ACCESS_DENIED, ERROR_NO_DATA
    /// (PIPE_NOWAIT and nothing there), ERROR_OPERATION_ABORTED.
    template <class Token>
    auto async_read(std::span<std::byte> buffer, Token&& token) {
        return start<void(std::error_code, read_result)>(
            std::forward<Token>(token), [this, buffer] { return end_ ? async_operation::read(*end_, buffer) : closed(); },
            read_finish{}, detail::first_wait::read);
    }

    /// WriteFile: all of `data` (one message on a message pipe; zero bytes is one too).
    /// Completion: void(std::error_code, std::size_t written). Errors: ERROR_NO_DATA (peer
    /// gone), ERROR_PIPE_NOT_CONNECTED, ERROR_ACCESS_DENIED, ERROR_OPERATION_ABORTED.
    template <class Token>
    auto async_write(std::span<const std::byte> data, Token&& token) {
        return start<void(std::error_code, std::size_t)>(
            std::forward<Token>(token), [this, data] { return end_ ? async_operation::write(*end_, data) : closed(); },
            write_finish{}, detail::first_wait::write);
    }

    /// TransactNamedPipe: writes `request` as one message and reads one reply message.
    /// Completion: void(std::error_code, npipe::read_result) (more_data: the reply goes on).
    /// Errors: ERROR_BAD_PIPE (not a message pipe in message read mode), ERROR_PIPE_BUSY (unread
    /// data), and those of read and write.
    template <class Token>
    auto async_transact(std::span<const std::byte> request, std::span<std::byte> reply, Token&& token) {
        return start<void(std::error_code, read_result)>(
            std::forward<Token>(token),
            [this, request, reply] {
                return end_ ? async_operation::transact(*end_, request, reply) : closed();
            }, read_finish{}, detail::first_wait::read); // the request goes out at once, as a rule
    }

    /// Ends every pending operation with ERROR_OPERATION_ABORTED (their handlers run later).
    void cancel() noexcept { core_->abort_all(npipe::make_error_code(win32_error::operation_aborted)); }

    /// Ends every pending operation with ERROR_INVALID_HANDLE and closes the end (the peer
    /// reads what is left, then ERROR_BROKEN_PIPE). Destruction does the same.
    void close() noexcept {
        if (!core_) return;
        core_->close(npipe::make_error_code(win32_error::invalid_handle));
        end_.reset();
    }

protected:
    basic_pipe_end(const Executor& ex, std::optional<End> end)
        : core_(std::make_unique<detail::end_core<Executor>>(ex)), end_(std::move(end)) {}
    basic_pipe_end(basic_pipe_end&& o) noexcept : core_(std::move(o.core_)), end_(std::exchange(o.end_, std::nullopt)) {}
    basic_pipe_end& operator=(basic_pipe_end&& o) noexcept {
        if (this != &o) {
            close();
            core_ = std::move(o.core_);
            end_ = std::exchange(o.end_, std::nullopt);
        }
        return *this;
    }

    static async_operation closed() { return async_operation::failed(npipe::make_error_code(win32_error::invalid_handle)); }
    ~basic_pipe_end() { close(); }

    struct read_finish {
        std::tuple<std::error_code, read_result> operator()(const async_operation& op) const {
            auto ec = op.error();
            if (ec == win32_error::more_data) ec.clear(); // result().more_data says it
            return {ec, op.result()};
        }
    };
    struct write_finish {
        std::tuple<std::error_code, std::size_t> operator()(const async_operation& op) const {
            return {op.error(), op.result().bytes};
        }
    };

    /// async_initiate for an operation that `make` creates when it starts, and that is likely
    /// to wait first as `likely` says.
    template <class Signature, class Token, class Make, class Finish>
    auto start(Token&& token, Make make, Finish finish, detail::first_wait likely = detail::first_wait::unknown) {
        return ::asio::async_initiate<Token, Signature>(
            [this, make, finish, likely](auto&& handler) mutable {
                detail::launch(core_->executor, core_.get(), make(), std::forward<decltype(handler)>(handler),
                               std::move(finish), likely);
            },
            token);
    }

    std::unique_ptr<detail::end_core<Executor>> core_;
    std::optional<End> end_; ///< empty once closed
};

/// A server instance of a named pipe (CreateNamedPipe) for asio.
template <class Executor = ::asio::any_io_executor>
class basic_server_instance : public basic_pipe_end<npipe::server_instance, Executor> {
    using base = basic_pipe_end<npipe::server_instance, Executor>;

public:
    /// CreateNamedPipe (npipe::server_instance::create: its errors, thrown as std::system_error).
    basic_server_instance(const Executor& ex, std::string_view name, const server_options& options = {})
        : base(ex, npipe::server_instance::create(name, options)) {}
    /// The same, reporting through `ec` (the object is then closed).
    basic_server_instance(const Executor& ex, std::string_view name, const server_options& options,
                          std::error_code& ec)
        : base(ex, create(name, options, ec)) {}
    template <class Context, class = std::enable_if_t<std::is_convertible_v<Context&, ::asio::execution_context&>>>
    basic_server_instance(Context& ctx, std::string_view name, const server_options& options = {})
        : basic_server_instance(Executor(ctx.get_executor()), name, options) {}
    /// Takes over an instance made with the blocking API.
    basic_server_instance(const Executor& ex, npipe::server_instance instance) : base(ex, std::move(instance)) {}

    basic_server_instance(basic_server_instance&&) noexcept = default;
    basic_server_instance& operator=(basic_server_instance&&) noexcept = default;
    ~basic_server_instance() = default;

    /// ConnectNamedPipe: completes when a client is connected - also when it had come before
    /// (Windows' ERROR_PIPE_CONNECTED is a success here). Completion: void(std::error_code).
    /// Errors: ERROR_NO_DATA (the client came and went: its data can still be read;
    /// disconnect() before the next connect), ERROR_OPERATION_ABORTED.
    template <class Token>
    auto async_connect(Token&& token) {
        this->core_->drop_connection(); // a new connection comes
        return this->template start<void(std::error_code)>(
            std::forward<Token>(token), [this] { return this->end_ ? async_operation::connect(*this->end_) : base::closed(); }, error_finish{});
    }

    /// DisconnectNamedPipe (blocking, but brief for a connected instance: one message to the
    /// broker). Pending reads and writes end with ERROR_PIPE_NOT_CONNECTED.
    void disconnect() {
        std::error_code ec;
        disconnect(ec);
        if (ec) throw std::system_error(ec, "DisconnectNamedPipe");
    }
    void disconnect(std::error_code& ec) noexcept {
        this->core_->abort_all(npipe::make_error_code(win32_error::pipe_not_connected));
        this->core_->drop_connection();
        if (this->end_) this->end_->disconnect(ec);
        else ec = npipe::make_error_code(win32_error::invalid_handle);
    }

private:
    static std::optional<npipe::server_instance> create(std::string_view name, const server_options& options,
                                                        std::error_code& ec) {
        auto made = npipe::server_instance::create(name, options, ec);
        if (ec) return std::nullopt;
        return made;
    }

    struct error_finish {
        std::tuple<std::error_code> operator()(const async_operation& op) const { return {op.error()}; }
    };
};

/// The client end of a named pipe for asio; async_open() makes one.
template <class Executor = ::asio::any_io_executor>
class basic_client : public basic_pipe_end<npipe::client, Executor> {
    using base = basic_pipe_end<npipe::client, Executor>;

public:
    /// A closed client (what a failed async_open completes with).
    explicit basic_client(const Executor& ex) : base(ex, std::nullopt) {}
    /// Takes over a client opened with the blocking API.
    basic_client(const Executor& ex, npipe::client c) : base(ex, std::move(c)) {}

    basic_client(basic_client&&) noexcept = default;
    basic_client& operator=(basic_client&&) noexcept = default;
    ~basic_client() = default;
};

using server_instance = basic_server_instance<>;
using client = basic_client<>;

/// CreateFile on a pipe name. Completion: void(std::error_code, basic_client<Executor>).
/// With `wait`, an open that finds every instance busy waits once for one to listen
/// (WaitNamedPipe: use_default_wait, wait_forever or a time) and tries again. Errors:
/// ERROR_FILE_NOT_FOUND, ERROR_PIPE_BUSY, ERROR_SEM_TIMEOUT (the wait), ERROR_ACCESS_DENIED,
/// ERROR_INVALID_NAME, ERROR_SERVICE_NOT_ACTIVE, ERROR_OPERATION_ABORTED (cancellation slot).
template <class Executor, class Token, class = std::enable_if_t<detail::is_executor_v<Executor>>>
auto async_open(const Executor& ex, std::string_view name, const client_options& options,
                std::optional<std::chrono::milliseconds> wait, Token&& token) {
    auto finish = [ex](async_operation& op) {
        auto ec = op.error();
        return std::tuple<std::error_code, basic_client<Executor>>{
            ec, ec ? basic_client<Executor>(ex) : basic_client<Executor>(ex, op.take_client())};
    };
    return ::asio::async_initiate<Token, void(std::error_code, basic_client<Executor>)>(
        [ex, name = std::string(name), options, wait, finish](auto&& handler) {
            detail::launch(ex, static_cast<detail::end_core<Executor>*>(nullptr),
                           async_operation::open(name, options, wait), std::forward<decltype(handler)>(handler),
                           finish);
        },
        token);
}

/// The same on an execution context (an io_context): the client has an any_io_executor.
template <class Context, class Token,
          class = std::enable_if_t<std::is_convertible_v<Context&, ::asio::execution_context&>>>
auto async_open(Context& ctx, std::string_view name, const client_options& options,
                std::optional<std::chrono::milliseconds> wait, Token&& token) {
    return async_open(::asio::any_io_executor(ctx.get_executor()), name, options, wait, std::forward<Token>(token));
}

/// WaitNamedPipe: completes when an instance of the pipe listens. Completion:
/// void(std::error_code). Errors: ERROR_FILE_NOT_FOUND (no such pipe, or it went),
/// ERROR_SEM_TIMEOUT, ERROR_OPERATION_ABORTED (cancellation slot).
template <class Executor, class Token, class = std::enable_if_t<detail::is_executor_v<Executor>>>
auto async_wait_named_pipe(const Executor& ex, std::string_view name, std::chrono::milliseconds timeout,
                           Token&& token) {
    auto finish = [](const async_operation& op) { return std::tuple<std::error_code>{op.error()}; };
    return ::asio::async_initiate<Token, void(std::error_code)>(
        [ex, name = std::string(name), timeout, finish](auto&& handler) {
            detail::launch(ex, static_cast<detail::end_core<Executor>*>(nullptr),
                           async_operation::wait_named_pipe(name, timeout), std::forward<decltype(handler)>(handler),
                           finish);
        },
        token);
}

} // namespace npipe::async
