#include "base/log.h"

#include <unistd.h>

#include <string>

namespace hvmm::log {
namespace {
std::atomic<Level> g_level{Level::kWarn};
constexpr std::string_view kPrefix[] = {"hvmm: error: ", "hvmm: warning: ", "hvmm: ", "hvmm: debug: "};
}  // namespace

void set_level(Level new_level) { g_level.store(new_level, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

void write(Level message_level, std::string_view message) {
    // One write(2) per line so lines from several threads do not interleave; "\r\n" because
    // the terminal may be in raw mode while the guest console runs.
    std::string line(kPrefix[static_cast<int>(message_level)]);
    line += message;
    line += isatty(STDERR_FILENO) ? "\r\n" : "\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace hvmm::log
