// What the paper's optimizations ask of the chip: RAP's place in the window (coalesced writes)
// and send combining's one transmit-done interrupt per batch.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

TEST(PcnetCombining, RapIsAtWioOffsetUntilTheDwordSwitchAndBackAfterReset) {
    PcnetRig rig;
    const int& layout_changes = rig.events.layout_changes;
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

TEST(PcnetCombining, OneWalkSendsItsBatchThenRaisesOneInterrupt) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_per_walk(true);
    rig.set_csr(0, 0x0040 | 0x0100);  // ack IDON, keep IENA
    ASSERT_FALSE(rig.irq.level);
    std::vector<bool> line_during_walk;
    rig.backend.on_send = [&] { line_during_walk.push_back(rig.irq.level); };
    for (uint32_t i = 0; i < 3; ++i) rig.queue_frame(i, make_frame(kOtherHost, 80));
    const int calls_before = rig.irq.calls;
    rig.transmit_demand();  // one demand: the walk finds all three
    ASSERT_EQ(rig.backend.sent.size(), 3u);
    EXPECT_EQ(line_during_walk, (std::vector<bool>{false, false, false}))
        << "TINT of the first frames must not interrupt while the batch is still going out";
    EXPECT_TRUE(rig.irq.level);
    EXPECT_EQ(rig.irq.calls - calls_before, 1) << "one interrupt for the batch";
    EXPECT_EQ(rig.chip.counters().interrupts, 2u) << "IDON's, then the batch's";
}

TEST(PcnetCombining, ASingleFrameWalkInterruptsAsSoonAsItIsSent) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_per_walk(true);
    rig.set_csr(0, 0x0040 | 0x0100);
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_TRUE(rig.irq.level) << "no frame count or tick to wait for";
    EXPECT_TRUE(rig.csr(0) & 0x0200);
}

TEST(PcnetCombining, AcknowledgingTintLowersTheLineUntilTheNextBatch) {
    PcnetRig rig;
    rig.bring_up();
    rig.chip.set_transmit_interrupt_per_walk(true);
    rig.set_csr(0, 0x0040 | 0x0100);
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    ASSERT_TRUE(rig.irq.level);
    rig.set_csr(0, 0x0040 | 0x0200);  // the handler acks TINT
    EXPECT_FALSE(rig.irq.level);
    rig.queue_frame(1, make_frame(kOtherHost, 80));
    rig.transmit_demand();
    EXPECT_TRUE(rig.irq.level);
}

// The "kick" optimization's silent writes: the rig plays KVM, counting what an ioeventfd took.
struct SilentRig : PcnetRig {
    void silent_rap_zero() { ++events.pending.rap_zero; }
    void silent_demand() { ++events.pending.transmit_demand; }
};

TEST(PcnetSilentWrites, ATransmitDemandWithRapAtZeroSendsWhenResolved) {
    SilentRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.write16(0x12, 0);  // RAP is 0 (a real exit, or an earlier silent one)
    rig.silent_rap_zero();
    rig.silent_demand();
    EXPECT_TRUE(rig.backend.sent.empty());
    rig.chip.resolve_silent_writes();
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.chip.counters().silent_transmit_demands, 1u);
}

TEST(PcnetSilentWrites, ASilentRapZeroAfterANonZeroRapIsSeenByTheNextDataAccess) {
    SilentRig rig;
    rig.bring_up();
    rig.write16(0x12, 88);  // RAP = 88 (exits)
    rig.silent_rap_zero();  // RAP := 0 (taken by KVM)
    // The next RDP read is CSR0's, not CSR88's.
    EXPECT_EQ(rig.read16(0x10) & 0x0040, 0x0040) << "INEA of CSR0";
    EXPECT_EQ(rig.chip.counters().silent_rap_zero, 1u);
}

TEST(PcnetSilentWrites, A0x48WrittenWhileRapIsNotZeroGoesToThatRegister) {
    SilentRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0004);  // STOP: the logical address filter is writable only then
    rig.write16(0x12, 8);    // RAP = 8: CSR8, logical address filter bits 15:0
    rig.silent_demand();   // RDP := 0x48, to CSR8
    EXPECT_EQ(rig.read16(0x10), 0x0048);
    EXPECT_EQ(rig.chip.counters().tdmd, 0u);
}

TEST(PcnetSilentWrites, PendingDemandsAreResolvedBeforeRapChanges) {
    SilentRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.write16(0x12, 0);
    rig.silent_demand();    // TDMD, with RAP at 0
    rig.write16(0x12, 3);   // then RAP = 3 exits: the demand must not land in CSR3
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.csr(3) & 0x00FF, 0);
}

TEST(PcnetSilentWrites, BothKindsAfterANonZeroRapAreTakenAsRapZeroFirst) {
    SilentRig rig;
    rig.bring_up();
    rig.queue_frame(0, make_frame(kOtherHost, 80));
    rig.write16(0x12, 3);
    rig.silent_rap_zero();
    rig.silent_demand();
    rig.chip.resolve_silent_writes();
    EXPECT_EQ(rig.backend.sent.size(), 1u);
    EXPECT_EQ(rig.chip.counters().silent_ambiguous, 1u);
}

}  // namespace
}  // namespace hvmm::testing
