// The exit path's clock: the TSC, read without a system call. Ticks become seconds through a
// calibration taken over the whole run (CLOCK_MONOTONIC at both ends), so nothing is measured at
// startup and a host whose vDSO falls back to a system call costs nothing per exit.
#pragma once

#include <x86intrin.h>

#include <cstdint>
#include <ctime>

namespace hvmm::stats {

inline uint64_t now_ticks() {
    return __rdtsc();
}

class TickCalibration {
  public:
    TickCalibration() : start_ticks_(now_ticks()), start_ns_(monotonic_ns()) {}
    // Ticks per second from construction until now (1e9 if too little time passed to tell).
    double ticks_per_second() const {
        const uint64_t elapsed_ns = monotonic_ns() - start_ns_;
        const uint64_t elapsed_ticks = now_ticks() - start_ticks_;
        if (elapsed_ns < 1'000'000 || elapsed_ticks == 0) {
            return 1e9;
        }
        return static_cast<double>(elapsed_ticks) * 1e9 / static_cast<double>(elapsed_ns);
    }

  private:
    static uint64_t monotonic_ns() {
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
    }
    uint64_t start_ticks_;
    uint64_t start_ns_;
};

}  // namespace hvmm::stats
