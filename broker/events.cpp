#include "events.hpp"

#include <cstdio>
#include <ctime>

namespace npipe::broker {

std::uint64_t event_ring::append(uid_t uid, std::optional<uid_t> peer_uid, std::int64_t unix_ms, std::string json) {
    while (!records_.empty() && (records_.size() >= capacity_ || bytes_ + json.size() > max_bytes_)) {
        bytes_ -= records_.front().json.size();
        records_.pop_front();
        ++overwritten_;
    }
    bytes_ += json.size();
    records_.push_back({next_, uid, peer_uid, unix_ms, std::move(json)});
    return next_++;
}

const event_record* event_ring::at(std::uint64_t seq) const noexcept {
    if (seq < oldest_seq() || seq >= next_) return nullptr;
    return &records_[static_cast<std::size_t>(seq - oldest_seq())];
}

std::string utc_time(std::chrono::system_clock::time_point t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%03d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
    return buf;
}

std::string sysmon_pipe_name(const std::string& full) {
    // `\\SERVER\pipe\NAME`: NAME starts after the third backslash.
    std::size_t slashes = 0;
    for (std::size_t i = 0; i < full.size(); ++i) {
        if (full[i] == '\\' && ++slashes == 4) return full.substr(i);
    }
    return "\\" + full;
}

} // namespace npipe::broker
