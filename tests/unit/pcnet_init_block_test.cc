// INIT: both initialization block layouts land in the CSRs the datasheet names.
#include <gtest/gtest.h>

#include "devices/pcnet/pcnet_init_block.h"
#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

using pcnet::SoftwareStyle;

TEST(PcnetInitBlock, ThirtyTwoBitBlockLoadsModeAddressesFilterAndRings) {
    PcnetRig rig;
    rig.set_bcr(20, 2);
    rig.write_init_block32(5, 3, 0x8000, 0x1122334455667788ull);
    rig.set_csr(1, static_cast<uint16_t>(PcnetRig::kInitBlock));
    rig.set_csr(2, 0);
    rig.set_csr(0, 0x0001);
    EXPECT_TRUE(rig.csr(0) & 0x0100);   // IDON
    EXPECT_FALSE(rig.csr(0) & 0x0004);  // no longer stopped
    EXPECT_EQ(rig.csr(15), 0x8000);
    EXPECT_EQ(rig.csr(8), 0x7788);
    EXPECT_EQ(rig.csr(11), 0x1122);
    EXPECT_EQ(rig.csr(12), 0x5452);
    EXPECT_EQ(rig.csr(24) | (rig.csr(25) << 16), PcnetRig::kRxRing);
    EXPECT_EQ(rig.csr(30) | (rig.csr(31) << 16), PcnetRig::kTxRing);
    EXPECT_EQ(rig.csr(76), static_cast<uint16_t>(-32));
    EXPECT_EQ(rig.csr(78), static_cast<uint16_t>(-8));
    EXPECT_EQ(rig.csr(6), (3 << 12) | (5 << 8));
}

TEST(PcnetInitBlock, SixteenBitBlockTakesAddressTopByteFromCsr2) {
    PcnetRig rig;
    rig.write_init_block16(2, 1, 0x0040, 0xFFull);
    rig.set_csr(1, static_cast<uint16_t>(PcnetRig::kInitBlock));
    rig.set_csr(2, 0);
    rig.set_csr(0, 0x0001);
    EXPECT_TRUE(rig.csr(0) & 0x0100);
    EXPECT_EQ(rig.csr(15), 0x0040);
    EXPECT_EQ(rig.csr(8), 0x00FF);
    EXPECT_EQ(rig.csr(24) | (rig.csr(25) << 16), PcnetRig::kRxRing);
    EXPECT_EQ(rig.csr(76), static_cast<uint16_t>(-4));
    EXPECT_EQ(rig.csr(78), static_cast<uint16_t>(-2));
}

TEST(PcnetInitBlock, RingLengthEncodingsAboveNineMean512) {
    EXPECT_EQ(pcnet::ring_length_from_log2(9), 512);
    EXPECT_EQ(pcnet::ring_length_from_log2(15), 512);
    EXPECT_EQ(pcnet::ring_length_from_log2(0), 1);
}

TEST(PcnetInitBlock, BlockOutsideGuestRamRaisesMerrAndNoIdon) {
    PcnetRig rig;
    rig.set_bcr(20, 2);
    rig.set_csr(1, 0xFFF0);
    rig.set_csr(2, 0x7FFF);
    rig.set_csr(0, 0x0041);  // INIT | IENA
    const uint16_t csr0 = rig.csr(0);
    EXPECT_TRUE(csr0 & 0x0800);  // MERR
    EXPECT_FALSE(csr0 & 0x0100);
    EXPECT_TRUE(csr0 & 0x8000);  // ERR summarises it
    EXPECT_TRUE(rig.irq.level);
}

TEST(PcnetInitBlock, IdonRaisesTheInterruptOnceIenaIsSet) {
    PcnetRig rig;
    rig.bring_up();  // INIT, then STRT|IENA as pcnet32_open
    EXPECT_TRUE(rig.irq.level);
    EXPECT_TRUE(rig.csr(0) & 0x0080);
    rig.set_csr(0, 0x0100 | 0x0040);  // the driver acknowledges IDON
    EXPECT_FALSE(rig.irq.level);
}

}  // namespace
}  // namespace hvmm::testing
