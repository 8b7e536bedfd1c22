// What a hostile guest's self-feeding PCnet costs hvmm: the chip in internal loopback with its
// receive buffer aliased onto its rings (tests/unit/pcnet_self_feeding_ring.h), driven by a poll
// loop like the I/O thread's (TransmitPollPacer: 2 ms while polls find work), while a second
// thread plays the sleeping guest's vCPU and reads CSR0 once a millisecond.
//
// Prints frames looped per second, the polling thread's CPU time (CLOCK_THREAD_CPUTIME_ID) as a
// share of the wall time, and how long the CSR0 reads waited for the chip's lock. Figures only:
// no pass or fail. bench/results/pcnet-self-feeding.md holds the recorded runs.
//
// usage: pcnet_self_feeding_bench [SECONDS [FRAME_LENGTH]]   (defaults 2 and 4000; the frame
// carries both rings' image, so FRAME_LENGTH is 2048..4091)
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "pcnet_self_feeding_ring.h"
#include "vmm/transmit_poll_pacer.h"

namespace {

using Clock = std::chrono::steady_clock;

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct PollerResult {
    double cpu_seconds = 0;
    uint64_t polls = 0;
};

// The I/O thread's transmit poller (src/vmm/nic_wiring.cc TransmitPoller), with sleeps for the
// timerfd.
PollerResult run_poller(hvmm::PcnetChip& chip, std::atomic<bool>& stop) {
    hvmm::TransmitPollPacer pacer;
    auto period = std::chrono::milliseconds(hvmm::TransmitPollPacer::kBusyPeriod);
    PollerResult result;
    const double cpu_start = thread_cpu_seconds();
    auto next = Clock::now() + period;
    while (!stop.load(std::memory_order_relaxed)) {
        std::this_thread::sleep_until(next);
        if (const auto changed = pacer.after_poll(chip.poll(period)))
            period = *changed;
        ++result.polls;
        // A timerfd does not queue missed ticks: the next one is a period after this one.
        next = std::max(next + period, Clock::now());
    }
    result.cpu_seconds = thread_cpu_seconds() - cpu_start;
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    using hvmm::testing::SelfFeedingRing;
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    const long frame_length = argc > 2 ? std::atol(argv[2]) : 4000;
    if (seconds <= 0 || frame_length < static_cast<long>(SelfFeedingRing::kRingBytes) ||
        frame_length > 4091) {
        std::fprintf(stderr, "usage: %s [SECONDS [FRAME_LENGTH (%zu..4091)]]\n", argv[0],
                     static_cast<size_t>(SelfFeedingRing::kRingBytes));
        return 2;
    }
    hvmm::testing::PcnetRig rig;
    SelfFeedingRing ring(rig, static_cast<uint16_t>(frame_length));
    ring.start();
    rig.write16(0x12, 0);  // RAP = CSR0 from here on: the reader only reads RDP

    std::atomic<bool> stop = false;
    const auto before = rig.chip.counters();
    const auto wall_start = Clock::now();
    PollerResult poller;
    std::thread poll_thread([&] { poller = run_poller(rig.chip, stop); });

    std::vector<double> waits_us;
    const auto deadline = wall_start + std::chrono::duration<double>(seconds);
    while (Clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        const auto t0 = Clock::now();
        (void)rig.read16(0x10);
        waits_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    stop = true;
    poll_thread.join();
    const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
    const auto after = rig.chip.counters();

    std::sort(waits_us.begin(), waits_us.end());
    const auto percentile = [&waits_us](double p) {
        if (waits_us.empty())
            return 0.0;
        const size_t at = static_cast<size_t>(p * static_cast<double>(waits_us.size() - 1));
        return waits_us[at];
    };
    const uint64_t frames = after.loopback_frames - before.loopback_frames;
    std::printf("self-feeding PCnet loopback, %u+%u descriptors, %u-byte frames, %.2f s\n",
                hvmm::testing::SelfFeedingRing::kDescriptors,
                hvmm::testing::SelfFeedingRing::kDescriptors, ring.frame_length(), wall);
    std::printf("frames looped back:   %.0f /s (%.1f MB/s)\n", frames / wall,
                frames * ring.frame_length() / wall / 1e6);
    std::printf("the 10 Mbit/s wire:   %.0f /s of these frames\n",
                10e6 / 8 / static_cast<double>(hvmm::PcnetChip::wire_bytes(ring.frame_length())));
    std::printf("polls:                %.0f /s\n", poller.polls / wall);
    std::printf("polling thread CPU:   %.1f %% of one CPU\n", 100.0 * poller.cpu_seconds / wall);
    std::printf("CSR0 read (%zu reads): median %.1f us, p99 %.1f us, max %.1f us\n",
                waits_us.size(), percentile(0.5), percentile(0.99), percentile(1.0));
    return 0;
}
