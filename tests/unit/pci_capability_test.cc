#include "devices/pci/capability_list.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "boot/acpi/dsdt.h"
#include "devices/pci/pci_host_bridge.h"

namespace hvmm::pci {
namespace {

FunctionIdentity test_identity() {
    return FunctionIdentity{.vendor_id = 0x1AF4, .device_id = 0x1041, .class_code = 0x020000};
}

void write32(ConfigSpace& config, uint8_t offset, uint32_t value) {
    const std::array<uint8_t, 4> bytes{
        static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
        static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
    config.write(offset, bytes);
}

TEST(PciCapabilityList, CapabilitiesChainFromThePointerAndSetTheStatusBit) {
    ConfigSpace config(test_identity());
    EXPECT_FALSE(find_capability(config, CapabilityId::kMsix));
    CapabilityList list(config);
    const std::array<uint8_t, 10> msix{};
    const std::array<uint8_t, 14> vendor{16, 1};
    const auto first = list.add(CapabilityId::kMsix, msix);
    const auto second = list.add(CapabilityId::kVendorSpecific, vendor);
    const auto third = list.add(CapabilityId::kVendorSpecific, vendor);
    ASSERT_TRUE(first && second && third);
    EXPECT_EQ(*first, 0x40);
    EXPECT_EQ(*second, 0x4C) << "dword-aligned after 12 bytes";
    EXPECT_EQ(config.read8(0x34), 0x40);
    EXPECT_EQ(config.read8(0x41), *second);
    EXPECT_EQ(config.read8(*second + 1), *third);
    EXPECT_EQ(config.read8(*third + 1), 0) << "the list ends";
    EXPECT_NE(config.status() & bits(StatusBit::kCapabilitiesList), 0);
    EXPECT_EQ(find_capability(config, CapabilityId::kMsix), first);
    EXPECT_EQ(find_capability(config, CapabilityId::kVendorSpecific), second);
    EXPECT_EQ(find_capability(config, CapabilityId::kVendorSpecific, *second), third);
    EXPECT_FALSE(find_capability(config, CapabilityId::kVendorSpecific, *third));
}

TEST(PciCapabilityList, OnlyTheWritableMaskCanBeWritten) {
    ConfigSpace config(test_identity());
    CapabilityList list(config);
    const std::array<uint8_t, 6> body{0xAA, 0xBB, 0, 0, 0, 0};
    const std::array<uint8_t, 6> writable{0, 0x0F, 0xFF, 0, 0, 0};
    const uint8_t at = *list.add(CapabilityId::kVendorSpecific, body, writable);
    write32(config, at, 0xFFFFFFFF);  // ID, next, and the first two body bytes
    write32(config, at + 4, 0xFFFFFFFF);
    EXPECT_EQ(config.read8(at), 0x09) << "the ID is read-only";
    EXPECT_EQ(config.read8(at + 1), 0) << "so is the next pointer";
    EXPECT_EQ(config.read8(at + 2), 0xAA);
    EXPECT_EQ(config.read8(at + 3), 0xBF);
    EXPECT_EQ(config.read8(at + 4), 0xFF);
    EXPECT_EQ(config.read8(at + 5), 0x00);
}

TEST(PciCapabilityList, AFullSpaceRefusesMoreAndAMismatchedMaskIsRefused) {
    ConfigSpace config(test_identity());
    CapabilityList list(config);
    const std::array<uint8_t, 2> mask{};
    EXPECT_FALSE(list.add(CapabilityId::kVendorSpecific, std::array<uint8_t, 4>{}, mask));
    std::vector<uint8_t> big(100);
    EXPECT_TRUE(list.add(CapabilityId::kVendorSpecific, big));
    EXPECT_FALSE(list.add(CapabilityId::kVendorSpecific, big)) << "0x40 + 2 * 102 > 256";
}

TEST(PciConfigSpace64, A64BitBarTakesTwoSlotsAndSizesThroughBothHalves) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kMmio, 0x8000, true, true}));
    EXPECT_FALSE(config.define_bar(1, {BarKind::kMmio, 0x1000})) << "the upper half";
    EXPECT_FALSE(config.define_bar(5, {BarKind::kMmio, 0x1000, false, true})) << "no slot 6";
    EXPECT_FALSE(config.define_bar(2, {BarKind::kIo, 0x100, false, true}));
    EXPECT_FALSE(config.bar_spec(1));
    EXPECT_EQ(config.read32(0x10), 0xCu) << "64-bit prefetchable memory";
    write32(config, 0x10, 0xFFFFFFFF);
    write32(config, 0x14, 0xFFFFFFFF);
    EXPECT_EQ(config.read32(0x10), 0xFFFF800Cu);
    EXPECT_EQ(config.read32(0x14), 0xFFFFFFFFu);
}

TEST(PciConfigSpace64, TheUpperHalfIsPartOfTheDecodedBase) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(2, {BarKind::kMmio, 0x4000, false, true}));
    write32(config, 0x04, 0x2);  // memory decode on
    // The sizing probe, decode on: neither half-way (ending at 4 GiB) nor all ones is decoded.
    write32(config, 0x18, 0xFFFFFFFF);
    EXPECT_FALSE(config.decoded_base(2));
    write32(config, 0x1C, 0xFFFFFFFF);
    EXPECT_FALSE(config.decoded_base(2));
    // Above 4 GiB.
    write32(config, 0x1C, 0x1);
    auto moved = config.write(0x18, std::array<uint8_t, 4>{0x00, 0x00, 0x00, 0xE0});
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].new_base, 0x1'E000'0000u);
    EXPECT_EQ(config.bar_base(2), 0x1'E000'0000u);
    // Only the upper half changes: the BAR moves.
    moved = config.write(0x1C, std::array<uint8_t, 4>{0, 0, 0, 0});
    ASSERT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved[0].bar, 2);
    EXPECT_EQ(moved[0].old_base, 0x1'E000'0000u);
    EXPECT_EQ(moved[0].new_base, 0xE000'0000u);
    EXPECT_EQ(moved[0].size, 0x4000u);
}

class Wide64Function final : public ConfigSpaceFunction {
  public:
    Wide64Function() : ConfigSpaceFunction(test_identity()) {
        EXPECT_TRUE(config_.define_bar(0, {BarKind::kIo, 32}));
        EXPECT_TRUE(config_.define_bar(2, {BarKind::kMmio, 0x10000, true, true}));
    }
    BusDevice* bar_device(int) override { return nullptr; }
    std::string_view name() const override { return "wide"; }
};

TEST(PciHostBridge64, Places64BitBarsInsideTheDsdtWindowWithTheUpperHalfZero) {
    std::vector<BarChange> changes;
    PciHostBridge bridge([&](const BarChange& change) { changes.push_back(change); });
    Wide64Function first;
    Wide64Function second;
    ASSERT_TRUE(bridge.add(first));
    ASSERT_TRUE(bridge.add(second));
    ASSERT_TRUE(bridge.assign_initial_resources());
    ASSERT_EQ(changes.size(), 4u);
    for (const BarChange& change : changes) {
        ASSERT_TRUE(change.new_base);
        if (change.kind != BarKind::kMmio)
            continue;
        EXPECT_EQ(change.bar, 2);
        EXPECT_GE(*change.new_base, boot::acpi::kPciMmioWindowStart);
        EXPECT_LE(*change.new_base + change.size - 1, boot::acpi::kPciMmioWindowEnd);
        EXPECT_EQ(*change.new_base % change.size, 0u);
    }
    EXPECT_EQ(first.config_space().read32(0x1C), 0u);
    EXPECT_NE(first.config_space().bar_base(2), second.config_space().bar_base(2));
}

}  // namespace
}  // namespace hvmm::pci
