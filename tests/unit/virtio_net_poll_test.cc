// Bounded polling of the transmit ring (VirtioNetOptions::tx_poll, `--nic virtio,poll-us=N`):
// after a drain empties the ring the device watches it for the window with the driver's kicks
// still off, sends what the driver publishes meanwhile in the same turn, and turns kicks back on
// when the window ends; a turn's watching never exceeds the window however often the driver
// refills within it.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

using namespace std::chrono_literals;

VirtioNetOptions polling(std::chrono::microseconds window) {
    return VirtioNetOptions{.mac = kNicMac, .tx_poll = window};
}

TEST(VirtioNetPoll, OffByDefault) {
    NetRig rig;
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 100));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.device->counters().tx_poll_windows, 0u);
    EXPECT_EQ(rig.device->counters().tx_poll_ns, 0u);
}

TEST(VirtioNetPoll, AnEmptyWindowEndsWithKicksBackOn) {
    NetRig rig(0, polling(2ms));
    rig.activate();  // EVENT_IDX offered and taken
    ASSERT_NE(rig.accepted & kFeatureEventIdx, 0u);
    rig.post_tx(frame_to(kOtherMac, 100));
    const auto start = std::chrono::steady_clock::now();
    rig.kick(ns::kTxQueue);
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    const auto c = rig.device->counters();
    EXPECT_EQ(c.tx_poll_windows, 1u);
    EXPECT_EQ(c.tx_poll_hits, 0u);
    EXPECT_GE(c.tx_poll_ns, 2'000'000u);
    EXPECT_GE(took, 2ms);
    // The frame's completion went before the watch, and only once.
    EXPECT_EQ(rig.interrupt.used[ns::kTxQueue], 1u);
    EXPECT_EQ(c.tx_notifications, 1u);
    // "Kick me when you write entry 1": the next frame after the window needs a kick again.
    EXPECT_EQ(rig.tx().avail_event(), 1u);
}

TEST(VirtioNetPoll, WithoutEventIdxTheWindowKeepsNoNotifyThenClearsIt) {
    NetRig rig(0, polling(1ms));
    rig.activate(rig.device->device_features() & ~kFeatureEventIdx);
    rig.post_tx(frame_to(kOtherMac, 100));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.device->counters().tx_poll_windows, 1u);
    EXPECT_EQ(rig.tx().used_flags(), 0u);  // notifications on again after the window
}

TEST(VirtioNetPoll, AFramePublishedDuringTheWindowGoesWithoutAKick) {
    // A window long enough that the publishing thread lands in it on a loaded machine.
    NetRig rig(0, polling(500ms));
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 100, 1));
    const auto second = frame_to(kOtherMac, 100, 2);
    std::thread driver([&] {
        std::this_thread::sleep_for(5ms);
        rig.post_tx(second);  // published, never kicked
    });
    rig.kick(ns::kTxQueue);  // one turn: the first frame, the watch, the second frame
    driver.join();
    ASSERT_EQ(rig.backend.sent.size(), 2u);
    EXPECT_EQ(rig.backend.sent[1], second);
    const auto c = rig.device->counters();
    EXPECT_EQ(c.tx_kicks, 1u);
    EXPECT_EQ(c.tx_poll_hits, 1u);
    // The second watch ran to the same deadline: one window per turn.
    EXPECT_EQ(c.tx_poll_windows, 2u);
    EXPECT_LT(c.tx_poll_ns, 600'000'000u);
    EXPECT_EQ(rig.tx().used_idx(), 2u);
    EXPECT_EQ(rig.tx().avail_event(), 2u);
}

TEST(VirtioNetPoll, AResetWhileIdleLeavesNothingToWatch) {
    NetRig rig(0, polling(1ms));
    rig.activate();
    rig.reset();
    rig.kicks[ns::kTxQueue].signal();
    rig.device->service_queue(ns::kTxQueue);
    EXPECT_EQ(rig.device->counters().tx_poll_windows, 0u);
}

}  // namespace
}  // namespace hvmm::virtio::testing
