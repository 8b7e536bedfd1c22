#include "devices/pcnet/pcnet_pci.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "devices/pci/pci_host_bridge.h"
#include "irq/pci_irq_routing.h"

namespace hvmm {
namespace {

class CountingMemory final : public DmaSpace {
  public:
    bool read(uint64_t, std::span<uint8_t> out) override {
        ++reads;
        std::fill(out.begin(), out.end(), 0);
        return true;
    }
    bool write(uint64_t, std::span<const uint8_t>) override {
        ++writes;
        return true;
    }
    int reads = 0;
    int writes = 0;
};

class FakeIrq final : public IrqLine {
  public:
    void set_level(bool asserted) override { level = asserted; }
    bool level = false;
};

constexpr MacAddress kMac{{0x52, 0x54, 0x00, 0xAB, 0xCD, 0xEF}};

class PcnetPciTest : public ::testing::Test {
  protected:
    CountingMemory memory;
    FakeIrq irq;
    PcnetPci pcnet{memory, irq, nullptr, kMac};

    uint32_t config32(uint8_t offset) {
        std::array<uint8_t, 4> bytes{};
        pcnet.config_read(offset, bytes);
        return bytes[0] | bytes[1] << 8 | bytes[2] << 16 | static_cast<uint32_t>(bytes[3]) << 24;
    }
    std::vector<pci::BarChange> config_write32(uint8_t offset, uint32_t value) {
        const std::array<uint8_t, 4> le{
            static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
        return pcnet.config_write(offset, le);
    }
    void set_command(uint16_t command) {
        const std::array<uint8_t, 2> le{static_cast<uint8_t>(command),
                                        static_cast<uint8_t>(command >> 8)};
        pcnet.config_write(0x04, le);
    }
    // A 16-bit (WIO) register write through one of the BARs.
    void out16(BusDevice& window, uint64_t offset, uint16_t value) {
        const std::array<uint8_t, 2> le{static_cast<uint8_t>(value),
                                        static_cast<uint8_t>(value >> 8)};
        window.write(BusAccess{0, offset, 0}, le);
    }
    // What pcnet32 does to start initialisation: init block address in CSR1/CSR2, then INIT.
    void start_init(BusDevice& window) {
        out16(window, 0x12, 1);
        out16(window, 0x10, 0x1000);
        out16(window, 0x12, 2);
        out16(window, 0x10, 0x0000);
        out16(window, 0x12, 0);
        out16(window, 0x10, 0x0001);
    }
};

TEST_F(PcnetPciTest, IdentifiesAsAm79C970A) {
    EXPECT_EQ(config32(0x00), 0x20001022u);
    EXPECT_EQ(config32(0x08), 0x02000010u) << "Ethernet controller, revision 10h";
    EXPECT_EQ(config32(0x2C), 0u) << "a PCI 2.0 part has no subsystem IDs";
    EXPECT_EQ(config32(0x3C), 0xFF060100u) << "INTA#, MIN_GNT 06h, MAX_LAT FFh";
    EXPECT_EQ(config32(0x04), 0x02800000u) << "medium DEVSEL, fast back-to-back, all off";
}

TEST_F(PcnetPciTest, BarsSizeAsThirtyTwoBytesOfIoAndMemory) {
    config_write32(0x10, 0xFFFFFFFF);
    config_write32(0x14, 0xFFFFFFFF);
    config_write32(0x18, 0xFFFFFFFF);
    EXPECT_EQ(config32(0x10), 0xFFFFFFE1u);
    EXPECT_EQ(config32(0x14), 0xFFFFFFE0u);
    EXPECT_EQ(config32(0x18), 0u) << "no third BAR";
    EXPECT_NE(pcnet.bar_device(0), nullptr);
    EXPECT_NE(pcnet.bar_device(1), nullptr);
    EXPECT_NE(pcnet.bar_device(0), pcnet.bar_device(1));
    EXPECT_EQ(pcnet.bar_device(2), nullptr);
}

TEST_F(PcnetPciTest, BothBarsReachTheChipsAddressProm) {
    for (int bar = 0; bar < 2; ++bar) {
        BusDevice& window = *pcnet.bar_device(bar);
        for (uint64_t i = 0; i < 6; ++i) {
            std::array<uint8_t, 1> byte{};
            window.read(BusAccess{0, i, 0}, byte);
            EXPECT_EQ(byte[0], kMac.bytes[i]) << "BAR " << bar << " byte " << i;
        }
    }
}

TEST_F(PcnetPciTest, NoDmaHappensWhileBusMasteringIsOff) {
    set_command(pci::bits(pci::CommandBit::kIoSpace));
    start_init(*pcnet.bar_device(0));
    EXPECT_EQ(memory.reads + memory.writes, 0);
    EXPECT_GT(pcnet.dma().refused(), 0u) << "the chip tried to read its init block";
}

TEST_F(PcnetPciTest, DmaReachesMemoryOnceBusMasteringIsOn) {
    set_command(pci::bits(pci::CommandBit::kIoSpace) | pci::bits(pci::CommandBit::kBusMaster));
    EXPECT_TRUE(pcnet.dma().enabled());
    start_init(*pcnet.bar_device(0));
    EXPECT_GT(memory.reads, 0) << "the init block was read";
    EXPECT_EQ(pcnet.dma().refused(), 0u);
}

TEST_F(PcnetPciTest, ClearingBusMasterStopsDmaAgain) {
    set_command(pci::bits(pci::CommandBit::kBusMaster));
    set_command(0);
    EXPECT_FALSE(pcnet.dma().enabled());
    start_init(*pcnet.bar_device(1));
    EXPECT_EQ(memory.reads, 0);
}

TEST_F(PcnetPciTest, FirmwareAssignmentMapsBothBarsAndRoutesInta) {
    std::vector<pci::BarChange> changes;
    pci::PciHostBridge bridge([&](const pci::BarChange& change) { changes.push_back(change); });
    auto slot = bridge.add(pcnet);
    ASSERT_TRUE(slot);
    ASSERT_TRUE(bridge.assign_initial_resources());
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].function, &pcnet);
    EXPECT_EQ(changes[0].kind, pci::BarKind::kIo);
    EXPECT_EQ(changes[0].new_base, 0xC000u);
    EXPECT_EQ(changes[0].size, 32u);
    EXPECT_EQ(changes[1].kind, pci::BarKind::kMmio);
    EXPECT_EQ(changes[1].new_base, 0xE0000000u);
    EXPECT_EQ(pcnet.bar_device(changes[1].bar), pcnet.bar_device(PcnetPci::kMmioBar));
    EXPECT_EQ(config32(0x3C) & 0xFF, pci::intx_gsi(*slot, 0));
    EXPECT_FALSE(pcnet.dma().enabled()) << "the driver enables bus mastering itself";
}

}  // namespace
}  // namespace hvmm
