#include "event_sinks.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <sys/uio.h>

namespace npipe::broker {

void file_sink::configure(std::string path, std::uint64_t max_bytes, unsigned keep) {
    path_ = std::move(path);
    max_bytes_ = max_bytes;
    keep_ = keep;
    out_.close();
}

bool file_sink::open(std::string& problem) {
    std::error_code ec;
    size_ = std::filesystem::exists(path_, ec) ? std::filesystem::file_size(path_, ec) : 0;
    out_.open(path_, std::ios::app);
    if (!out_) {
        problem = "cannot open " + path_ + " for appending";
        return false;
    }
    return true;
}

void file_sink::rotate() {
    out_.close();
    std::error_code ec;
    if (keep_ == 0) {
        std::filesystem::remove(path_, ec);
    } else {
        std::filesystem::remove(path_ + "." + std::to_string(keep_), ec);
        for (unsigned i = keep_; i > 1; --i)
            std::filesystem::rename(path_ + "." + std::to_string(i - 1), path_ + "." + std::to_string(i), ec);
        std::filesystem::rename(path_, path_ + ".1", ec);
    }
    size_ = 0;
}

bool file_sink::write(const std::string& line, std::string& problem) {
    if (path_.empty()) return true;
    if (!out_.is_open() && !open(problem)) return false;
    if (max_bytes_ > 0 && size_ > 0 && size_ + line.size() + 1 > max_bytes_) {
        rotate();
        if (!open(problem)) return false;
    }
    out_ << line << '\n';
    out_.flush(); // a reader tailing the file sees each event at once
    if (!out_) {
        problem = "cannot write to " + path_;
        out_.close();
        return false;
    }
    size_ += line.size() + 1;
    return true;
}

std::string journal_field_name(const std::string& field) {
    std::string out = "NPIPE_";
    for (std::size_t i = 0; i < field.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(field[i]);
        bool boundary = i > 0 && std::isupper(c) &&
                        (std::islower(static_cast<unsigned char>(field[i - 1])) ||
                         (i + 1 < field.size() && std::islower(static_cast<unsigned char>(field[i + 1])) &&
                          std::isupper(static_cast<unsigned char>(field[i - 1]))));
        if (boundary) out += '_';
        out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
    }
    return out;
}

bool journal_sink::write(const std::string& json_event, const std::string& summary, int priority, std::string& problem) {
    if (!on_) return true;
    auto e = nlohmann::json::parse(json_event, nullptr, false);
    if (e.is_discarded()) return true;
    std::vector<std::string> fields;
    fields.push_back("MESSAGE=" + summary);
    fields.push_back("PRIORITY=" + std::to_string(priority));
    fields.push_back("SYSLOG_IDENTIFIER=npiped");
    for (auto it = e.begin(); it != e.end(); ++it) {
        std::string value = it->is_string() ? it->get<std::string>() : it->dump();
        fields.push_back(journal_field_name(it.key()) + "=" + value);
    }
    std::vector<iovec> iov;
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    int r = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    if (r < 0) {
        problem = "cannot write to the journal: " + std::string(std::strerror(-r));
        return false;
    }
    return true;
}

} // namespace npipe::broker
