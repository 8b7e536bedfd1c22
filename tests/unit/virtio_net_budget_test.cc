// A hostile guest against the transmit queue's turn budget: no device write can refill the ring
// (so one kick never feeds itself), and a ring republished with one write of avail.idx costs a
// turn at most its budget of chains and bytes before the I/O thread serves its other sources.
#include <gtest/gtest.h>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

TEST(VirtioNetBudget, UsedRingAliasedOntoTheAvailRingCannotRefillIt) {
    NetRig rig;
    // The transmit driver's used ring is its avail ring: used.idx lands on avail.idx and each
    // used element on avail entries, so every used write the device makes rewrites the ring
    // the device reads next.
    QueueLayout layout = queue_layout(ns::kTxQueue);
    layout.used_ring = layout.avail_ring;
    rig.drivers[ns::kTxQueue].emplace(rig.memory, 256, layout);
    rig.activate();
    for (uint8_t i = 0; i < 4; ++i) rig.post_tx(frame_to(kOtherMac, 100, i));
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 4u);
    // used.idx (what was consumed) is all the device wrote onto avail.idx: nothing new, and no
    // self-kick scheduled another turn.
    EXPECT_EQ(rig.kicks[ns::kTxQueue].consume(), 0u);
    rig.device->service_queue(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 4u);
    EXPECT_EQ(rig.device->counters().tx_turns_deferred, 0u);
}

TEST(VirtioNetBudget, RepublishedLargeFramesEndATurnOnItsByteBudget) {
    NetRig rig;
    rig.activate();
    // One 60000-byte frame, published 200 times: one write of avail.idx claims 12 MB.
    const auto frame = frame_to(kOtherMac, 60000);
    rig.post_tx(frame);
    const uint16_t head = rig.tx().get<uint16_t>(queue_layout(ns::kTxQueue).avail_ring + 4);
    for (int i = 1; i < 200; ++i) rig.tx().publish(head);
    rig.kick(ns::kTxQueue);
    const size_t first_turn = rig.backend.sent.size();
    // The turn stops once it has sent 1 MiB: 18 frames of 60000 bytes.
    EXPECT_EQ(first_turn, (size_t{1 << 20} + 59999) / 60000);
    EXPECT_EQ(rig.device->counters().tx_turns_deferred, 1u);
    // The rest was deferred, not dropped: the self-kick brings the next turn.
    ASSERT_EQ(rig.kicks[ns::kTxQueue].consume(), 1u);
    rig.kicks[ns::kTxQueue].signal();
    rig.device->service_queue(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 2 * first_turn);
    for (int turn = 0; turn < 20 && rig.backend.sent.size() < 200; ++turn) rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 200u);
    EXPECT_EQ(rig.backend.sent.back(), frame);
}

}  // namespace
}  // namespace hvmm::virtio::testing
