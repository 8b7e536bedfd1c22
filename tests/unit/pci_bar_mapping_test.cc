// The whole path a guest's BAR programming takes: conf1 port writes on the I/O bus, the host
// bridge's BarChange records, and the owner applying them to the buses (as the VMM does), so the
// PCnet's registers answer where the guest put them and nowhere else.
#include <gtest/gtest.h>

#include <array>

#include "bus/bus.h"
#include "devices/pci/pci_host_bridge.h"
#include "devices/pcnet/pcnet_pci.h"

namespace hvmm {
namespace {

class NoMemory final : public DmaSpace {
  public:
    bool read(uint64_t, std::span<uint8_t>) override { return false; }
    bool write(uint64_t, std::span<const uint8_t>) override { return false; }
};

class NoIrq final : public IrqLine {
  public:
    void set_level(bool) override {}
};

constexpr MacAddress kMac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};

class PciBarMappingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        ASSERT_TRUE(io_bus.insert(bridge, 0xCF8, 8));
        auto added = bridge.add(pcnet);
        ASSERT_TRUE(added);
        slot = *added;
    }

    void apply(const pci::BarChange& change) {
        BusDevice* device = change.function->bar_device(change.bar);
        ASSERT_NE(device, nullptr);
        Bus& bus = change.kind == pci::BarKind::kIo ? static_cast<Bus&>(io_bus) : mmio_bus;
        if (change.old_base) {
            EXPECT_TRUE(bus.remove(*device, *change.old_base));
        }
        if (change.new_base) {
            EXPECT_TRUE(bus.insert(*device, *change.new_base, change.size));
        }
    }
    void outl(uint16_t port, uint32_t value) {
        const std::array<uint8_t, 4> le{
            static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
        io_bus.write(port, le, 0);
    }
    void outw(uint16_t port, uint16_t value) {
        const std::array<uint8_t, 2> le{static_cast<uint8_t>(value),
                                        static_cast<uint8_t>(value >> 8)};
        io_bus.write(port, le, 0);
    }
    void config_write32(uint8_t reg, uint32_t value) {
        outl(0xCF8, 0x80000000u | (uint32_t{slot} << 11) | reg);
        outl(0xCFC, value);
    }
    void config_write16(uint8_t reg, uint16_t value) {
        outl(0xCF8, 0x80000000u | (uint32_t{slot} << 11) | (reg & 0xFC));
        outw(0xCFC + (reg & 2), value);
    }
    uint8_t first_prom_byte(Bus& bus, uint64_t address) {
        std::array<uint8_t, 1> byte{};
        bus.read(address, byte, 0);
        return byte[0];
    }

    NoMemory memory;
    NoIrq irq;
    IoBus io_bus;
    MmioBus mmio_bus;
    pci::PciHostBridge bridge{[this](const pci::BarChange& change) { apply(change); }};
    PcnetPci pcnet{memory, irq, nullptr, kMac};
    uint8_t slot = 0;
};

TEST_F(PciBarMappingTest, RegistersAnswerOnlyWhereTheGuestMapsThem) {
    config_write32(0x10, 0xD000);
    config_write32(0x14, 0xF0000000);
    EXPECT_EQ(first_prom_byte(io_bus, 0xD000), 0xFF) << "I/O decode still off";
    config_write16(0x04, 0x0003);
    EXPECT_EQ(first_prom_byte(io_bus, 0xD000), 0x52);
    EXPECT_EQ(first_prom_byte(mmio_bus, 0xF0000000), 0x52);
    EXPECT_EQ(first_prom_byte(mmio_bus, 0xF0000005), 0x56);
}

TEST_F(PciBarMappingTest, MovedBarLeavesNothingBehind) {
    ASSERT_TRUE(bridge.assign_initial_resources());
    EXPECT_EQ(first_prom_byte(io_bus, 0xC000), 0x52);
    config_write32(0x10, 0xD020);
    EXPECT_EQ(first_prom_byte(io_bus, 0xC000), 0xFF);
    EXPECT_EQ(first_prom_byte(io_bus, 0xD020), 0x52);
}

TEST_F(PciBarMappingTest, SizingProbeWithDecodeOnUnmapsAndRestoreRemaps) {
    ASSERT_TRUE(bridge.assign_initial_resources());
    config_write32(0x14, 0xFFFFFFFF);
    EXPECT_EQ(first_prom_byte(mmio_bus, 0xE0000000), 0xFF);
    EXPECT_EQ(first_prom_byte(mmio_bus, 0xFFFFFFE0), 0xFF) << "the probe pattern is not mapped";
    config_write32(0x14, 0xE0000000);
    EXPECT_EQ(first_prom_byte(mmio_bus, 0xE0000000), 0x52);
}

}  // namespace
}  // namespace hvmm
