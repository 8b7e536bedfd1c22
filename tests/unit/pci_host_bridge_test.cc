#include "devices/pci/pci_host_bridge.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "irq/pci_irq_routing.h"

namespace hvmm::pci {
namespace {

class NullDevice final : public BusDevice {
  public:
    void read(const BusAccess&, std::span<uint8_t>) override {}
    void write(const BusAccess&, std::span<const uint8_t>) override {}
    std::string_view name() const override { return "null"; }
};

// A NIC-like function: an I/O BAR and a memory BAR, INTA.
class TestFunction final : public ConfigSpaceFunction {
  public:
    explicit TestFunction(uint32_t io_size = 32, uint32_t mmio_size = 32)
        : ConfigSpaceFunction(FunctionIdentity{.vendor_id = 0x1022,
                                               .device_id = 0x2000,
                                               .class_code = 0x020000,
                                               .interrupt_pin = 1}) {
        EXPECT_TRUE(config_.define_bar(0, {BarKind::kIo, io_size}));
        EXPECT_TRUE(config_.define_bar(1, {BarKind::kMmio, mmio_size}));
    }
    BusDevice* bar_device(int index) override { return index <= 1 ? &device : nullptr; }
    std::string_view name() const override { return "test"; }
    NullDevice device;
};

class PciHostBridgeTest : public ::testing::Test {
  protected:
    PciHostBridge bridge{[this](const BarChange& change) { changes.push_back(change); }};
    std::vector<BarChange> changes;

    void outl(uint16_t port, uint32_t value) { out(port, value, 4); }
    void out(uint16_t port, uint32_t value, size_t width) {
        std::array<uint8_t, 4> bytes{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                                     static_cast<uint8_t>(value >> 16),
                                     static_cast<uint8_t>(value >> 24)};
        bridge.write(BusAccess{port, static_cast<uint64_t>(port - 0xCF8), 0},
                     std::span<const uint8_t>(bytes.data(), width));
    }
    uint32_t in(uint16_t port, size_t width) {
        std::array<uint8_t, 4> bytes{};
        bridge.read(BusAccess{port, static_cast<uint64_t>(port - 0xCF8), 0},
                    std::span<uint8_t>(bytes.data(), width));
        uint32_t value = 0;
        for (size_t i = width; i-- > 0;) {
            value = (value << 8) | bytes[i];
        }
        return value;
    }
    static uint32_t address(uint32_t slot, uint32_t reg, uint32_t bus = 0, uint32_t function = 0) {
        return 0x80000000u | (bus << 16) | (slot << 11) | (function << 8) | reg;
    }
    uint32_t config_read32(uint32_t slot, uint32_t reg) {
        outl(0xCF8, address(slot, reg));
        return in(0xCFC, 4);
    }
};

TEST_F(PciHostBridgeTest, AddressRegisterHoldsEnableBitForConf1Probe) {
    // Linux's pci_check_type1: a dword write of 0x80000000 must read back unchanged.
    outl(0xCF8, 0x80000000);
    EXPECT_EQ(in(0xCF8, 4), 0x80000000u);
    outl(0xCF8, 0xFFFFFFFF);
    EXPECT_EQ(in(0xCF8, 4), 0x80FFFFFCu) << "reserved bits read as zero";
}

TEST_F(PciHostBridgeTest, NarrowAccessesToAddressPortDoNotTouchIt) {
    outl(0xCF8, 0x80000000);
    out(0xCFB, 0x01, 1);  // what a type-2 probe writes
    out(0xCF8, 0x0000, 2);
    EXPECT_EQ(in(0xCF8, 4), 0x80000000u);
    EXPECT_EQ(in(0xCF8, 1), 0xFFu);
}

TEST_F(PciHostBridgeTest, HostBridgeIsIntel440fxAtSlotZero) {
    EXPECT_EQ(config_read32(0, 0x00), 0x12378086u);
    EXPECT_EQ(config_read32(0, 0x08) >> 8, 0x060000u);
    EXPECT_EQ(config_read32(0, 0x0C) & 0x00FF0000u, 0u) << "header type 0";
    // Linux's pci_sanity_check reads the class as a word at 0x0A.
    outl(0xCF8, address(0, 0x08));
    EXPECT_EQ(in(0xCFE, 2), 0x0600u);
}

TEST_F(PciHostBridgeTest, AbsentSlotsFunctionsAndBusesReadAllOnes) {
    EXPECT_EQ(config_read32(5, 0x00), 0xFFFFFFFFu);
    outl(0xCF8, address(0, 0x00, 0, 1));
    EXPECT_EQ(in(0xCFC, 4), 0xFFFFFFFFu);
    outl(0xCF8, address(0, 0x00, 1, 0));
    EXPECT_EQ(in(0xCFC, 4), 0xFFFFFFFFu);
    outl(0xCF8, address(0, 0x00) & ~0x80000000u);
    EXPECT_EQ(in(0xCFC, 4), 0xFFFFFFFFu) << "enable bit clear";
}

TEST_F(PciHostBridgeTest, DataPortHonoursByteAndWordOffsets) {
    outl(0xCF8, address(0, 0x00));
    EXPECT_EQ(in(0xCFC, 1), 0x86u);
    EXPECT_EQ(in(0xCFD, 1), 0x80u);
    EXPECT_EQ(in(0xCFE, 1), 0x37u);
    EXPECT_EQ(in(0xCFF, 1), 0x12u);
    EXPECT_EQ(in(0xCFC, 2), 0x8086u);
    EXPECT_EQ(in(0xCFE, 2), 0x1237u);
    EXPECT_EQ(in(0xCFD, 2), 0x3780u) << "unaligned word inside the dword";
    EXPECT_EQ(in(0xCFF, 2), 0xFF12u) << "bytes past 0xCFF read as ones";
}

TEST_F(PciHostBridgeTest, AddPlacesFunctionsInNextFreeOrGivenSlot) {
    TestFunction first;
    TestFunction second;
    TestFunction third;
    EXPECT_EQ(bridge.add(first), 1);
    EXPECT_EQ(bridge.add(second, 5), 5);
    EXPECT_FALSE(bridge.add(third, 5));
    EXPECT_FALSE(bridge.add(third, 32));
    EXPECT_EQ(bridge.add(third), 2);
    EXPECT_EQ(bridge.function_at(5), &second);
    EXPECT_EQ(config_read32(5, 0x00), 0x20001022u);
}

TEST_F(PciHostBridgeTest, WordWriteAtOffsetTwoReachesTheRightRegister) {
    TestFunction function;
    ASSERT_EQ(bridge.add(function), 1);
    outl(0xCF8, address(1, 0x3C));
    out(0xCFC, 0x0A, 1);  // Interrupt Line
    EXPECT_EQ(config_read32(1, 0x3C) & 0xFF, 0x0Au);
    outl(0xCF8, address(1, 0x04));
    out(0xCFE, 0xFFFF, 2);  // status: write-1-to-clear, nothing set, nothing changes
    out(0xCFC, 0x0001, 2);  // command: I/O space
    EXPECT_EQ(config_read32(1, 0x04), 0x00000001u);
}

TEST_F(PciHostBridgeTest, BarSizingThroughConf1ReadsSizeMask) {
    TestFunction function;
    ASSERT_EQ(bridge.add(function), 1);
    outl(0xCF8, address(1, 0x10));
    outl(0xCFC, 0xFFFFFFFF);
    EXPECT_EQ(in(0xCFC, 4), 0xFFFFFFE1u);
    outl(0xCF8, address(1, 0x14));
    outl(0xCFC, 0xFFFFFFFF);
    EXPECT_EQ(in(0xCFC, 4), 0xFFFFFFE0u);
    EXPECT_TRUE(changes.empty()) << "decode is off";
}

TEST_F(PciHostBridgeTest, GuestProgrammingBarsReportsChangesNamingTheFunction) {
    TestFunction function;
    ASSERT_EQ(bridge.add(function), 1);
    outl(0xCF8, address(1, 0x10));
    outl(0xCFC, 0xD000);
    outl(0xCF8, address(1, 0x14));
    outl(0xCFC, 0xF0000000);
    ASSERT_TRUE(changes.empty());
    outl(0xCF8, address(1, 0x04));
    out(0xCFC, 0x0003, 2);
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[0].function, &function);
    EXPECT_EQ(changes[0].kind, BarKind::kIo);
    EXPECT_EQ(changes[0].new_base, 0xD000u);
    EXPECT_EQ(changes[1].function, &function);
    EXPECT_EQ(changes[1].kind, BarKind::kMmio);
    EXPECT_EQ(changes[1].new_base, 0xF0000000u);
    EXPECT_EQ(changes[1].size, 32u);

    changes.clear();
    outl(0xCF8, address(1, 0x10));
    outl(0xCFC, 0xD100);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].old_base, 0xD000u);
    EXPECT_EQ(changes[0].new_base, 0xD100u);
}

TEST_F(PciHostBridgeTest, InitialAssignmentAlignsEnablesAndSetsInterruptLine) {
    TestFunction small;             // 32-byte I/O, 32-byte MMIO
    TestFunction big(256, 0x4000);  // needs 256- and 16 KiB alignment
    ASSERT_EQ(bridge.add(small), 1);
    ASSERT_EQ(bridge.add(big), 2);
    ASSERT_TRUE(bridge.assign_initial_resources());

    EXPECT_EQ(config_read32(1, 0x10), 0xC001u);
    EXPECT_EQ(config_read32(1, 0x14), 0xE0000000u);
    EXPECT_EQ(config_read32(2, 0x10), 0xC101u) << "0xC020 rounded up to 256";
    EXPECT_EQ(config_read32(2, 0x14), 0xE0004000u) << "0xE0000020 rounded up to 16 KiB";
    EXPECT_EQ(config_read32(1, 0x04) & 0x3, 0x3u);
    EXPECT_EQ(config_read32(1, 0x04) & 0x4, 0u) << "bus mastering is the driver's to enable";
    EXPECT_EQ(config_read32(1, 0x3C) & 0xFF, intx_gsi(1, 0));
    EXPECT_EQ(config_read32(2, 0x3C) & 0xFF, intx_gsi(2, 0));
    EXPECT_EQ(config_read32(0, 0x3C) & 0xFF, 0u) << "the bridge has no interrupt pin";

    ASSERT_EQ(changes.size(), 4u);
    for (const BarChange& change : changes) {
        EXPECT_FALSE(change.old_base);
        EXPECT_TRUE(change.new_base);
    }
    EXPECT_EQ(changes[2].function, &big);
    EXPECT_EQ(changes[2].new_base, 0xC100u);
    EXPECT_EQ(changes[3].new_base, 0xE0004000u);
}

TEST_F(PciHostBridgeTest, InitialAssignmentFailsWhenIoSpaceRunsOut) {
    TestFunction huge(0x8000, 16);  // 32 KiB of ports cannot fit above 0xC000
    ASSERT_EQ(bridge.add(huge), 1);
    const auto result = bridge.assign_initial_resources();
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message.find("I/O space is exhausted"), std::string::npos);
}

}  // namespace
}  // namespace hvmm::pci
