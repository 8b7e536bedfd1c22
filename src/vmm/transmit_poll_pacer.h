// How often the VMM runs the PCnet's transmit poll. The Am79C970A polls its transmit ring about
// every 1.6 ms whether or not the driver demands; hvmm polls every 2 ms while polls find work
// and every 20 ms after ten empty polls in a row. pcnet32 demands every frame with TDMD, so its
// polls find nothing, and each wakeup of the I/O thread costs a nested lab about what a packet's
// exits do (bench/results/tx-pairs-ab.md measures this with the transmit-interrupt change). A
// driver that relies on the poll waits at most 20 ms for its first
// frame, then has the 2 ms poll back. Frames the chip's wire holds back (PcnetChip's poll credit,
// which grows with the period it is given) are not work for this: they go at 10 Mbit/s at either
// period, so a ring that feeds itself costs 50 wakeups a second, not 500.
#pragma once

#include <chrono>
#include <optional>

namespace hvmm {

class TransmitPollPacer {
  public:
    static constexpr std::chrono::milliseconds kBusyPeriod{2};
    static constexpr std::chrono::milliseconds kIdlePeriod{20};
    static constexpr unsigned kEmptyPollsBeforeIdle = 10;

    // After each poll, with whether it had work (PcnetChip::poll()): the timer's new period
    // when it changes, else nothing.
    std::optional<std::chrono::milliseconds> after_poll(bool had_work) {
        if (had_work) {
            empty_polls_ = 0;
            return set_idle(false);
        }
        if (!idle_ && ++empty_polls_ >= kEmptyPollsBeforeIdle)
            return set_idle(true);
        return std::nullopt;
    }
    // The period could not be applied: the timer still runs at the previous one.
    void revert() { idle_ = !idle_; }
    bool idle() const { return idle_; }

  private:
    std::optional<std::chrono::milliseconds> set_idle(bool idle) {
        if (idle == idle_)
            return std::nullopt;
        idle_ = idle;
        empty_polls_ = 0;
        return idle ? kIdlePeriod : kBusyPeriod;
    }

    unsigned empty_polls_ = 0;
    bool idle_ = false;
};

}  // namespace hvmm
