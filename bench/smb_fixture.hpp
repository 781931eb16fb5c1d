// bench/smb_fixture.hpp - the SMB section's far end: bench/smb_driver.py run under Debian's
// python3 as a child with its stdin and stdout on pipes. It starts a private smbd, a broker
// exporting npipe pipes through it and two npipe echo servers (with the tests' own fixtures),
// and times impacket against them on request; closing its stdin ends it and all it started.
#pragma once

#include <chrono>
#include <string>

#include <sys/types.h>

namespace bench {

class smb_fixture {
public:
    /// Starts the driver and waits (at most `timeout`) for its first line. Either the fixture
    /// is ready, or skipped() says why it cannot run here (not root, smbd or impacket not
    /// installed); throws when the set-up fails.
    explicit smb_fixture(std::chrono::milliseconds timeout);
    smb_fixture(const smb_fixture&) = delete;
    smb_fixture& operator=(const smb_fixture&) = delete;
    /// Closes the driver's stdin and waits for it to clean up (SIGKILL after a deadline).
    ~smb_fixture();

    const std::string& skipped() const { return skipped_; }

    /// Sends one command line; returns the number of its "ok" answer, throws with the text of an
    /// "error" answer, or when nothing comes within `timeout` (then the driver is told to end).
    double ask(const std::string& command, std::chrono::milliseconds timeout);

    /// Asks the driver to end now (SIGTERM: it cleans up, the servers go, pending I/O fails).
    void terminate() noexcept;

    int port = 0;
    std::string user, password, byte_pipe, message_pipe;

private:
    void stop() noexcept;
    std::string read_line(std::chrono::milliseconds timeout);

    pid_t pid_ = -1;
    int to_ = -1, from_ = -1;
    std::string buffered_, skipped_;
};

} // namespace bench
