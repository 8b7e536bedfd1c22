// Levelled logging to stderr, with a rate limit for what a guest can trigger at will.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include <fmt/core.h>

namespace hvmm::log {

enum class Level { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

template <class... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    write(Level::kError, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> format, Args&&... args) {
    if (level() >= Level::kWarn) write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    if (level() >= Level::kInfo) write(Level::kInfo, fmt::format(format, std::forward<Args>(args)...));
}
template <class... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (level() >= Level::kDebug) write(Level::kDebug, fmt::format(format, std::forward<Args>(args)...));
}

// A warning a guest can cause: every occurrence is counted, the first few are printed, and
// after that one in a power of two so a hostile guest cannot flood the host's terminal.
// One static RateLimitedWarning per call site.
class RateLimitedWarning {
public:
    template <class... Args>
    void operator()(fmt::format_string<Args...> format, Args&&... args) {
        const uint64_t n = count_.fetch_add(1, std::memory_order_relaxed) + 1;
        if (n <= kAlwaysPrinted || (n & (n - 1)) == 0) {
            write(Level::kWarn, fmt::format(format, std::forward<Args>(args)...) +
                                    (n > kAlwaysPrinted ? fmt::format(" (seen {} times)", n) : ""));
        }
    }
    uint64_t count() const { return count_.load(std::memory_order_relaxed); }

private:
    static constexpr uint64_t kAlwaysPrinted = 5;
    std::atomic<uint64_t> count_{0};
};

}  // namespace hvmm::log
