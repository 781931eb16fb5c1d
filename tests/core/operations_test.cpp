// The C++ core's control-plane operations driven step by step, as overlapped I/O and an event
// loop will drive them: ConnectNamedPipe (connect_op), DisconnectNamedPipe (disconnect_op),
// CreateFile (open_op) and WaitNamedPipe (wait_op) against a real broker, left pending,
// completed by readiness, cancelled.
#include "client_impl.hpp"
#include "server_impl.hpp"

#include "fixture.hpp"

#include <npipe/namespace.hpp>

#include <poll.h>
#include <signal.h>

#include <optional>
#include <thread>
#include <utility>

using namespace npipe;
using namespace npipe::detail;
using namespace npipe_test;

namespace {

class operations : public named_pipe_test {};

/// Steps `op` (waiting between steps as it asks) until it completes or `limit` passes.
template <class Op>
bool drive(Op& op, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!op.completed()) {
        step_result r = op.step();
        if (r.done()) break;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (r.what == wait_for::time) {
            std::this_thread::sleep_for(std::min<std::chrono::microseconds>(r.retry_after, left));
            continue;
        }
        pollfd p{r.fd, static_cast<short>(r.what == wait_for::readable ? POLLIN : POLLOUT), 0};
        ::poll(&p, 1, static_cast<int>(left.count()));
    }
    return op.completed();
}

/// Whether `fd` becomes readable within `limit`.
bool readable(int fd, std::chrono::milliseconds limit) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(limit.count())) == 1;
}

/// Steps `op` (never waiting) until the broker counts it as a waiter.
template <class Op>
bool waiting_in_broker(Op& op) {
    return eventually([&] {
        if (!op.completed()) op.step();
        return !op.completed() && get_broker_status().waiters == 1;
    });
}

/// Stops the broker (SIGSTOP) until resumed: what is sent to it meanwhile waits unanswered.
class paused_broker {
public:
    paused_broker() : pid_(get_broker_status().pid) { EXPECT_TRUE(npipe_test::stop_process(pid_)); }
    paused_broker(const paused_broker&) = delete;
    paused_broker& operator=(const paused_broker&) = delete;
    ~paused_broker() { resume(); }
    void resume() {
        if (pid_ > 0) ::kill(std::exchange(pid_, 0), SIGCONT);
    }

private:
    pid_t pid_;
};

bool disconnecting(server_impl& s) {
    std::lock_guard lock(s.state_mutex);
    return s.disconnecting;
}

instance_state state_of(server_impl& s) {
    std::lock_guard lock(s.state_mutex);
    return s.state;
}

std::unique_ptr<server_impl> create(const std::string& name, const server_options& o = {}) {
    std::error_code ec;
    auto s = create_instance(name, o, ec);
    EXPECT_FALSE(ec) << ec.message();
    return s;
}

std::unique_ptr<client_impl> open(const std::string& name) {
    open_op op(name, {});
    EXPECT_TRUE(drive(op));
    EXPECT_FALSE(op.outcome().ec) << op.outcome().ec.message();
    return op.take();
}

TEST_F(operations, APendingConnectWaitsOnTheLinkAndCompletesWhenAClientOpens) {
    auto s = create(pipe_name("connect"));
    connect_op connect(*s);
    step_result r = connect.step();
    ASSERT_EQ(r.what, wait_for::readable) << "no client yet: the step waits";
    EXPECT_EQ(r.fd, s->native_handle()) << "on the instance's link";
    EXPECT_FALSE(connect.completed());

    open_op opening(pipe_name("connect"), {});
    r = opening.step();
    ASSERT_EQ(r.what, wait_for::readable) << "the request is out; the reply is waited for";
    ASSERT_TRUE(drive(opening));
    ASSERT_FALSE(opening.outcome().ec) << opening.outcome().ec.message();
    auto c = opening.take();
    ASSERT_TRUE(c);

    ASSERT_TRUE(readable(s->native_handle(), 10s)) << "the broker pushed the client to the link";
    EXPECT_TRUE(connect.step().done());
    EXPECT_FALSE(connect.outcome().ec);
    EXPECT_FALSE(connect.already_connected()) << "it waited for the client";

    std::error_code ec;
    c->write(bytes("ping"), ec);
    ASSERT_FALSE(ec);
    std::byte buf[8];
    EXPECT_EQ(s->read(buf, ec).bytes, 4u);
}

TEST_F(operations, ACancelledConnectLeavesTheInstanceListening) {
    auto s = create(pipe_name("cancel-connect"));
    connect_op connect(*s);
    ASSERT_EQ(connect.step().what, wait_for::readable);
    connect.cancel();
    EXPECT_TRUE(connect.completed());
    EXPECT_EQ(connect.outcome().ec, win32_error::operation_aborted);
    connect.cancel(); // nothing more happens
    EXPECT_EQ(connect.outcome().ec, win32_error::operation_aborted);

    // Windows: the instance still listens; a client that opens now is there for the next
    // ConnectNamedPipe, which reports ERROR_PIPE_CONNECTED.
    auto c = open(pipe_name("cancel-connect"));
    ASSERT_TRUE(c);
    connect_op again(*s);
    ASSERT_TRUE(drive(again));
    EXPECT_FALSE(again.outcome().ec);
    EXPECT_TRUE(again.already_connected());
}

TEST_F(operations, APendingWaitCompletesWhenAnInstanceListensAgain) {
    auto s = create(pipe_name("wait"));
    auto first = open(pipe_name("wait"));
    ASSERT_TRUE(first);
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));

    wait_op waiting(pipe_name("wait"), wait_forever, {});
    step_result r = waiting.step();
    ASSERT_EQ(r.what, wait_for::readable) << "the only instance is busy";
    EXPECT_FALSE(readable(r.fd, 0ms));

    std::error_code ec;
    s->disconnect(ec);
    ASSERT_FALSE(ec);
    connect_op listen(*s);
    EXPECT_FALSE(listen.step().done()) << "listening again";
    ASSERT_TRUE(drive(waiting));
    EXPECT_FALSE(waiting.outcome().ec) << waiting.outcome().ec.message();
}

TEST_F(operations, ACancelledWaitIsAbortedAndTheBrokerForgetsTheWaiter) {
    auto s = create(pipe_name("cancel-wait"));
    auto first = open(pipe_name("cancel-wait"));
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));
    wait_op waiting(pipe_name("cancel-wait"), wait_forever, {});
    ASSERT_TRUE(waiting_in_broker(waiting));
    waiting.cancel();
    EXPECT_EQ(waiting.outcome().ec, win32_error::operation_aborted);
    EXPECT_TRUE(eventually([] { return get_broker_status().waiters == 0; }));
}

TEST_F(operations, AnOpenThatMayWaitWaitsOnceForABusyPipe) {
    auto s = create(pipe_name("busy"));
    auto first = open(pipe_name("busy"));
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));

    open_op plain(pipe_name("busy"), {});
    ASSERT_TRUE(drive(plain));
    EXPECT_EQ(plain.outcome().ec, win32_error::pipe_busy);

    open_op patient(pipe_name("busy"), {}, 10s);
    ASSERT_TRUE(waiting_in_broker(patient)) << "the open found the pipe busy and waits";
    std::error_code ec;
    s->disconnect(ec);
    connect_op listen(*s);
    EXPECT_FALSE(listen.step().done());
    ASSERT_TRUE(drive(patient));
    EXPECT_FALSE(patient.outcome().ec) << patient.outcome().ec.message();
    EXPECT_TRUE(patient.take());
}

TEST_F(operations, ACancelledOpenIsAbortedAndHandsNothingOver) {
    auto s = create(pipe_name("cancel-open"));
    auto first = open(pipe_name("cancel-open"));
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));
    open_op patient(pipe_name("cancel-open"), {}, wait_forever);
    ASSERT_TRUE(waiting_in_broker(patient));
    patient.cancel();
    EXPECT_EQ(patient.outcome().ec, win32_error::operation_aborted);
    EXPECT_FALSE(patient.take());
    EXPECT_TRUE(eventually([] { return get_broker_status().waiters == 0; }));
}

TEST_F(operations, ADisconnectOfAListeningInstanceWaitsForTheBrokersAnswer) {
    auto s = create(pipe_name("disconnect-listening"));
    disconnect_op disconnect(*s);
    {
        paused_broker paused;
        step_result r = disconnect.step();
        ASSERT_EQ(r.what, wait_for::readable) << "the broker has not answered: the step waits";
        EXPECT_FALSE(disconnect.completed());
        EXPECT_TRUE(disconnecting(*s));
        EXPECT_EQ(state_of(*s), instance_state::disconnected) << "disconnected here already";
        EXPECT_FALSE(readable(r.fd, 50ms));
        EXPECT_EQ(disconnect.step().what, wait_for::readable) << "stepped again, it still waits";
    }
    ASSERT_TRUE(drive(disconnect));
    EXPECT_FALSE(disconnect.outcome().ec) << disconnect.outcome().ec.message();
    EXPECT_FALSE(disconnecting(*s));
    // The broker read the disconnect before this later request, and no client can come now.
    EXPECT_EQ(query_pipe(pipe_name("disconnect-listening")).instances.at(0).state, instance_state::disconnected);
    open_op opening(pipe_name("disconnect-listening"), {});
    ASSERT_TRUE(drive(opening));
    EXPECT_EQ(opening.outcome().ec, win32_error::pipe_busy);
}

TEST_F(operations, ADisconnectOfAConnectedInstanceTakesOneStep) {
    auto s = create(pipe_name("disconnect-connected"));
    auto c = open(pipe_name("disconnect-connected"));
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));

    disconnect_op disconnect(*s);
    EXPECT_TRUE(disconnect.step().done()) << "a connected instance waits for no answer";
    EXPECT_FALSE(disconnect.outcome().ec);
    EXPECT_FALSE(disconnecting(*s));
    std::byte buf[8];
    std::error_code ec;
    c->read(buf, ec);
    EXPECT_EQ(ec, win32_error::pipe_not_connected);
    disconnect_op again(*s);
    EXPECT_TRUE(again.step().done());
    EXPECT_EQ(again.outcome().ec, win32_error::pipe_not_connected);
}

TEST_F(operations, AClientHandedOverBeforeTheDisconnectIsDroppedWithoutAnAnswer) {
    // The client opens before the server connects: the broker hands it to the instance's link,
    // where it waits unread, and counts the instance connected. The disconnect then ends that
    // connection, and the broker sends no answer: the client on the link ends the wait.
    auto s = create(pipe_name("disconnect-handed-over"));
    auto c = open(pipe_name("disconnect-handed-over"));
    ASSERT_TRUE(c);
    ASSERT_TRUE(readable(s->native_handle(), 10s)) << "the client is on the link";
    disconnect_op disconnect(*s);
    ASSERT_TRUE(drive(disconnect, 5s));
    EXPECT_FALSE(disconnect.outcome().ec) << disconnect.outcome().ec.message();
    std::byte buf[8];
    std::error_code ec;
    c->read(buf, ec);
    EXPECT_EQ(ec, win32_error::pipe_not_connected);
    EXPECT_EQ(query_pipe(pipe_name("disconnect-handed-over")).instances.at(0).state, instance_state::disconnected);

    connect_op connect(*s);
    EXPECT_FALSE(connect.step().done()) << "listening again";
    auto next = open(pipe_name("disconnect-handed-over"));
    ASSERT_TRUE(next);
    ASSERT_TRUE(drive(connect));
    EXPECT_FALSE(connect.outcome().ec);
    EXPECT_FALSE(connect.already_connected()) << "the client came after the connect, not the one dropped";
    next->write(bytes("next"), ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(s->read(buf, ec).bytes, 4u);
}

TEST_F(operations, ACancelledDisconnectStandsAndTheNextConnectReadsTheAnswerFirst) {
    auto s = create(pipe_name("cancel-disconnect"));
    disconnect_op disconnect(*s);
    paused_broker paused;
    ASSERT_EQ(disconnect.step().what, wait_for::readable);
    disconnect.cancel();
    EXPECT_TRUE(disconnect.completed());
    EXPECT_EQ(disconnect.outcome().ec, win32_error::operation_aborted);
    EXPECT_EQ(state_of(*s), instance_state::disconnected) << "what was sent cannot be taken back";
    EXPECT_TRUE(disconnecting(*s));

    connect_op connect(*s);
    step_result r = connect.step();
    ASSERT_EQ(r.what, wait_for::readable) << "the broker's answer comes first";
    EXPECT_EQ(state_of(*s), instance_state::disconnected) << "not listening before the answer";
    paused.resume();
    ASSERT_TRUE(eventually([&] {
        connect.step();
        return state_of(*s) == instance_state::listening;
    })) << "the answer read, the instance listens";
    EXPECT_FALSE(disconnecting(*s));
    auto c = open(pipe_name("cancel-disconnect"));
    ASSERT_TRUE(c);
    ASSERT_TRUE(drive(connect));
    EXPECT_FALSE(connect.outcome().ec);
    std::error_code ec;
    c->write(bytes("ping"), ec);
    ASSERT_FALSE(ec);
    std::byte buf[8];
    EXPECT_EQ(s->read(buf, ec).bytes, 4u);
}

TEST_F(operations, AReadStartedOnOneThreadIsResumedOnAnotherAndCancelledFromAThird) {
    auto s = create(pipe_name("threads"), [] {
        server_options o;
        o.type = pipe_type::message;
        o.read_mode = read_mode::message;
        return o;
    }());
    auto c = open(pipe_name("threads"));
    connect_op connect(*s);
    ASSERT_TRUE(drive(connect));

    // Started here: nothing to read yet.
    std::vector<std::byte> buffer(64);
    std::optional<read_op> pending;
    int fd = -1;
    {
        std::lock_guard lock(s->read_lock());
        ASSERT_FALSE(s->begin_read());
        pending.emplace(s->make_read(buffer, true));
        step_result r = pending->step();
        ASSERT_EQ(r.what, wait_for::readable);
        fd = r.fd;
    }
    // Resumed by a "reactor" thread when the descriptor becomes readable.
    std::error_code read_ec;
    read_result got;
    std::thread reactor([&] {
        if (!readable(fd, 10s)) return;
        std::lock_guard lock(s->read_lock());
        if (pending->step().done()) got = s->end_read(*pending, buffer, read_ec);
    });
    std::error_code ec;
    c->write(bytes("hello"), ec);
    ASSERT_FALSE(ec);
    reactor.join();
    ASSERT_TRUE(pending->completed());
    EXPECT_FALSE(read_ec);
    EXPECT_EQ(text(std::span(buffer).first(got.bytes)), "hello");

    // A second read, pending, cancelled from another thread: the next message stays whole.
    {
        std::lock_guard lock(s->read_lock());
        pending.emplace(s->make_read(buffer, true));
        ASSERT_EQ(pending->step().what, wait_for::readable);
    }
    std::thread canceller([&] {
        std::lock_guard lock(s->read_lock());
        pending->cancel();
    });
    canceller.join();
    EXPECT_EQ(pending->outcome().ec, win32_error::operation_aborted);
    c->write(bytes("after"), ec);
    auto r = s->read(buffer, ec);
    EXPECT_FALSE(ec);
    EXPECT_EQ(text(std::span(buffer).first(r.bytes)), "after");
}

} // namespace
