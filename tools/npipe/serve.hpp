// serve.hpp - what serve.cpp (the command, its instances and their threads) shares with
// serve_exec.cpp (serve --exec: one child process per client).
#pragma once

#include "context.hpp"
#include "io.hpp"

#include <npipe/named_pipe.hpp>

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace npipe::cli {

enum class serve_mode { bridge, echo, exec };

/// One `npipe serve`: its pipe, what it does with clients, and its instances' threads.
struct server_state {
    std::string name;
    server_options options;
    serve_mode mode = serve_mode::echo;
    bool message = false;
    std::vector<std::string> command; ///< --exec CMD [ARGS...]
    event stop;

    std::mutex mutex;
    std::condition_variable changed;
    unsigned instances = 0; ///< instances this process has open
    unsigned idle = 0;      ///< of them, listening for a client
    unsigned running = 0;   ///< worker threads alive
    std::vector<std::thread> threads;
    int status = exit_ok;

    bool server_reads() const { return options.direction != pipe_direction::outbound; }
    bool server_writes() const { return options.direction != pipe_direction::inbound; }
};

/// Serves the client connected to `inst` with a new run of the command: the client's data to
/// its stdin, its stdout to the client. Returns when the conversation is over and the child
/// has exited (killed on a stop request).
void exec_session(server_instance& inst, server_state& st);

/// serve --echo: every instance on this thread (serve_echo.cpp), from `first` until a signal
/// arrives on the signalfd `signals` or every instance has failed. Returns the exit status.
int echo_serve(server_state& st, server_instance first, int signals);

} // namespace npipe::cli
