// Register semantics of the Am79C970A: reset values, read-only and write-one-to-clear bits,
// RAP/RDP/BDP, the WIO/DWIO switch, RESET, and the address PROM.
#include <gtest/gtest.h>

#include "pcnet_test_rig.h"

namespace hvmm::testing {
namespace {

TEST(PcnetRegisters, ResetValuesMatchTheDatasheet) {
    PcnetRig rig;
    EXPECT_EQ(rig.csr(0), 0x0004);  // STOP
    EXPECT_EQ(rig.csr(3), 0x0000);
    EXPECT_EQ(rig.csr(4), 0x0115);
    EXPECT_EQ(rig.csr(5), 0x0000);
    EXPECT_EQ(rig.csr(15), 0x0000);
    EXPECT_EQ(rig.bcr(2), 0x0002);
    EXPECT_EQ(rig.bcr(18), 0x9001);
    EXPECT_EQ(rig.bcr(20), 0x0200);
    EXPECT_EQ(rig.csr(58), 0x0200);
    EXPECT_EQ(rig.bcr(35), 0x1022);
}

TEST(PcnetRegisters, ChipIdIdentifiesAm79C970AAsPcnet32ComputesIt) {
    PcnetRig rig;
    const uint32_t id = rig.csr(88) | (uint32_t{rig.csr(89)} << 16);
    EXPECT_EQ(id & 0xFFF, 0x003u);
    EXPECT_EQ((id >> 12) & 0xFFFF, 0x2621u);
}

TEST(PcnetRegisters, PhysicalAddressRegistersHoldTheMacAfterReset) {
    PcnetRig rig;
    EXPECT_EQ(rig.csr(12), 0x5452);
    EXPECT_EQ(rig.csr(13), 0x1200);
    EXPECT_EQ(rig.csr(14), 0x5634);
}

TEST(PcnetRegisters, PromHoldsMacChecksumAndWW) {
    PcnetRig rig;
    std::array<uint8_t, 16> prom{};
    for (size_t i = 0; i < prom.size(); ++i) {
        rig.chip.read(i, std::span(&prom[i], 1));
    }
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(prom[i], kTestMac.bytes[i]);
    EXPECT_EQ(prom[14], 'W');
    EXPECT_EQ(prom[15], 'W');
    uint16_t sum = 0;
    for (size_t i = 0; i < 12; ++i) sum = static_cast<uint16_t>(sum + prom[i]);
    sum = static_cast<uint16_t>(sum + 'W' + 'W');
    EXPECT_EQ(prom[12] | (prom[13] << 8), sum);
    EXPECT_EQ(rig.read32(0) & 0xFFFF, 0x5452u);  // wider reads see the same bytes
}

TEST(PcnetRegisters, PromIsReadOnly) {
    PcnetRig rig;
    const uint8_t junk = 0xAA;
    rig.chip.write(0, std::span(&junk, 1));
    uint8_t first = 0;
    rig.chip.read(0, std::span(&first, 1));
    EXPECT_EQ(first, kTestMac.bytes[0]);
    EXPECT_EQ(rig.chip.counters().prom_writes, 1u);
}

TEST(PcnetRegisters, RapReadsBackWhatWasWritten) {
    PcnetRig rig;
    rig.write16(0x12, 88);
    EXPECT_EQ(rig.read16(0x12), 88);
}

TEST(PcnetRegisters, WritingOneClearsIdonAndWritingZeroKeepsIt) {
    PcnetRig rig;
    rig.bring_up();
    ASSERT_TRUE(rig.csr(0) & 0x0100);
    rig.set_csr(0, 0x0040);  // IENA only: IDON written as 0
    EXPECT_TRUE(rig.csr(0) & 0x0100);
    rig.set_csr(0, 0x0100 | 0x0040);
    EXPECT_FALSE(rig.csr(0) & 0x0100);
}

TEST(PcnetRegisters, ReadOnlyCsr0BitsIgnoreWrites) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0100 | 0x0040);  // clear IDON
    const uint16_t before = rig.csr(0);
    rig.set_csr(0, 0x80B0 | 0x0040);  // ERR, INTR, RXON, TXON are read-only
    EXPECT_EQ(rig.csr(0), before);
}

TEST(PcnetRegisters, Csr4WriteOneToClearAndUintcmd) {
    PcnetRig rig;
    rig.set_csr(4, 0x0115 | 0x0080);   // UINTCMD
    EXPECT_TRUE(rig.csr(4) & 0x0040);  // UINT set
    EXPECT_FALSE(rig.csr(4) & 0x0080);
    rig.set_csr(4, 0x0115 | 0x0040);  // write 1 to UINT clears it
    EXPECT_FALSE(rig.csr(4) & 0x0040);
    EXPECT_EQ(rig.csr(4), 0x0115);
}

TEST(PcnetRegisters, SwstyleTwoSetsSsize32InBcr20AndCsr58) {
    PcnetRig rig;
    rig.set_bcr(20, 2);
    EXPECT_EQ(rig.bcr(20), 0x0302);
    EXPECT_EQ(rig.csr(58), 0x0302);
    rig.set_csr(58, 3);
    EXPECT_EQ(rig.bcr(20), 0x0303);
    rig.set_bcr(20, 0);
    EXPECT_EQ(rig.bcr(20), 0x0200);
}

TEST(PcnetRegisters, ReservedSwstyleSelectsSixteenBitStructuresAsPcnet32CloseExpects) {
    PcnetRig rig;
    rig.set_bcr(20, 2);
    rig.set_bcr(20, 4);  // pcnet32_close: "switch back to 16bit mode"
    EXPECT_EQ(rig.bcr(20), 0x0200);
}

TEST(PcnetRegisters, SwstyleChangesOnlyWhileStoppedOrSuspended) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_bcr(20, 0);
    EXPECT_EQ(rig.bcr(20), 0x0302);
    rig.set_csr(5, 0x0001);  // SPND
    rig.set_bcr(20, 3);
    EXPECT_EQ(rig.bcr(20), 0x0303);
}

TEST(PcnetRegisters, InitBlockAddressIsWritableOnlyWhileStopped) {
    PcnetRig rig;
    rig.set_csr(1, 0x1234);
    EXPECT_EQ(rig.csr(1), 0x1234);
    rig.bring_up();
    rig.set_csr(1, 0x5678);
    EXPECT_EQ(rig.csr(1), static_cast<uint16_t>(PcnetRig::kInitBlock));
}

TEST(PcnetRegisters, ReadingResetStopsTheChipButKeepsBcrsAndInitAddress) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(3, 0x5F00);
    (void)rig.read16(0x14);
    EXPECT_EQ(rig.csr(0), 0x0004);
    EXPECT_EQ(rig.csr(3), 0x0000);
    EXPECT_EQ(rig.csr(4), 0x0115);
    EXPECT_EQ(rig.csr(1), static_cast<uint16_t>(PcnetRig::kInitBlock));
    EXPECT_EQ(rig.bcr(20), 0x0302);
    EXPECT_EQ(rig.chip.counters().reset_reads, 1u);
}

TEST(PcnetRegisters, WritingResetDoesNothing) {
    PcnetRig rig;
    rig.bring_up();
    rig.write16(0x14, 0);
    EXPECT_TRUE(rig.csr(0) & 0x0002);  // still started
}

TEST(PcnetRegisters, DwordWriteToRdpSwitchesToDwio) {
    PcnetRig rig;
    rig.write32(0x10, 0);   // RAP is 0: a harmless CSR0 write
    rig.write32(0x14, 88);  // DWIO RAP
    EXPECT_EQ(rig.read32(0x14), 88u);
    EXPECT_EQ(rig.read32(0x10), 0x1003u);  // CSR88, upper half reads zero
    rig.write32(0x14, 20);
    rig.write32(0x1C, 2);  // DWIO BDP
    EXPECT_EQ(rig.read32(0x1C), 0x0302u);
}

TEST(PcnetRegisters, WordAccessesAreIgnoredInDwioMode) {
    PcnetRig rig;
    rig.write32(0x10, 0);
    rig.write16(0x12, 88);
    EXPECT_EQ(rig.read16(0x12), 0xFFFF);
    EXPECT_EQ(rig.read32(0x14), 0u);  // RAP untouched
    EXPECT_GE(rig.chip.counters().bad_accesses, 2u);
}

TEST(PcnetRegisters, DwioResetReadsAt0x18AndSoftResetKeepsDwio) {
    PcnetRig rig;
    rig.write32(0x10, 0);
    rig.write32(0x14, 4);
    rig.write32(0x10, 0x0000);
    (void)rig.read32(0x18);
    rig.write32(0x14, 0);
    EXPECT_EQ(rig.read32(0x10), 0x0004u);
}

TEST(PcnetRegisters, HardwareResetReturnsToWio) {
    PcnetRig rig;
    rig.write32(0x10, 0);
    rig.chip.reset();
    rig.write16(0x12, 88);
    EXPECT_EQ(rig.read16(0x10), 0x1003);
}

TEST(PcnetRegisters, DwordAccessesAreIgnoredInWioModeExceptTheSwitch) {
    PcnetRig rig;
    (void)rig.read32(0x18);  // pcnet32 probes with a DWIO reset read first
    EXPECT_EQ(rig.chip.counters().reset_reads, 0u);
    rig.write16(0x12, 0);
    EXPECT_EQ(rig.read16(0x10), 0x0004);  // still WIO
}

TEST(PcnetRegisters, AccessesAreCountedByKind) {
    PcnetRig rig;
    (void)rig.csr(0);
    (void)rig.bcr(2);
    const auto c = rig.chip.counters();
    EXPECT_EQ(c.rap_writes, 2u);
    EXPECT_EQ(c.rdp_reads, 1u);
    EXPECT_EQ(c.bdp_reads, 1u);
}

TEST(PcnetRegisters, CsrIndexBeyond127ReadsZeroAndIgnoresWrites) {
    PcnetRig rig;
    rig.set_csr(200, 0x1234);
    EXPECT_EQ(rig.csr(200), 0);
}

TEST(PcnetRegisters, Bcr4ShowsLinkAsPcnet32ChecksIt) {
    PcnetRig rig;
    EXPECT_NE(rig.bcr(4), 0x00C0);  // link up: LEDOUT lit
    rig.chip.set_link_up(false);
    EXPECT_EQ(rig.bcr(4), 0x00C0);
    rig.chip.set_link_up(true);
    EXPECT_EQ(rig.bcr(4), 0x80C0);
}

TEST(PcnetRegisters, StopClearsEveryOtherCsr0Bit) {
    PcnetRig rig;
    rig.bring_up();
    rig.set_csr(0, 0x0004 | 0x0002);  // STOP wins over STRT
    EXPECT_EQ(rig.csr(0), 0x0004);
}

}  // namespace
}  // namespace hvmm::testing

namespace hvmm::testing {
namespace {

TEST(PcnetRegisters, DriverBringUpWorksEntirelyInDwioMode) {
    PcnetRig rig;
    rig.write32(0x10, 0);  // enter DWIO
    auto set_csr = [&](unsigned i, uint16_t v) {
        rig.write32(0x14, i);
        rig.write32(0x10, v);
    };
    rig.write32(0x14, 20);
    rig.write32(0x1C, 2);
    rig.write_init_block32(4, 4);
    set_csr(1, static_cast<uint16_t>(PcnetRig::kInitBlock));
    set_csr(2, 0);
    set_csr(0, 0x0001);
    set_csr(0, 0x0042);
    rig.write32(0x14, 0);
    EXPECT_EQ(rig.read32(0x10) & 0x0133, 0x0133u);  // IDON, TXON, RXON, STRT, INIT
    EXPECT_TRUE(rig.irq.level);
}

}  // namespace
}  // namespace hvmm::testing
