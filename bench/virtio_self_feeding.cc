// What a hostile guest's self-feeding virtio-net transmit ring costs hvmm: every frame the device
// sends republishes another entry of the TX avail ring, as a guest's vCPU can with a loop of
// stores while the turn runs (notifications are off then, so the stores cost it no exit). The
// guest kicks once and never again. The device runs on a real EventLoop thread, as on
// hvmm's I/O thread (its kick watch and its transmit tick).
//
// Prints frames sent per second, the loop thread's CPU time (its CPU clock) as a share of the
// wall time, and the device's turn counters. Figures only: no pass or fail.
// bench/results/virtio-self-feeding.md holds the recorded runs.
//
// usage: virtio_self_feeding_bench [SECONDS]   (default 2)
#include <pthread.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "virtio_net_test_rig.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace vt = hvmm::virtio::testing;

double thread_cpu_seconds(pthread_t thread) {
    clockid_t clock{};
    timespec ts{};
    if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return 0;
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
    if (seconds <= 0) {
        std::fprintf(stderr, "usage: %s [SECONDS]\n", argv[0]);
        return 2;
    }
    vt::NetRig rig;
    rig.activate();
    rig.post_tx(vt::frame_to(vt::kOtherMac, 1400));
    const uint16_t head = rig.tx().get<uint16_t>(vt::queue_layout(vt::ns::kTxQueue).avail_ring + 4);
    for (int i = 1; i < 256; ++i) rig.tx().publish(head);
    // Each frame sent puts one more on the ring; the recording backend keeps only a count.
    std::atomic<uint64_t> sent = 0;
    rig.backend.on_send = [&rig, &sent, head] {
        rig.tx().publish(head);
        sent.fetch_add(1, std::memory_order_relaxed);
        rig.backend.sent.clear();
        rig.backend.sent_iovecs.clear();
    };

    std::thread io_thread([&rig] { rig.loop->run(); });
    const double cpu_start = thread_cpu_seconds(io_thread.native_handle());
    const auto wall_start = Clock::now();
    rig.kicks[vt::ns::kTxQueue].signal();  // the guest's one kick
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const double cpu = thread_cpu_seconds(io_thread.native_handle()) - cpu_start;
    const double wall = std::chrono::duration<double>(Clock::now() - wall_start).count();
    rig.loop->stop();
    io_thread.join();

    const auto counters = rig.device->counters();
    std::printf("self-feeding virtio-net TX ring, 256 entries of 1400-byte frames, %.2f s\n", wall);
    std::printf("frames sent:          %.0f /s\n", static_cast<double>(sent.load()) / wall);
    std::printf("I/O thread CPU:       %.1f %% of one CPU\n", 100.0 * cpu / wall);
    std::printf("turns: %llu kicked (%llu ended on the budget), %llu on the transmit tick\n",
                static_cast<unsigned long long>(counters.tx_batches - counters.tx_tick_turns),
                static_cast<unsigned long long>(counters.tx_turns_deferred),
                static_cast<unsigned long long>(counters.tx_tick_turns));
    return 0;
}
