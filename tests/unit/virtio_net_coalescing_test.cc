// Notifications coalescing (VIRTIO_NET_F_NOTF_COAL): the rule alone (NotificationCoalescer),
// then the device with its control commands, both queues, the timer's release and reset.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "devices/virtio/net/notification_coalescer.h"
#include "virtio_net_test_rig.h"

namespace hvmm::virtio::testing {
namespace {

using Action = NotificationCoalescer::Action;

TEST(NotificationCoalescer, WithoutLimitsEveryDrainNotifies) {
    NotificationCoalescer c;
    EXPECT_FALSE(c.coalescing());
    EXPECT_EQ(c.frames_used(5), Action::kNotify);
    EXPECT_EQ(c.frames_used(0), Action::kNotify);
    c.set_limits({.max_packets = 1, .usecs = 0});  // one frame per notification: no holding
    EXPECT_FALSE(c.coalescing());
    EXPECT_EQ(c.frames_used(1), Action::kNotify);
}

TEST(NotificationCoalescer, MaxPacketsHoldsUntilReachedAndTheCeilingBoundsTheWait) {
    NotificationCoalescer c;
    c.set_limits({.max_packets = 4, .usecs = 0});
    EXPECT_EQ(c.frames_used(1), Action::kArmTimer);
    EXPECT_EQ(c.delay(), NotificationCoalescer::kFrameLimitCeiling);
    EXPECT_EQ(c.frames_used(2), Action::kHold);
    EXPECT_EQ(c.held_frames(), 3u);
    EXPECT_EQ(c.frames_used(1), Action::kNotify);
    EXPECT_FALSE(c.timer_armed());
    EXPECT_EQ(c.held_frames(), 0u);
    EXPECT_EQ(c.frames_used(9), Action::kNotify) << "one drain past the limit goes at once";
    EXPECT_EQ(c.frames_used(1), Action::kArmTimer);
}

TEST(NotificationCoalescer, UsecsAloneHoldsUntilTheTimer) {
    NotificationCoalescer c;
    c.set_limits({.max_packets = 0, .usecs = 50});
    EXPECT_EQ(c.frames_used(100), Action::kArmTimer);
    EXPECT_EQ(c.delay(), std::chrono::microseconds(50));
    EXPECT_EQ(c.frames_used(100), Action::kHold);
    EXPECT_EQ(c.frames_used(0), Action::kHold);
    c.timer_expired();
    EXPECT_FALSE(c.timer_armed());
    EXPECT_EQ(c.frames_used(0), Action::kHold) << "nothing new, nothing due";
    EXPECT_EQ(c.frames_used(1), Action::kArmTimer);
}

TEST(NotificationCoalescer, LimitsAreBoundedAndResetClearsThem) {
    EXPECT_TRUE(NotificationCoalescer::acceptable({.max_packets = ~0u, .usecs = 1'000'000}));
    EXPECT_FALSE(NotificationCoalescer::acceptable({.max_packets = 8, .usecs = 1'000'001}));
    NotificationCoalescer c;
    c.set_limits({.max_packets = 8, .usecs = 10});
    EXPECT_EQ(c.frames_used(1), Action::kArmTimer);
    c.reset();
    EXPECT_EQ(c.limits(), NotificationCoalescer::Limits{});
    EXPECT_FALSE(c.timer_armed());
    EXPECT_EQ(c.frames_used(1), Action::kNotify);
}

// struct virtio_net_ctrl_coal: le32 max_packets, le32 max_usecs.
std::vector<uint8_t> coal(uint32_t max_packets, uint32_t usecs) {
    std::vector<uint8_t> data(8);
    std::memcpy(data.data(), &max_packets, 4);
    std::memcpy(data.data() + 4, &usecs, 4);
    return data;
}

// Without EVENT_IDX every used entry the driver has not seen is worth a notification, so what
// the device holds back is the coalescing alone.
struct CoalescingRig : NetRig {
    CoalescingRig() { activate(device->device_features() & ~kFeatureEventIdx); }
    unsigned tx_interrupts() const { return interrupt.used[ns::kTxQueue]; }
    unsigned rx_interrupts() const { return interrupt.used[ns::kRxQueue]; }
    // The driver's TX_SET or RX_SET (which); the ack byte.
    uint8_t coalesce(uint8_t which, uint32_t max_packets, uint32_t usecs) {
        return command(ns::kCtrlClassNotfCoal, which, coal(max_packets, usecs));
    }
    void send(int frames) {
        for (int i = 0; i < frames; ++i) post_tx(frame_to(kOtherMac, 64));
        kick(ns::kTxQueue);
    }
};

TEST(VirtioNetCoalescing, OfferedWithTheControlQueueItNeeds) {
    NetRig rig;
    EXPECT_TRUE(rig.device->device_features() & ns::kNotfCoal);
    EXPECT_FALSE(rig.device->accept_features(kFeatureVersion1 | ns::kNotfCoal));
    EXPECT_TRUE(rig.device->accept_features(kFeatureVersion1 | ns::kNotfCoal | ns::kCtrlVq));
}

TEST(VirtioNetCoalescing, TxSetHoldsTheNotificationUntilMaxPackets) {
    CoalescingRig rig;
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 1u) << "no limits yet: every drain notifies";
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 3, 0), ns::kCtrlOk);
    EXPECT_EQ(rig.device->coalescing_limits(ns::kTxQueue).max_packets, 3u);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 1u);
    EXPECT_TRUE(rig.device->notification_held(ns::kTxQueue));
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 1u);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 2u) << "the third frame reached max_packets";
    EXPECT_FALSE(rig.device->notification_held(ns::kTxQueue));
    EXPECT_EQ(rig.backend.sent.size(), 4u) << "holding a notification never holds a frame";
    EXPECT_EQ(rig.tx().used_idx(), 4);
    const auto c = rig.device->counters();
    EXPECT_EQ(c.tx_notifications, 2u);
    EXPECT_EQ(c.tx_notifications_held, 2u);
}

TEST(VirtioNetCoalescing, AChainDroppedOnTransmitCountsAsAFrameUsed) {
    CoalescingRig rig;
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 2, 0), ns::kCtrlOk);
    const uint64_t at = rig.tx().alloc(16);
    rig.tx().add_chain({{at, 5}});  // shorter than the header: used with length 0, never sent
    rig.kick(ns::kTxQueue);
    EXPECT_EQ(rig.tx_interrupts(), 0u);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 1u) << "the dropped chain and the frame make max_packets";
    EXPECT_EQ(rig.backend.sent.size(), 1u);
}

TEST(VirtioNetCoalescing, TheTimerReleasesWhatWasHeld) {
    CoalescingRig rig;
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 64, 100), ns::kCtrlOk);
    rig.send(5);
    EXPECT_EQ(rig.tx_interrupts(), 0u);
    EXPECT_TRUE(rig.device->notification_held(ns::kTxQueue));
    rig.device->coalescing_timer_expired(ns::kTxQueue);
    EXPECT_EQ(rig.tx_interrupts(), 1u);
    EXPECT_FALSE(rig.device->notification_held(ns::kTxQueue));
    rig.device->coalescing_timer_expired(ns::kTxQueue);  // a late or stray expiry sends nothing
    EXPECT_EQ(rig.tx_interrupts(), 1u);
}

TEST(VirtioNetCoalescing, TheLoopsTimerFiresAfterUsecs) {
    CoalescingRig rig;
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 64, 200), ns::kCtrlOk);
    rig.send(2);
    ASSERT_EQ(rig.tx_interrupts(), 0u);
    // The I/O thread's loop: its one-shot timer sends the notification, then the test stops it.
    std::thread io([&] { rig.loop->run(); });
    for (int i = 0; i < 2000 && rig.device->notification_held(ns::kTxQueue); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    rig.loop->stop();
    io.join();
    EXPECT_EQ(rig.tx_interrupts(), 1u);
    EXPECT_FALSE(rig.device->notification_held(ns::kTxQueue));
}

TEST(VirtioNetCoalescing, RxSetCountsFramesNotBuffers) {
    CoalescingRig rig;
    rig.post_rx(16, 2048);
    rig.kick(ns::kRxQueue);
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalRxSet, 2, 0), ns::kCtrlOk);
    rig.backend.inject(frame_to(kNicMac, 60));
    EXPECT_EQ(rig.rx_interrupts(), 0u);
    EXPECT_EQ(rig.rx().used_idx(), 1) << "the frame is in guest memory at once";
    rig.backend.inject(frame_to(kNicMac, 60));
    EXPECT_EQ(rig.rx_interrupts(), 1u);
    EXPECT_EQ(rig.device->counters().rx_notifications_held, 1u);
    EXPECT_EQ(rig.device->coalescing_limits(ns::kTxQueue), NotificationCoalescer::Limits{})
        << "RX_SET leaves the transmit side alone";
}

TEST(VirtioNetCoalescing, NewLimitsReleaseWhatTheOldOnesHeld) {
    CoalescingRig rig;
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 10, 1000), ns::kCtrlOk);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 0u);
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 0, 0), ns::kCtrlOk);
    EXPECT_EQ(rig.tx_interrupts(), 1u);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 2u);
}

TEST(VirtioNetCoalescing, ResetSetsTheLimitsBackToZero) {
    CoalescingRig rig;
    ASSERT_EQ(rig.coalesce(ns::kCtrlNotfCoalTxSet, 10, 1000), ns::kCtrlOk);
    rig.send(1);
    EXPECT_TRUE(rig.device->notification_held(ns::kTxQueue));
    rig.reset();
    EXPECT_FALSE(rig.device->notification_held(ns::kTxQueue));
    EXPECT_EQ(rig.device->coalescing_limits(ns::kTxQueue), NotificationCoalescer::Limits{});
    rig.new_drivers(256);
    rig.interrupt.used = {};
    rig.activate(rig.device->device_features() & ~kFeatureEventIdx);
    rig.send(1);
    EXPECT_EQ(rig.tx_interrupts(), 1u);
}

TEST(VirtioNetCoalescing, MalformedOrUnnegotiatedCommandsAreErrors) {
    {
        CoalescingRig rig;
        EXPECT_EQ(rig.command(ns::kCtrlClassNotfCoal, 2, coal(4, 4)), ns::kCtrlErr) << "VQ_SET";
        EXPECT_EQ(rig.command(ns::kCtrlClassNotfCoal, ns::kCtrlNotfCoalTxSet,
                              std::vector<uint8_t>{4, 0, 0, 0}),
                  ns::kCtrlErr)
            << "four of its eight bytes";
        EXPECT_EQ(rig.coalesce(ns::kCtrlNotfCoalRxSet, 4, 2'000'000), ns::kCtrlErr);
        EXPECT_EQ(rig.device->coalescing_limits(ns::kRxQueue), NotificationCoalescer::Limits{});
        EXPECT_EQ(rig.device->counters().ctrl_errors, 3u);
    }
    NetRig rig;
    rig.activate(rig.device->device_features() & ~ns::kNotfCoal);
    EXPECT_EQ(rig.command(ns::kCtrlClassNotfCoal, ns::kCtrlNotfCoalTxSet, coal(4, 4)),
              ns::kCtrlErr);
}

}  // namespace
}  // namespace hvmm::virtio::testing
