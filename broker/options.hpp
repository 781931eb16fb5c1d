// options.hpp - npiped's command line, merged with its configuration file (config_file.hpp):
// the file first, then what the command line says explicitly.
#pragma once

#include "config.hpp"

#include <optional>

namespace npipe::broker {

struct startup {
    config cfg;
    std::string log_file; ///< empty: stderr
};

/// Parses the command line and the configuration file. nullopt: the program should exit with
/// `exit_code` (help was printed, or a problem was reported on stderr).
std::optional<startup> parse_options(int argc, char** argv, int& exit_code);

} // namespace npipe::broker
