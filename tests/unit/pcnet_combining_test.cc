// What the paper's optimizations ask of the chip: RAP's place in the window (coalesced writes)
// and send combining's bounded transmit-interrupt delay.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

TEST(PcnetCombining, RapIsAtWioOffsetUntilTheDwordSwitchAndBackAfterReset) {
    PcnetRig rig;
    int layout_changes = 0;
    rig.chip.register_layout_hook = [&] { ++layout_changes; };
    EXPECT_EQ(rig.chip.rap_window().offset, 0x12);
    EXPECT_EQ(rig.chip.rap_window().width, 2);
    rig.write32(0x10, 0);  // pcnet32's probe: a dword write to RDP selects DWIO
    EXPECT_EQ(layout_changes, 1);
    EXPECT_EQ(rig.chip.rap_window().offset, 0x14);
    EXPECT_EQ(rig.chip.rap_window().width, 4);
    rig.write32(0x10, 0);  // already DWIO: no change to report
    EXPECT_EQ(layout_changes, 1);
    rig.chip.reset();
    EXPECT_EQ(layout_changes, 2);
    EXPECT_EQ(rig.chip.rap_window().offset, 0x12);
}

TEST(PcnetCombining, WithoutABatchEveryTransmitDoneInterruptsAtOnce) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0040 | 0x0100);  // ack IDON, keep IENA
    ASSERT_FALSE(rig.irq.level);
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetCombining, TransmitInterruptWaitsForTheThirdFrame) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_batch(3);
    rig.set_csr(0, 0x0040 | 0x0100);  // ack IDON, keep IENA
    ASSERT_FALSE(rig.irq.level);
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_FALSE(rig.irq.level);
    EXPECT_TRUE(rig.csr(0) & 0x0200) << "TINT is set at once; only the line waits";
    rig.queue_frame(1, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_FALSE(rig.irq.level);
    rig.queue_frame(2, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetCombining, TheDeviceTickEndsTheDelay) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_batch(3);
    rig.set_csr(0, 0x0040 | 0x0100);
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    ASSERT_FALSE(rig.irq.level);
    rig.chip.poll();
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetCombining, AcknowledgingTintStartsANewBatch) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_batch(3);
    rig.set_csr(0, 0x0040 | 0x0100);
    for (uint32_t i = 0; i < 3; ++i) {
        rig.queue_frame(i, make_frame(kOtherHost, 80));
        rig.transmit_demand();
    }
    ASSERT_TRUE(rig.irq.level);
    rig.set_csr(0, 0x0040 | 0x0200);  // the handler acks TINT
    EXPECT_FALSE(rig.irq.level);
    rig.queue_frame(3, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_FALSE(rig.irq.level) << "one frame into the new batch";
}

}  // namespace
}  // namespace hvmm::testing
