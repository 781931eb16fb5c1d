// event_sinks.hpp - where the broker's events go besides its ring: a JSON-lines file that
// rotates by size, and the systemd journal with one structured field per event field.
// Both are written from the broker's loop; a sink that fails says so once in the log and is
// retried with the next event, it never stops the broker.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace npipe::broker {

class file_sink {
public:
    /// `path` empty: no file. When the file would grow past `max_bytes`, it becomes PATH.1
    /// (PATH.1 becomes PATH.2, ... up to PATH.`keep`; older ones are deleted).
    void configure(std::string path, std::uint64_t max_bytes, unsigned keep);
    bool enabled() const noexcept { return !path_.empty(); }
    /// Appends one line (a newline is added). Returns false (with `problem` set) on failure.
    bool write(const std::string& line, std::string& problem);

private:
    bool open(std::string& problem);
    void rotate();
    std::string path_;
    std::uint64_t max_bytes_ = 0;
    unsigned keep_ = 0;
    std::ofstream out_;
    std::uint64_t size_ = 0;
};

class journal_sink {
public:
    void enable(bool on) noexcept { on_ = on; }
    bool enabled() const noexcept { return on_; }
    /// One journal entry: MESSAGE (the readable summary), PRIORITY, SYSLOG_IDENTIFIER=npiped,
    /// and every field of the event as NPIPE_<FIELD> (PipeName -> NPIPE_PIPE_NAME).
    bool write(const std::string& json_event, const std::string& summary, int priority, std::string& problem);

private:
    bool on_ = false;
};

/// PipeName -> PIPE_NAME, ProcessGuid -> PROCESS_GUID (journal field names: upper case, digits, _).
std::string journal_field_name(const std::string& field);

} // namespace npipe::broker
