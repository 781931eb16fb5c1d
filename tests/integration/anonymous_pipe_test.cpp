// Anonymous pipes (CreatePipe) and child processes, against the behaviour Windows shows.
#include <npipe/anonymous_pipe.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

using namespace std::chrono_literals;
using npipe::anonymous_pipe;
using npipe::anonymous_pipe_end;
using npipe::child_process;
using npipe::spawn_options;
using npipe::win32_error;

namespace {

std::string helper() { return std::string(NPIPE_TEST_BINDIR) + "/npipe_test_child"; }

std::span<const std::byte> bytes(std::string_view s) { return std::as_bytes(std::span(s)); }

void write_text(anonymous_pipe_end& end, std::string_view text) {
    std::error_code ec;
    EXPECT_EQ(end.write(bytes(text), ec), text.size());
    EXPECT_FALSE(ec) << ec.message();
}

// Reads until ERROR_BROKEN_PIPE. A read that would block past the deadline fails the test
// instead of hanging it (e.g. when a child kept a copy of the write end).
std::string read_until_broken(anonymous_pipe_end& end, std::chrono::seconds limit = 5s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    std::string text;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{end.native_handle(), POLLIN, 0};
        if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) != 1) {
            ADD_FAILURE() << "no end of data after " << text.size() << " bytes";
            return text;
        }
        char buffer[4096];
        std::error_code ec;
        auto n = end.read(std::as_writable_bytes(std::span(buffer)), ec);
        if (ec) {
            EXPECT_EQ(ec, win32_error::broken_pipe) << ec.message();
            return text;
        }
        text.append(buffer, n);
    }
}

spawn_options program_options(std::string program, std::vector<std::string> args = {}) {
    spawn_options options;
    options.program = std::move(program);
    options.args = std::move(args);
    return options;
}

spawn_options helper_options(std::vector<std::string> args) {
    return program_options(helper(), std::move(args));
}

} // namespace

TEST(AnonymousPipe, ReadWriteThenBrokenPipe) {
    auto pipe = anonymous_pipe::create();
    write_text(pipe.write_end, "hello");
    char buffer[16];
    std::error_code ec;
    EXPECT_EQ(pipe.read_end.read(std::as_writable_bytes(std::span(buffer)), ec), 5u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(std::string_view(buffer, 5), "hello");

    write_text(pipe.write_end, "tail");
    pipe.write_end.close();
    EXPECT_EQ(pipe.read_end.read({}, ec), 0u) << "a zero-byte read takes nothing";
    EXPECT_FALSE(ec);
    EXPECT_EQ(read_until_broken(pipe.read_end), "tail");
    pipe.read_end.read({}, ec);
    EXPECT_EQ(ec, win32_error::broken_pipe) << "a zero-byte read sees the end too, as ReadFile does";
    try {
        pipe.read_end.read(std::as_writable_bytes(std::span(buffer)));
        ADD_FAILURE() << "no exception";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), 109);
        EXPECT_EQ(e.code().category(), npipe::win32_category());
    }
}

TEST(AnonymousPipe, WrongDirectionIsAccessDenied) {
    auto pipe = anonymous_pipe::create();
    char buffer[4];
    std::error_code ec;
    pipe.write_end.read(std::as_writable_bytes(std::span(buffer)), ec);
    EXPECT_EQ(ec.value(), 5);
    pipe.read_end.write(bytes("x"), ec);
    EXPECT_EQ(ec.value(), 5);
    pipe.write_end.peek({}, ec);
    EXPECT_EQ(ec.value(), 5);
}

TEST(AnonymousPipe, WriteWithoutReaderIsNoDataNotSigpipe) {
    // With SIGPIPE's default action, raising it would kill the test binary.
    auto previous = std::signal(SIGPIPE, SIG_DFL);
    auto pipe = anonymous_pipe::create();
    pipe.read_end.close();
    std::error_code ec;
    EXPECT_EQ(pipe.write_end.write(bytes("lost"), ec), 0u);
    EXPECT_EQ(ec.value(), 232);
    EXPECT_EQ(ec, std::errc::broken_pipe);
    sigset_t pending;
    sigpending(&pending);
    EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
    std::signal(SIGPIPE, previous);
}

TEST(AnonymousPipe, PeekDoesNotConsume) {
    auto pipe = anonymous_pipe::create();
    char buffer[16];
    auto view = std::as_writable_bytes(std::span(buffer));

    auto empty = pipe.read_end.peek(view); // must not block
    EXPECT_EQ(empty.bytes_read, 0u);
    EXPECT_EQ(empty.total_available, 0u);

    write_text(pipe.write_end, "abcdef");
    auto r = pipe.read_end.peek(view.first(4));
    EXPECT_EQ(r.bytes_read, 4u);
    EXPECT_EQ(r.total_available, 6u);
    EXPECT_EQ(r.left_this_message, 0u);
    EXPECT_EQ(std::string_view(buffer, 4), "abcd");

    r = pipe.read_end.peek({});
    EXPECT_EQ(r.bytes_read, 0u);
    EXPECT_EQ(r.total_available, 6u);

    // Data left after the writer is gone is still peekable; then ERROR_BROKEN_PIPE.
    pipe.write_end.close();
    r = pipe.read_end.peek(view);
    EXPECT_EQ(r.bytes_read, 6u);
    EXPECT_EQ(std::string_view(buffer, 6), "abcdef");
    EXPECT_EQ(read_until_broken(pipe.read_end), "abcdef");
    std::error_code ec;
    pipe.read_end.peek(view, ec);
    EXPECT_EQ(ec.value(), 109);
}

TEST(AnonymousPipe, PeekSeesAFullPipe) {
    auto pipe = anonymous_pipe::create(256 * 1024); // more than the kernel's default pipe
    int capacity = ::fcntl(pipe.write_end.native_handle(), F_GETPIPE_SZ);
    ASSERT_GT(capacity, 0);
    std::string data;
    for (int i = 0; i < capacity; ++i) data += static_cast<char>('a' + i % 23);
    // Many writes, so many pipe buffers; 1024 divides a page, so they fill the pipe exactly
    // (a write that does not fit the rest of a page starts a new one and would block here).
    for (std::size_t at = 0; at < data.size(); at += 1024)
        write_text(pipe.write_end, std::string_view(data).substr(at, 1024));

    std::string copy(data.size() + 10, '\0');
    auto r = pipe.read_end.peek(std::as_writable_bytes(std::span(copy)));
    EXPECT_EQ(r.total_available, data.size());
    ASSERT_EQ(r.bytes_read, data.size());
    copy.resize(r.bytes_read);
    EXPECT_EQ(copy, data);
}

TEST(AnonymousPipe, InfoReportsSizes) {
    auto zero = anonymous_pipe::create(0);
    auto info = zero.read_end.info();
    EXPECT_EQ(info.end, npipe::pipe_end::server);
    EXPECT_EQ(info.type, npipe::pipe_type::byte);
    EXPECT_EQ(info.in_buffer_size, 4096u);
    EXPECT_EQ(info.out_buffer_size, 4096u);
    EXPECT_EQ(info.max_instances, 1u);
    EXPECT_EQ(zero.write_end.info().end, npipe::pipe_end::client);

    auto one = anonymous_pipe::create(1);
    EXPECT_EQ(one.read_end.info().in_buffer_size, 1u);
    EXPECT_EQ(one.write_end.info().out_buffer_size, 1u);

    // A size above the kernel default enlarges the kernel buffer (pipe-max-size is 1 MiB).
    auto big = anonymous_pipe::create(256 * 1024);
    EXPECT_EQ(big.read_end.info().in_buffer_size, 256u * 1024);
    EXPECT_GE(::fcntl(big.write_end.native_handle(), F_GETPIPE_SZ), 256 * 1024);
}

TEST(AnonymousPipe, EndsAreCloseOnExecEvenWhenInheritable) {
    auto pipe = anonymous_pipe::create(0, true);
    EXPECT_TRUE(pipe.read_end.inheritable());
    EXPECT_TRUE(pipe.write_end.inheritable());
    EXPECT_EQ(::fcntl(pipe.read_end.native_handle(), F_GETFD), FD_CLOEXEC);
    EXPECT_EQ(::fcntl(pipe.write_end.native_handle(), F_GETFD), FD_CLOEXEC);
    EXPECT_FALSE(anonymous_pipe::create().read_end.inheritable());
}

TEST(ChildProcess, EchoesThroughStdinAndStdout) {
    for (const char* program : {"helper", "cat"}) {
        SCOPED_TRACE(program);
        auto in = anonymous_pipe::create();
        auto out = anonymous_pipe::create();
        auto options = program == std::string_view("cat") ? program_options("cat")
                                                            : helper_options({"echo"});
        options.stdin_fd = in.read_end.native_handle();
        options.stdout_fd = out.write_end.native_handle();
        auto child = child_process::spawn(options);
        EXPECT_GT(child.pid(), 0);
        in.read_end.close();
        out.write_end.close();

        std::string data;
        for (int i = 0; i < 300000; ++i) data += static_cast<char>(i * 7);
        std::thread writer([&] {
            write_text(in.write_end, data); // more than both pipes hold: needs the reader
            in.write_end.close();
        });
        auto echoed = read_until_broken(out.read_end);
        if (echoed.size() != data.size()) child.kill(); // unblocks the writer
        writer.join();
        EXPECT_EQ(echoed.size(), data.size());
        EXPECT_TRUE(echoed == data);
        EXPECT_EQ(child.wait(10s), 0);
    }
}

TEST(ChildProcess, StdSourcesThatAreThemselvesStdio) {
    // The helper gets a write end as fd 0 and a read end as fd 1, and starts a grandchild with
    // stdin from its fd 1 and stdout to its fd 0: the swap must not clobber either source.
    auto in = anonymous_pipe::create();
    auto out = anonymous_pipe::create();
    auto options = helper_options({"swap-echo"});
    options.stdin_fd = out.write_end.native_handle();
    options.stdout_fd = in.read_end.native_handle();
    auto child = child_process::spawn(options);
    in.read_end.close();
    out.write_end.close();
    write_text(in.write_end, "swapped");
    in.write_end.close();
    EXPECT_EQ(read_until_broken(out.read_end), "swapped");
    EXPECT_EQ(child.wait(10s), 0);
}

TEST(ChildProcess, ReceivesOnlyTheGivenDescriptors) {
    int leaky = ::open("/dev/null", O_RDONLY); // not close-on-exec: a plain fork+exec passes it
    ASSERT_GE(leaky, 3);
    ASSERT_EQ(::fcntl(leaky, F_GETFD), 0);
    int leaky_dup = ::dup(leaky);
    ASSERT_GE(leaky_dup, 3);
    auto marked = anonymous_pipe::create(0, true); // marked inheritable but not passed
    auto passed = anonymous_pipe::create();
    auto out = anonymous_pipe::create();

    auto options = helper_options({"fds"});
    options.stdin_fd = marked.read_end.native_handle();
    options.stdout_fd = out.write_end.native_handle();
    options.stderr_fd = out.write_end.native_handle(); // two targets, one source
    options.inherit = {passed.write_end.native_handle()};
    auto child = child_process::spawn(options);
    out.write_end.close();

    EXPECT_EQ(read_until_broken(out.read_end),
              "0 1 2 " + std::to_string(passed.write_end.native_handle()) + "\n");
    EXPECT_EQ(child.wait(10s), 0);
    ::close(leaky);
    ::close(leaky_dup);
}

TEST(ChildProcess, InheritedDescriptorKeepsItsNumber) {
    auto pipe = anonymous_pipe::create();
    int high = ::fcntl(pipe.write_end.native_handle(), F_DUPFD_CLOEXEC, 100);
    ASSERT_GE(high, 100);
    anonymous_pipe_end high_end(high, npipe::pipe_end_role::write);
    pipe.write_end.close();

    auto options = helper_options({"write-fd", std::to_string(high), "through the inherited fd"});
    options.inherit = {high};
    auto child = child_process::spawn(options);
    high_end.close();
    EXPECT_EQ(read_until_broken(pipe.read_end), "through the inherited fd");
    EXPECT_EQ(child.wait(10s), 0);
}

TEST(ChildProcess, MissingProgramIsFileNotFound) {
    std::error_code ec;
    auto child = child_process::spawn(program_options("/nonexistent/npipe-no-such-program"), ec);
    EXPECT_EQ(ec.value(), 2);
    EXPECT_EQ(ec.category(), npipe::win32_category());
    EXPECT_EQ(child.pid(), 0);
    child_process::spawn(program_options("npipe-no-such-program-in-path"), ec);
    EXPECT_EQ(ec.value(), 2);
    child_process::spawn(program_options("/etc/passwd"), ec); // exists, not executable
    EXPECT_EQ(ec.value(), 5);
    EXPECT_THROW(child_process::spawn(program_options("/nonexistent/x")), std::system_error);

    // The failed child is reaped: checked in a helper, which has no other children.
    auto out = anonymous_pipe::create();
    auto options = helper_options({"spawn-missing"});
    options.stdout_fd = out.write_end.native_handle();
    auto checker = child_process::spawn(options);
    out.write_end.close();
    EXPECT_EQ(read_until_broken(out.read_end), "2 nozombie\n");
    EXPECT_EQ(checker.wait(10s), 0);
}

TEST(ChildProcess, ExitCodesAndSignals) {
    auto exits = child_process::spawn(helper_options({"exit", "42"}));
    EXPECT_EQ(exits.wait(10s), 42);
    EXPECT_EQ(exits.exit_code(), 42);
    EXPECT_EQ(exits.wait(), 42); // already reaped: the remembered code

    auto raises = child_process::spawn(helper_options({"raise", std::to_string(SIGTERM)}));
    EXPECT_EQ(raises.wait(10s), 128 + SIGTERM);

    auto stdin_pipe = anonymous_pipe::create();
    auto options = helper_options({"wait-stdin"});
    options.stdin_fd = stdin_pipe.read_end.native_handle();
    auto killed = child_process::spawn(options);
    EXPECT_EQ(killed.exit_code(), std::nullopt);
    killed.kill();
    EXPECT_EQ(killed.wait(10s), 128 + SIGKILL);
}

// Closes a pipe end when told, or by itself after a while: a child blocked reading the other
// end then exits, so a wait() that ignores its timeout fails the test instead of hanging it.
class closer {
public:
    explicit closer(anonymous_pipe_end end) : end_(std::move(end)), thread_([this] { run(); }) {}
    ~closer() { close_now(); thread_.join(); }
    void close_now() {
        std::lock_guard lock(mutex_);
        now_ = true;
        wake_.notify_one();
    }

private:
    void run() {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, 2s, [this] { return now_; });
        end_.close();
    }
    anonymous_pipe_end end_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool now_ = false;
    std::thread thread_;
};

TEST(ChildProcess, WaitTimesOut) {
    auto stdin_pipe = anonymous_pipe::create();
    auto options = helper_options({"wait-stdin"});
    options.stdin_fd = stdin_pipe.read_end.native_handle();
    auto child = child_process::spawn(options);
    stdin_pipe.read_end.close();
    closer stdin_closer(std::move(stdin_pipe.write_end));

    std::error_code ec;
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(child.wait(50ms, ec), -1);
    EXPECT_EQ(ec.value(), 258);
    EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
    child.wait(0ms, ec);
    EXPECT_EQ(ec.value(), 258);
    EXPECT_THROW(child.wait(1ms), std::system_error);
    EXPECT_EQ(child.exit_code(), std::nullopt);

    stdin_closer.close_now(); // the child sees end of input and exits
    EXPECT_EQ(child.wait(10s), 0);
    EXPECT_EQ(child.exit_code(), 0);
}

TEST(ChildProcess, DestructorNeitherKillsNorReaps) {
    auto stdin_pipe = anonymous_pipe::create();
    auto options = helper_options({"wait-stdin"});
    options.stdin_fd = stdin_pipe.read_end.native_handle();
    pid_t pid = 0;
    {
        auto child = child_process::spawn(options);
        auto moved = std::move(child);
        EXPECT_EQ(child.pid(), 0);
        pid = moved.pid();
    }
    stdin_pipe.write_end.close();
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
}
