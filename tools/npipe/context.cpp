#include "context.hpp"

#include <CLI/CLI.hpp>

#include <charconv>

namespace npipe::cli {

npipe::endpoint context::endpoint() const {
    npipe::endpoint where;
    if (system) where.scope = npipe::scope::system;
    if (!runtime_dir.empty()) where.runtime_dir = runtime_dir;
    return where;
}

void add_endpoint_options(CLI::App& app, context& ctx) {
    app.add_option("--runtime-dir", ctx.runtime_dir,
                   "Runtime directory of the broker to use (default: NPIPE_RUNTIME_DIR, else the scope's)")
        ->type_name("DIR");
    app.add_flag("--system", ctx.system, "Use the system-wide namespace (/run/npipe) instead of the user's");
}

std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
    if (text == "default") return use_default_wait;
    if (text == "forever" || text == "infinite") return wait_forever;
    long long ms = 0;
    auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (err != std::errc{} || end != text.data() + text.size() || ms < 0 || ms >= wait_forever.count())
        return std::nullopt;
    return std::chrono::milliseconds(ms);
}

} // namespace npipe::cli
