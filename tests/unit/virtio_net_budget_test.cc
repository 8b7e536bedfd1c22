// A hostile guest against the transmit queue's turn budget: no write of the TX queue's own can
// refill the ring, a ring republished with one write of avail.idx costs a turn at most its budget
// of chains and bytes, and what a turn leaves waits for the guest's next kick (which the device
// asks for) or the transmit tick's small share, never a turn the device gives itself: a ring
// refilled without the guest's vCPU (a receive buffer over the avail ring) gets the tick's share.
#include <gtest/gtest.h>

#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

// A full ring of one small frame (256 entries), and a guest on another CPU that publishes
// more entries while the device drains it. Returns the head every entry names.
uint16_t publish_full_ring_and_more_during_the_turn(NetRig& rig, unsigned& more) {
    rig.post_tx(frame_to(kOtherMac, 100));
    const uint16_t head = rig.tx().get<uint16_t>(queue_layout(ns::kTxQueue).avail_ring + 4);
    for (int i = 1; i < 256; ++i) rig.tx().publish(head);
    rig.backend.on_send = [&rig, &more, head] {
        if (more > 0) {
            --more;
            rig.tx().publish(head);
        }
    };
    return head;
}

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
    // The rest was deferred, not dropped, and the device gave itself no turn.
    EXPECT_EQ(rig.kicks[ns::kTxQueue].consume(), 0u);
    EXPECT_TRUE(rig.device->tx_backlog_waits());
    // The tick takes its 64 KiB: two such frames.
    rig.device->service_tx_tick();
    EXPECT_EQ(rig.backend.sent.size(), first_turn + 2);
    EXPECT_EQ(rig.device->counters().tx_tick_turns, 1u);
    // The guest's kicks get whole turns.
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 2 * first_turn + 2);
    for (int turn = 0; turn < 20 && rig.backend.sent.size() < 200; ++turn) rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 200u);
    EXPECT_EQ(rig.backend.sent.back(), frame);
    EXPECT_FALSE(rig.device->tx_backlog_waits()) << "the ring is done: the tick stops";
}

// A guest on another CPU publishes 40 more frames while the device drains its 256: the turn
// ends on its budget, and the device asks the guest to kick when it writes its next entry
// (avail_event at the ring's end), so a guest that goes on sending pays one exit for the backlog.
TEST(VirtioNetBudget, ABacklogAsksForTheGuestsNextKick) {
    NetRig rig;
    rig.activate();
    unsigned more = 40;
    const uint16_t head = publish_full_ring_and_more_during_the_turn(rig, more);
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 256u);
    EXPECT_EQ(rig.tx().avail_event(), rig.tx().avail_idx())
        << "the driver kicks when it writes the entry after the last one it published";
    EXPECT_TRUE(rig.device->tx_backlog_waits());
    rig.device->service_tx_tick();
    EXPECT_EQ(rig.backend.sent.size(), 256u + VirtioNet::kTxTickBudget);
    rig.tx().publish(head);  // the guest's next frame, and its kick
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 297u);
    EXPECT_FALSE(rig.device->tx_backlog_waits());
    // A tick already on its way finds nothing and sends nothing.
    rig.device->service_tx_tick();
    EXPECT_EQ(rig.backend.sent.size(), 297u);
    rig.backend.on_send = nullptr;
}

TEST(VirtioNetBudget, WithoutEventIdxABacklogTurnsKicksBackOn) {
    NetRig rig;
    NetRig probe;
    rig.activate(probe.device->device_features() & ~kFeatureEventIdx);
    unsigned more = 10;
    publish_full_ring_and_more_during_the_turn(rig, more);
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 256u);
    EXPECT_EQ(rig.tx().used_flags() & 1, 0) << "VIRTQ_USED_F_NO_NOTIFY clear: the guest kicks";
    EXPECT_TRUE(rig.device->tx_backlog_waits());
    rig.backend.on_send = nullptr;
}

// The hostile case: every frame the device sends republishes another entry, as a receive buffer
// posted over the TX avail ring would when the frames come back through a backend. The guest's
// vCPU does nothing; the device gets one kicked turn and then only the tick's share.
// Every frame sent republishes an entry, as a guest's vCPU can while the turn runs: notifications
// are off, so its stores to avail.idx cost it no exit. Only the guest can do this (a receive over
// the avail ring lands between turns: both run on the I/O thread), and it must pay a kick per turn.
TEST(VirtioNetBudget, ARingRefilledWithoutAKickGetsTheTicksShare) {
    NetRig rig;
    rig.activate();
    rig.post_tx(frame_to(kOtherMac, 100));
    const uint16_t head = rig.tx().get<uint16_t>(queue_layout(ns::kTxQueue).avail_ring + 4);
    rig.backend.on_send = [&rig, head] { rig.tx().publish(head); };
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.backend.sent.size(), 256u);
    EXPECT_EQ(rig.kicks[ns::kTxQueue].consume(), 0u) << "no turn the device gives itself";
    for (unsigned tick = 1; tick <= 10; ++tick) {
        rig.device->service_tx_tick();
        EXPECT_EQ(rig.backend.sent.size(), 256u + tick * VirtioNet::kTxTickBudget);
    }
    EXPECT_TRUE(rig.device->tx_backlog_waits());
    EXPECT_EQ(rig.device->counters().tx_tick_turns, 10u);
    rig.backend.on_send = nullptr;
}

}  // namespace
}  // namespace hvmm::virtio::testing
