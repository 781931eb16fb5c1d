// npipe serve --echo on the asynchronous API (npipe/asio.hpp): one thread serves every client.
// Each instance is a coroutine - wait for a client, echo until it goes, disconnect, again - and
// instances are created as clients arrive, up to --instances, so that one always listens.
#include "output.hpp"
#include "serve.hpp"

#include "os/poller.hpp"

#include <npipe/asio.hpp>

#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <list>

namespace npipe::cli {
namespace {

using asio::awaitable;
constexpr auto tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t chunk = 64 * 1024;

class echo_server {
public:
    echo_server(server_state& st, int signals) : st_(st), signals_(ctx_) {
        std::error_code ec;
        signals_.assign(signals, ec); // a signalfd: readable when SIGINT, SIGTERM or SIGHUP came
        signals_.async_wait(asio::posix::stream_descriptor::wait_read, [this, signals](const std::error_code& wec) {
            if (wec) return;
            while (os::read_signal(signals)) {}
            stop();
        });
    }

    int run(server_instance first) {
        add(std::move(first));
        ctx_.run();
        (void)signals_.release(); // the caller owns the signalfd
        return st_.status;
    }

private:
    using instance = npipe::async::server_instance;

    void add(server_instance inst) {
        auto it = instances_.emplace(instances_.end(), ctx_.get_executor(), std::move(inst));
        ++idle_;
        asio::co_spawn(ctx_, serve(*it), [this, it](std::exception_ptr, bool was_idle) { ended(it, was_idle); });
    }

    /// An instance stopped serving (closed, or it failed).
    void ended(std::list<instance>::iterator it, bool was_idle) {
        if (was_idle) --idle_;
        instances_.erase(it);
        if (instances_.empty() && !stopping_) { // every instance failed
            st_.status = exit_failure;
            stop();
        }
    }

    void stop() {
        stopping_ = true;
        std::error_code ignored;
        signals_.cancel(ignored);
        for (auto& i : instances_) i.close(); // their coroutines end with ERROR_INVALID_HANDLE
    }

    /// A client took an instance: make sure another one listens, up to the limit.
    void grow() {
        if (idle_ > 0 || instances_.size() >= st_.options.max_instances || stopping_) return;
        server_options o = st_.options;
        o.first_instance = false;
        std::error_code ec;
        auto next = server_instance::create(st_.name, o, ec);
        if (!ec) return add(std::move(next));
        // Another process may hold the remaining instances; that is no error of ours.
        if (ec != win32_error::pipe_busy) report(fmt::format("cannot create another instance of {}", st_.name), ec);
    }

    /// Waits for a client, echoes, disconnects, again; until stopped. Returns whether the
    /// instance was idle (listening) when it ended.
    awaitable<bool> serve(instance& inst) {
        for (;;) {
            auto [ec] = co_await inst.async_connect(tuple_awaitable);
            // ERROR_NO_DATA: the client came and went before we looked; what it wrote is still
            // there, so serve it like any client.
            if (ec && ec != win32_error::no_data) {
                if (!stopping_) report(fmt::format("{}: cannot wait for a client", st_.name), ec);
                co_return true;
            }
            --idle_;
            grow();
            co_await echo(inst);
            if (stopping_) co_return false;
            inst.disconnect(ec);
            if (ec) {
                report(fmt::format("{}: cannot disconnect the client", st_.name), ec);
                co_return false;
            }
            ++idle_;
        }
    }

    /// Sends every message (or chunk, on a byte pipe) back until the client goes.
    awaitable<void> echo(instance& inst) {
        std::vector<std::byte> buf(chunk);
        for (;;) {
            std::size_t used = 0;
            for (;;) { // one message (on a message pipe it may take several reads)
                auto [ec, r] = co_await inst.async_read(std::span(buf).subspan(used), tuple_awaitable);
                used += r.bytes;
                if (ec) {
                    if (!peer_gone(ec) && !stopping_) report(fmt::format("{}: cannot read from the client", st_.name), ec);
                    co_return;
                }
                if (!(r.more_data && st_.message)) break;
                if (buf.size() - used < chunk) buf.resize(buf.size() * 2);
            }
            if (used == 0 && !st_.message) continue;
            // A message comes back as one message, an empty one too.
            auto [ec, n] = co_await inst.async_write(std::span(buf).first(used), tuple_awaitable);
            if (ec) {
                if (!peer_gone(ec) && !stopping_) report(fmt::format("{}: cannot write to the client", st_.name), ec);
                co_return;
            }
        }
    }

    server_state& st_;
    asio::io_context ctx_{1};
    asio::posix::stream_descriptor signals_;
    std::list<instance> instances_; // stable addresses: each coroutine holds its own
    std::size_t idle_ = 0;
    bool stopping_ = false;
};

} // namespace

int echo_serve(server_state& st, server_instance first, int signals) {
    echo_server server(st, signals);
    return server.run(std::move(first));
}

} // namespace npipe::cli
