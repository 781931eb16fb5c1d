// The asynchronous C++ API (npipe/asio.hpp) on asio: callbacks, coroutines, cancellation,
// message mode, transact, open's wait, a peer that goes, an end closed under pending
// operations. Each test has a private broker (named_pipe_test) and runs its io_context for a
// bounded time: a test that would hang fails instead.
#include "fixture.hpp"

#include <npipe/asio.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <thread>

namespace {

using namespace npipe_test;
using namespace std::chrono_literals;
using asio::awaitable;
using asio::use_awaitable;
using npipe::win32_error;

class asio_pipe : public named_pipe_test {
protected:
    /// Runs the context until it has no work left; false if that took longer than `limit`.
    bool run(std::chrono::seconds limit = 20s) {
        ctx.run_for(limit);
        return ctx.stopped();
    }
    /// Runs `body` as a coroutine on the context; true when it finished.
    template <class F>
    bool run_coroutine(F body) {
        bool finished = false;
        std::exception_ptr failure;
        asio::co_spawn(ctx, std::move(body), [&](std::exception_ptr e) {
            failure = e;
            finished = true;
        });
        bool ok = run();
        if (failure) std::rethrow_exception(failure);
        return ok && finished;
    }
    npipe::server_options message_pipe() const {
        npipe::server_options o;
        o.type = npipe::pipe_type::message;
        o.read_mode = npipe::read_mode::message;
        return o;
    }

    asio::io_context ctx;
};

std::span<const std::byte> as_data(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

/// Writes back what each read brings until a read fails; that error.
awaitable<std::error_code> echo_until_error(npipe::async::server_instance& s) {
    std::array<std::byte, 64> buf{};
    for (;;) {
        auto [ec, r] = co_await s.async_read(buf, asio::experimental::as_tuple(use_awaitable));
        if (ec) co_return ec;
        co_await s.async_write(std::span(buf).first(r.bytes), use_awaitable);
    }
}

TEST_F(asio_pipe, EchoWithCoroutinesOnOneThread) {
    auto name = pipe_name("co-echo");
    npipe::async::server_instance server(ctx, name);
    auto serve = [&]() -> awaitable<void> {
        co_await server.async_connect(use_awaitable);
        EXPECT_EQ(co_await echo_until_error(server), win32_error::broken_pipe);
    };
    asio::co_spawn(ctx, serve(), asio::detached);
    std::string got;
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        auto c = co_await npipe::async::async_open(ctx, name, {}, std::nullopt, use_awaitable);
        for (std::string_view word : {"one", "two", "three"}) {
            auto n = co_await c.async_write(as_data(word), use_awaitable);
            EXPECT_EQ(n, word.size());
            std::array<std::byte, 64> buf{};
            std::size_t have = 0;
            while (have < word.size()) have += (co_await c.async_read(std::span(buf).subspan(have), use_awaitable)).bytes;
            got += text(std::span(buf).first(have));
        }
        c.close(); // the server's read ends with ERROR_BROKEN_PIPE
    }));
    EXPECT_EQ(got, "onetwothree");
}

TEST_F(asio_pipe, HandlersRunOnTheContextAndNeverInsideTheCall) {
    auto name = pipe_name("handler-thread");
    npipe::async::server_instance server(ctx, name);
    auto c = npipe::client::open(name);
    c.write(as_data("x")); // the read below can complete at once
    std::array<std::byte, 8> buf{};
    bool inside = true, done = false;
    std::thread::id ran_on;
    server.async_connect([&](std::error_code ec) {
        EXPECT_FALSE(ec); // the client had come: a success
        server.async_read(buf, [&](std::error_code rec, npipe::read_result r) {
            EXPECT_FALSE(rec);
            EXPECT_EQ(r.bytes, 1u);
            EXPECT_FALSE(inside);
            ran_on = std::this_thread::get_id();
            done = true;
        });
        inside = false;
    });
    std::thread runner([&] { run(); });
    runner.join();
    EXPECT_TRUE(done);
    EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST_F(asio_pipe, PartialMessageIsMoreDataThenTheRest) {
    auto name = pipe_name("more-data");
    npipe::async::server_instance server(ctx, name, message_pipe());
    auto c = npipe::client::open(name);
    c.write(as_data("0123456789"));
    c.write(as_data("")); // a zero-length message is a message
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        co_await server.async_connect(use_awaitable);
        std::array<std::byte, 4> small{};
        auto first = co_await server.async_read(small, use_awaitable); // no throw: not an error
        EXPECT_EQ(first.bytes, 4u);
        EXPECT_TRUE(first.more_data);
        EXPECT_EQ(text(small), "0123");
        std::array<std::byte, 16> rest{};
        auto second = co_await server.async_read(rest, use_awaitable);
        EXPECT_FALSE(second.more_data);
        EXPECT_EQ(text(std::span(rest).first(second.bytes)), "456789");
        auto empty = co_await server.async_read(rest, use_awaitable);
        EXPECT_EQ(empty.bytes, 0u);
        EXPECT_FALSE(empty.more_data);
    }));
}

TEST_F(asio_pipe, TransactAgainstAnotherProcess) {
    auto name = pipe_name("transact");
    auto srv = ready_peer({"serve-echo", name, "message", "1"});
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        auto c = co_await npipe::async::async_open(ctx, name, {}, 5000ms, use_awaitable);
        c.next_layer().set_state(npipe::read_mode::message, std::nullopt);
        std::array<std::byte, 32> reply{};
        auto r = co_await c.async_transact(as_data("ping"), reply, use_awaitable);
        EXPECT_EQ(text(std::span(reply).first(r.bytes)), "ping");
        std::array<std::byte, 2> tiny{};
        r = co_await c.async_transact(as_data("pong!"), tiny, use_awaitable);
        EXPECT_TRUE(r.more_data);
        EXPECT_EQ(text(tiny), "po");
        auto rest = co_await c.async_read(reply, use_awaitable);
        EXPECT_EQ(text(std::span(reply).first(rest.bytes)), "ng!");
    }));
}

TEST_F(asio_pipe, TransactOnAByteReadModeIsBadPipe) {
    auto name = pipe_name("transact-byte");
    npipe::async::server_instance server(ctx, name, message_pipe());
    std::error_code got;
    npipe::async::async_open(ctx, name, {}, std::nullopt,
                             [&](std::error_code ec, npipe::async::client c) {
                                 ASSERT_FALSE(ec);
                                 auto keep = std::make_shared<npipe::async::client>(std::move(c));
                                 std::array<std::byte, 8> reply{};
                                 keep->async_transact(as_data("x"), reply, [&, keep](std::error_code tec, npipe::read_result) {
                                     got = tec;
                                 });
                             });
    ASSERT_TRUE(run());
    EXPECT_EQ(got, win32_error::bad_pipe);
}

TEST_F(asio_pipe, OpenWaitsForAnInstanceToListen) {
    auto name = pipe_name("open-wait");
    npipe::server_options o;
    o.max_instances = 1;
    npipe::async::server_instance server(ctx, name, o);
    auto first = npipe::client::open(name); // the only instance is taken
    server.next_layer().connect();
    std::error_code busy, waited;
    npipe::async::async_open(ctx, name, {}, std::nullopt, [&](std::error_code ec, npipe::async::client) { busy = ec; });
    ASSERT_TRUE(run());
    ctx.restart();
    std::optional<npipe::async::client> second;
    npipe::async::async_open(ctx, name, {}, 10000ms, [&](std::error_code ec, npipe::async::client c) {
        waited = ec;
        second.emplace(std::move(c));
    });
    // The instance listens again only once the first client is cut off: then the waiting open
    // gets it (whether its request met the busy instance and waited, or came after).
    asio::post(ctx, [&] {
        server.disconnect();
        server.async_connect([](std::error_code ec) { EXPECT_FALSE(ec); });
    });
    ASSERT_TRUE(run());
    EXPECT_EQ(busy, win32_error::pipe_busy);
    EXPECT_FALSE(waited) << waited.message();
    ASSERT_TRUE(second && second->is_open());
    EXPECT_EQ(first.write(as_data("x"), waited), 0u);
    EXPECT_EQ(waited, win32_error::pipe_not_connected);
}

TEST_F(asio_pipe, OpenOfAMissingPipeAndWaitTimeout) {
    std::error_code missing, timeout;
    npipe::async::async_open(ctx, pipe_name("nobody"), {}, 100ms,
                             [&](std::error_code ec, npipe::async::client) { missing = ec; });
    auto name = pipe_name("wait-timeout");
    npipe::server_options o;
    o.max_instances = 1;
    auto inst = npipe::server_instance::create(name, o);
    auto holder = npipe::client::open(name);
    npipe::async::async_wait_named_pipe(ctx.get_executor(), name, 50ms, [&](std::error_code ec) { timeout = ec; });
    ASSERT_TRUE(run());
    EXPECT_EQ(missing, win32_error::file_not_found);
    EXPECT_EQ(timeout, win32_error::sem_timeout);
}

TEST_F(asio_pipe, CancellationSlotEndsOneReadAndGivesNothingAway) {
    auto name = pipe_name("cancel-slot");
    npipe::async::server_instance server(ctx, name);
    auto c = npipe::client::open(name);
    server.next_layer().connect();
    asio::cancellation_signal cancel_read;
    std::array<std::byte, 16> buf{};
    std::error_code read_ec, write_ec;
    server.async_read(buf, asio::bind_cancellation_slot(cancel_read.slot(),
                                                        [&](std::error_code ec, npipe::read_result) { read_ec = ec; }));
    // A write pending on the same connection goes on undisturbed.
    server.async_write(as_data("still here"), [&](std::error_code ec, std::size_t) { write_ec = ec; });
    asio::post(ctx, [&] { cancel_read.emit(asio::cancellation_type::terminal); });
    ASSERT_TRUE(run());
    EXPECT_EQ(read_ec, win32_error::operation_aborted);
    EXPECT_FALSE(write_ec);
    std::array<std::byte, 16> got{};
    EXPECT_EQ(text(std::span(got).first(c.read(got).bytes)), "still here");
    // What arrives after the cancelled read is all there for the next one.
    c.write(as_data("abc"));
    ctx.restart();
    npipe::read_result r;
    server.async_read(buf, [&](std::error_code ec, npipe::read_result rr) {
        EXPECT_FALSE(ec);
        r = rr;
    });
    ASSERT_TRUE(run());
    EXPECT_EQ(text(std::span(buf).first(r.bytes)), "abc");
}

TEST_F(asio_pipe, AwaitableOrTimerCancelsTheRead) {
    using namespace asio::experimental::awaitable_operators;
    auto name = pipe_name("cancel-or");
    npipe::async::server_instance server(ctx, name);
    auto c = npipe::client::open(name);
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        co_await server.async_connect(use_awaitable);
        asio::steady_timer timer(ctx, 20ms);
        std::array<std::byte, 8> buf{};
        auto which = co_await (server.async_read(buf, use_awaitable) || timer.async_wait(use_awaitable));
        EXPECT_EQ(which.index(), 1u); // the timer: the read was cancelled, and the context ran dry
    }));
}

TEST_F(asio_pipe, CancelMemberEndsConnectAndRead) {
    auto name = pipe_name("cancel-member");
    npipe::async::server_instance server(ctx, name);
    std::error_code connect_ec;
    server.async_connect([&](std::error_code ec) { connect_ec = ec; });
    asio::post(ctx, [&] { server.cancel(); });
    ASSERT_TRUE(run());
    EXPECT_EQ(connect_ec, win32_error::operation_aborted);
    // The instance still listens (as on Windows): a client connects, and the next connect sees it.
    auto c = npipe::client::open(name);
    ctx.restart();
    server.async_connect([&](std::error_code ec) { connect_ec = ec; });
    ASSERT_TRUE(run());
    EXPECT_FALSE(connect_ec);
}

TEST_F(asio_pipe, DeferredTokenStartsWhenInvoked) {
    auto name = pipe_name("deferred");
    npipe::async::server_instance server(ctx, name);
    auto c = npipe::client::open(name);
    c.write(as_data("hi"));
    std::array<std::byte, 8> buf{};
    std::size_t got = 0;
    auto op = server.async_connect(asio::experimental::deferred);
    std::move(op)([&](std::error_code ec) {
        ASSERT_FALSE(ec);
        server.async_read(buf, [&](std::error_code, npipe::read_result r) { got = r.bytes; });
    });
    ASSERT_TRUE(run());
    EXPECT_EQ(got, 2u);
}

TEST_F(asio_pipe, PeerProcessGoneEndsTheRead) {
    auto name = pipe_name("peer-gone");
    npipe::async::server_instance server(ctx, name);
    auto client_proc = peer({"client-send", name, "hello"});
    std::string got;
    std::error_code last;
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        co_await server.async_connect(use_awaitable);
        std::array<std::byte, 16> buf{};
        auto r = co_await server.async_read(buf, use_awaitable);
        got = text(std::span(buf).first(r.bytes));
        co_await server.async_write(as_data("bye"), use_awaitable);
        // The client prints the reply and exits: the next read finds it gone.
        auto [ec, rest] = co_await server.async_read(buf, asio::experimental::as_tuple(use_awaitable));
        last = ec;
        EXPECT_EQ(rest.bytes, 0u);
    }));
    EXPECT_EQ(got, "hello");
    EXPECT_EQ(last, win32_error::broken_pipe);
    EXPECT_EQ(client_proc.wait(), 0);
}

TEST_F(asio_pipe, CloseWhileOperationsPending) {
    auto name = pipe_name("close-pending");
    auto server = std::make_unique<npipe::async::server_instance>(ctx, name);
    auto c = npipe::client::open(name);
    server->next_layer().connect();
    std::array<std::byte, 8> buf{};
    std::error_code read_ec;
    server->async_read(buf, [&](std::error_code ec, npipe::read_result) { read_ec = ec; });
    asio::post(ctx, [&] { server.reset(); }); // destroyed with its read pending
    ASSERT_TRUE(run());
    EXPECT_EQ(read_ec, win32_error::invalid_handle);
    EXPECT_EQ(c.read(buf, read_ec).bytes, 0u);
    EXPECT_EQ(read_ec, win32_error::broken_pipe);

    // A pending connect, and an operation on a closed end.
    ctx.restart();
    npipe::async::server_instance second(ctx, pipe_name("close-pending-2"));
    std::error_code connect_ec, after_ec;
    second.async_connect([&](std::error_code ec) { connect_ec = ec; });
    asio::post(ctx, [&] {
        second.close();
        second.async_read(buf, [&](std::error_code ec, npipe::read_result) { after_ec = ec; });
    });
    ASSERT_TRUE(run());
    EXPECT_EQ(connect_ec, win32_error::invalid_handle);
    EXPECT_EQ(after_ec, win32_error::invalid_handle);
}

TEST_F(asio_pipe, ManyClientsOneThread) {
    auto name = pipe_name("many");
    constexpr int clients = 16;
    std::vector<std::unique_ptr<npipe::async::server_instance>> instances;
    for (int i = 0; i < clients; ++i) {
        instances.push_back(std::make_unique<npipe::async::server_instance>(ctx, name));
        asio::co_spawn(ctx, [&inst = *instances.back()]() -> awaitable<void> {
            co_await inst.async_connect(use_awaitable);
            co_await echo_until_error(inst);
        }, asio::detached);
    }
    std::vector<process> procs;
    for (int i = 0; i < clients; ++i) procs.push_back(peer({"client-send", name, "n" + std::to_string(i)}));
    std::thread runner([&] { run(); });
    for (auto& p : procs) EXPECT_EQ(p.wait(), 0);
    asio::post(ctx, [&] { instances.clear(); });
    runner.join();
    EXPECT_TRUE(ctx.stopped());
}

// A strand on a context that two threads run: every handler runs in the strand (the object's
// rule for several threads), through a whole echo and a cancelled read.
TEST_F(asio_pipe, StrandOnTwoThreadsSerializesEveryHandler) {
    auto name = pipe_name("strand");
    auto strand = asio::make_strand(ctx);
    npipe::async::basic_server_instance<decltype(strand)> server(strand, name);
    auto c = npipe::client::open(name);
    std::atomic<int> outside{0};
    int echoed = 0;
    std::error_code cancelled;
    std::array<std::byte, 64> buf{};
    constexpr int rounds = 200;
    auto check = [&] {
        if (!strand.running_in_this_thread()) ++outside;
    };
    std::function<void()> next;
    next = [&] {
        server.async_read(buf, [&](std::error_code ec, npipe::read_result r) {
            check();
            if (ec) return;
            server.async_write(std::span(buf).first(r.bytes), [&](std::error_code wec, std::size_t) {
                check();
                if (wec) return;
                if (++echoed < rounds) return next();
                // A read nothing will come for, cancelled from the strand.
                server.async_read(buf, [&](std::error_code rec, npipe::read_result) {
                    check();
                    cancelled = rec;
                });
                asio::post(strand, [&] { server.cancel(); });
            });
        });
    };
    asio::post(strand, [&] {
        server.async_connect([&](std::error_code ec) {
            check();
            EXPECT_FALSE(ec);
            next();
        });
    });
    std::thread a([&] { ctx.run_for(20s); });
    std::thread b([&] { ctx.run_for(20s); });
    std::array<std::byte, 64> got{};
    for (int i = 0; i < rounds; ++i) {
        c.write(as_data("ping"));
        std::size_t have = 0;
        while (have < 4) have += c.read(std::span(got).subspan(have)).bytes;
        ASSERT_EQ(text(std::span(got).first(have)), "ping");
    }
    a.join();
    b.join();
    EXPECT_TRUE(ctx.stopped());
    EXPECT_EQ(echoed, rounds);
    EXPECT_EQ(cancelled, win32_error::operation_aborted);
    EXPECT_EQ(outside, 0);
}

// An io_context destroyed while operations wait: a read and a connect inside coroutines that
// own their ends, a connect whose callback owns its end, and an open waiting for a busy pipe.
// Everything is freed without running (the sanitizer build checks that nothing leaks), no
// descriptor is left open or closed twice, and the client sees the server end close.
TEST_F(asio_pipe, ContextDestroyedWithOperationsPending) {
    auto name = pipe_name("ctx-gone"), lone = pipe_name("ctx-gone-lone");
    {   // what the library opens once per process (its reactor), before counting
        npipe::async::server_instance warm(ctx, pipe_name("ctx-gone-warm"));
        auto c = npipe::client::open(pipe_name("ctx-gone-warm"));
    }
    const std::size_t before = open_descriptors(::getpid());
    auto io = std::make_unique<asio::io_context>();
    bool reading = false, connecting = false, owning = false, opening = false;
    auto wait_in_read = [&](npipe::async::server_instance s) -> awaitable<void> {
        co_await s.async_connect(use_awaitable);
        std::array<std::byte, 8> buf{};
        reading = true;
        co_await s.async_read(buf, use_awaitable); // nothing comes
        ADD_FAILURE() << "the read completed";
    };
    auto wait_in_connect = [&](npipe::async::server_instance s) -> awaitable<void> {
        connecting = true;
        co_await s.async_connect(use_awaitable); // no second client comes
        ADD_FAILURE() << "the connect completed";
    };
    npipe::server_options one;
    one.max_instances = 1;
    asio::co_spawn(*io, wait_in_read(npipe::async::server_instance(*io, name, one)), asio::detached);
    std::optional<npipe::client> c;
    {
        auto deadline = std::chrono::steady_clock::now() + 20s;
        while (!c && std::chrono::steady_clock::now() < deadline) {
            io->poll();
            std::error_code ec;
            auto opened = npipe::client::open(name, {}, ec);
            if (!ec) c.emplace(std::move(opened));
        }
        ASSERT_TRUE(c);
    }
    asio::co_spawn(*io, wait_in_connect(npipe::async::server_instance(*io, lone)), asio::detached);
    {   // a callback that owns its end: the end goes when the callback does
        auto owned = std::make_shared<npipe::async::server_instance>(*io, pipe_name("ctx-gone-owned"));
        owned->async_connect([owned](std::error_code) { ADD_FAILURE() << "the owned connect completed"; });
        owning = true;
    }
    // The pipe's one instance is busy: the open waits for it to listen.
    npipe::async::async_open(*io, name, {}, 20000ms, [&](std::error_code, npipe::async::client) {
        ADD_FAILURE() << "the open completed";
    });
    opening = true;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!(reading && connecting && npipe::get_broker_status().waiters == 1) && std::chrono::steady_clock::now() < deadline)
        io->run_one_for(100ms);
    ASSERT_TRUE(reading && connecting && owning && opening);
    ASSERT_EQ(npipe::get_broker_status().waiters, 1u) << "the open is not waiting";
    io.reset();
    std::array<std::byte, 8> buf{};
    std::error_code ec;
    EXPECT_EQ(c->read(buf, ec).bytes, 0u);
    EXPECT_EQ(ec, win32_error::broken_pipe);
    c.reset();
    EXPECT_TRUE(eventually([&] { return open_descriptors(::getpid()) == before; }))
        << open_descriptors(::getpid()) << " descriptors open, " << before << " before";
}

// disconnect() and a new async_connect on the same instance: the next client's connection is
// watched afresh, whatever descriptor number it gets.
TEST_F(asio_pipe, AnInstanceServesOneClientAfterAnother) {
    auto name = pipe_name("again");
    npipe::async::server_instance server(ctx, name);
    constexpr int rounds = 3;
    std::thread clients([&] {
        for (int i = 0; i < rounds; ++i) {
            std::error_code ec;
            npipe::wait_named_pipe(name, 10000ms, {}, ec);
            auto c = npipe::client::open(name, {}, ec);
            if (ec) return ADD_FAILURE() << "open " << i << ": " << ec.message();
            std::string word = "round" + std::to_string(i);
            c.write(as_data(word));
            std::array<std::byte, 64> buf{};
            std::size_t have = 0;
            while (have < word.size()) {
                auto r = c.read(std::span(buf).subspan(have), ec);
                if (ec) return ADD_FAILURE() << "read " << i << ": " << ec.message();
                have += r.bytes;
            }
            EXPECT_EQ(text(std::span(buf).first(have)), word);
        }
    });
    ASSERT_TRUE(run_coroutine([&]() -> awaitable<void> {
        for (int i = 0; i < rounds; ++i) {
            co_await server.async_connect(use_awaitable);
            EXPECT_EQ(co_await echo_until_error(server), win32_error::broken_pipe);
            server.disconnect();
        }
    }));
    clients.join();
}

// A plain io_context run by two threads, a coroutine per instance: the reactor operations step
// on whichever thread polls, and each instance's operations still follow one another.
TEST_F(asio_pipe, CoroutinesOnAContextThatTwoThreadsRun) {
    auto name = pipe_name("two-threads");
    constexpr int instances = 4, rounds = 200;
    std::vector<std::unique_ptr<npipe::async::server_instance>> servers;
    std::atomic<int> finished{0};
    for (int i = 0; i < instances; ++i) {
        servers.push_back(std::make_unique<npipe::async::server_instance>(ctx, name));
        asio::co_spawn(ctx, [&inst = *servers.back(), &finished]() -> awaitable<void> {
            co_await inst.async_connect(use_awaitable);
            co_await echo_until_error(inst);
            ++finished;
        }, asio::detached);
    }
    std::thread a([&] { ctx.run_for(20s); });
    std::thread b([&] { ctx.run_for(20s); });
    std::vector<std::thread> clients;
    for (int i = 0; i < instances; ++i)
        clients.emplace_back([&, i] {
            auto c = npipe::client::open(name);
            for (int n = 0; n < rounds; ++n) {
                std::string word = std::to_string(i) + ":" + std::to_string(n);
                c.write(as_data(word));
                std::array<std::byte, 64> buf{};
                std::size_t have = 0;
                while (have < word.size()) have += c.read(std::span(buf).subspan(have)).bytes;
                ASSERT_EQ(text(std::span(buf).first(have)), word);
            }
        });
    for (auto& t : clients) t.join();
    ASSERT_TRUE(eventually([&] { return finished == instances; }));
    asio::post(ctx, [&] { servers.clear(); });
    a.join();
    b.join();
    EXPECT_TRUE(ctx.stopped());
}

} // namespace
