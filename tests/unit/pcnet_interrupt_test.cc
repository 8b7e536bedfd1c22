// INTR, IENA, the CSR3/CSR4/CSR5 masks and enables, and the interrupt line they drive.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

TEST(PcnetInterrupt, LineFollowsIntrAndIena) {
    PcnetRig rig;
    rig.bring_up();
    EXPECT_TRUE(rig.irq.level);
    rig.set_csr(0, 0x0000);            // IENA off, IDON still set
    EXPECT_TRUE(rig.csr(0) & 0x0080);  // INTR stays
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(0, 0x0040);
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetInterrupt, SetLevelIsCalledOnlyOnChange) {
    PcnetRig rig;
    rig.bring_up();
    const int calls = rig.irq.calls;
    rig.set_csr(0, 0x0040);
    rig.set_csr(0, 0x0040);
    (void)rig.csr(0);
    EXPECT_EQ(rig.irq.calls, calls);
}

TEST(PcnetInterrupt, Pcnet32HandlerSequenceAcknowledgesAndReenables) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.backend.inject(make_frame(kTestMac.bytes, 64));
    ASSERT_TRUE(rig.irq.level);
    // pcnet32_interrupt: ack with csr0 & ~0x004f (clearing IENA), mask sources in CSR3.
    const uint16_t csr0 = rig.csr(0);
    rig.set_csr(0, csr0 & ~0x004F);
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(3, rig.csr(3) | 0x5F00);
    rig.backend.inject(make_frame(kTestMac.bytes, 64));  // arrives during NAPI polling
    EXPECT_TRUE(rig.csr(0) & 0x0400);
    EXPECT_FALSE(rig.csr(0) & 0x0080);  // masked: no INTR
    // pcnet32_poll: unmask, set IENA; the pending RINT fires again.
    rig.set_csr(3, rig.csr(3) & 0x00FF);
    rig.set_csr(0, 0x0040);
    EXPECT_TRUE(rig.irq.level);
    EXPECT_EQ(rig.chip.counters().interrupts, 3u);  // IDON, first RINT, second RINT
}

TEST(PcnetInterrupt, MissIsMaskedByMissm) {
    PcnetRig rig;
    rig.bring_up(pcnet::SoftwareStyle::kPcnetPci, 0, 4);
    rig.set_csr(3, 0x1000 | 0x0400 | 0x0100);  // MISSM, RINTM, IDONM
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    rig.chip.receive(make_frame(kTestMac.bytes, 64));
    EXPECT_TRUE(rig.csr(0) & 0x1000);
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(3, 0x0400 | 0x0100);
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetInterrupt, MerrRaisesTheLineUnlessMerrm) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.set_csr(3, 0x0800 | 0x0200);  // MERRM, and TINTM for the frame handed back
    rig.write_descriptor(rig.tx_descriptor(0), 0xF000'0000u, 64,
                         pcnet::status::kOwn | pcnet::status::kStp | pcnet::status::kEnp);
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(0) & 0x0800);
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(3, 0x0200);
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetInterrupt, TxstrtIsMaskedAfterResetAndRaisesWhenUnmasked) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    rig.queue_frame(0, make_frame(kOtherHost, 64));
    rig.set_csr(3, 0x0200);  // TINTM, so only TXSTRT could fire
    rig.transmit_demand();
    EXPECT_TRUE(rig.csr(4) & 0x0008);
    EXPECT_FALSE(rig.irq.level);
    rig.set_csr(4, rig.csr(4) & ~0x0004 & ~0x0008);  // unmask TXSTRTM without clearing TXSTRT
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetInterrupt, UserInterruptCommandRaisesTheLine) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);
    ASSERT_FALSE(rig.irq.level);
    rig.set_csr(4, 0x0915 | 0x0080);
    EXPECT_TRUE(rig.irq.level);
    rig.set_csr(4, 0x0915 | 0x0040);
    EXPECT_FALSE(rig.irq.level);
}

TEST(PcnetInterrupt, StopDropsTheLine) {
    PcnetRig rig;
    rig.bring_up();
    ASSERT_TRUE(rig.irq.level);
    rig.set_csr(0, 0x0004);
    EXPECT_FALSE(rig.irq.level);
}

TEST(PcnetInterrupt, ResetDropsTheLine) {
    PcnetRig rig;
    rig.bring_up();
    ASSERT_TRUE(rig.irq.level);
    rig.chip.reset();
    EXPECT_FALSE(rig.irq.level);
}

}  // namespace
}  // namespace hvmm::testing
