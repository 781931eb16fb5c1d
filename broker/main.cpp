// npiped - the npipe broker. Thin: read the options, set up, run.
#include "broker.hpp"
#include "options.hpp"

#include "os/poller.hpp"

#include <cstdio>

int main(int argc, char** argv) {
    int exit_code = 0;
    auto startup = npipe::broker::parse_options(argc, argv, exit_code);
    if (!startup) return exit_code;
    if (!startup->log_file.empty()) npipe::os::redirect_stderr(startup->log_file);

    npipe::broker::broker b(startup->cfg);
    if (auto ec = b.start()) {
        if (ec == std::errc::operation_would_block) {
            std::fprintf(stderr, "npiped: another broker already serves %s\n", startup->cfg.runtime_dir.c_str());
            return 3;
        }
        std::fprintf(stderr, "npiped: cannot start: %s\n", ec.message().c_str());
        return 1;
    }
    return b.run();
}
