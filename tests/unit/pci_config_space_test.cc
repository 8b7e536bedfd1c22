#include "devices/pci/config_space.h"

#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "devices/pci/bus_master_dma.h"

namespace hvmm::pci {
namespace {

FunctionIdentity test_identity() {
    return FunctionIdentity{.vendor_id = 0x1234,
                            .device_id = 0x5678,
                            .revision_id = 0x42,
                            .class_code = 0x020000,
                            .subsystem_vendor_id = 0xAAAA,
                            .subsystem_id = 0xBBBB,
                            .interrupt_pin = 1,
                            .min_gnt = 6,
                            .max_lat = 0xFF,
                            .status = bits(StatusBit::kDevselMedium)};
}

void write32(ConfigSpace& config, uint8_t offset, uint32_t value,
             std::vector<BarChange>* out = nullptr) {
    const std::array<uint8_t, 4> le{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                                    static_cast<uint8_t>(value >> 16),
                                    static_cast<uint8_t>(value >> 24)};
    auto changes = config.write(offset, le);
    if (out) {
        *out = std::move(changes);
    }
}

std::vector<BarChange> write16(ConfigSpace& config, uint8_t offset, uint16_t value) {
    const std::array<uint8_t, 2> le{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8)};
    return config.write(offset, le);
}

TEST(PciConfigSpace, IdentityRegistersReadBackAndIgnoreWrites) {
    ConfigSpace config(test_identity());
    EXPECT_EQ(config.read32(0x00), 0x56781234u);
    EXPECT_EQ(config.read32(0x08), 0x02000042u);
    EXPECT_EQ(config.read32(0x2C), 0xBBBBAAAAu);
    EXPECT_EQ(config.read8(0x3D), 1);
    EXPECT_EQ(config.read8(0x3E), 6);
    EXPECT_EQ(config.read8(0x3F), 0xFF);
    write32(config, 0x00, 0);
    write32(config, 0x08, 0);
    write32(config, 0x2C, 0);
    write32(config, 0x3C, 0);
    EXPECT_EQ(config.read32(0x00), 0x56781234u);
    EXPECT_EQ(config.read32(0x08), 0x02000042u);
    EXPECT_EQ(config.read32(0x2C), 0xBBBBAAAAu);
    EXPECT_EQ(config.read32(0x3C), 0xFF060100u) << "only Interrupt Line is writable";
}

TEST(PciConfigSpace, NoCapabilitiesAndNoExpansionRom) {
    ConfigSpace config(test_identity());
    EXPECT_EQ(config.status() & bits(StatusBit::kCapabilitiesList), 0);
    EXPECT_EQ(config.read8(0x34), 0);
    write32(config, 0x30, 0xFFFFFFFF);
    EXPECT_EQ(config.read32(0x30), 0u);
}

TEST(PciConfigSpace, CommandKeepsOnlyImplementedBits) {
    ConfigSpace config(test_identity());
    write16(config, 0x04, 0xFFFF);
    EXPECT_EQ(config.command(), 0x0147) << "I/O, memory, bus master, parity, SERR";
    write16(config, 0x04, 0x0000);
    EXPECT_EQ(config.command(), 0);
}

TEST(PciConfigSpace, StatusErrorBitsAreWriteOneToClearAndTheRestReadOnly) {
    ConfigSpace config(test_identity());
    config.set_status_bits(
        bits(StatusBit::kReceivedMasterAbort) | bits(StatusBit::kDetectedParityError), true);
    EXPECT_EQ(config.status(), 0xA200);
    // Writing zeros clears nothing; writing one clears only that bit; DEVSEL stays.
    write16(config, 0x06, 0x0000);
    EXPECT_EQ(config.status(), 0xA200);
    write16(config, 0x06, bits(StatusBit::kReceivedMasterAbort));
    EXPECT_EQ(config.status(), 0x8200);
    write16(config, 0x06, 0xFFFF);
    EXPECT_EQ(config.status(), 0x0200);
}

TEST(PciConfigSpace, ByteWriteToCommandLeavesStatusAlone) {
    ConfigSpace config(test_identity());
    config.set_status_bits(bits(StatusBit::kSignaledSystemError), true);
    const std::array<uint8_t, 1> io_enable{0x01};
    config.write(0x04, io_enable);
    EXPECT_EQ(config.command(), 0x0001);
    EXPECT_EQ(config.status(), 0x4200);
}

TEST(PciConfigSpace, BarRejectsBadSizesAndIndexes) {
    ConfigSpace config(test_identity());
    EXPECT_FALSE(config.define_bar(0, {BarKind::kIo, 24}));
    EXPECT_FALSE(config.define_bar(0, {BarKind::kIo, 2}));
    EXPECT_FALSE(config.define_bar(0, {BarKind::kMmio, 8}));
    EXPECT_FALSE(config.define_bar(6, {BarKind::kIo, 32}));
    EXPECT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    EXPECT_FALSE(config.define_bar(0, {BarKind::kIo, 32}));
}

TEST(PciConfigSpace, IoBarSizingReadsSizeMaskWithTypeBit) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    EXPECT_EQ(config.read32(0x10), 0x1u);
    write32(config, 0x10, 0xFFFFFFFF);
    EXPECT_EQ(config.read32(0x10), 0xFFFFFFE1u);
}

TEST(PciConfigSpace, MemoryBarSizingReadsSizeMaskWithTypeBits) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(1, {BarKind::kMmio, 32}));
    ASSERT_TRUE(config.define_bar(2, {BarKind::kMmio, 4096, true}));
    write32(config, 0x14, 0xFFFFFFFF);
    write32(config, 0x18, 0xFFFFFFFF);
    EXPECT_EQ(config.read32(0x14), 0xFFFFFFE0u);
    EXPECT_EQ(config.read32(0x18), 0xFFFFF008u);
}

TEST(PciConfigSpace, UndefinedBarReadsZeroWhateverIsWritten) {
    ConfigSpace config(test_identity());
    write32(config, 0x20, 0xFFFFFFFF);
    EXPECT_EQ(config.read32(0x20), 0u);
}

TEST(PciConfigSpace, BarIsNotDecodedUntilItsSpaceIsEnabled) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    std::vector<BarChange> changes;
    write32(config, 0x10, 0xC000, &changes);
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(config.bar_base(0), 0xC000u);
    EXPECT_FALSE(config.decoded_base(0));

    changes = write16(config, 0x04, bits(CommandBit::kIoSpace));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0], (BarChange{.bar = 0,
                                     .kind = BarKind::kIo,
                                     .old_base = std::nullopt,
                                     .new_base = 0xC000,
                                     .size = 32}));
}

TEST(PciConfigSpace, MemoryDecodeDoesNotMapIoBars) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    ASSERT_TRUE(config.define_bar(1, {BarKind::kMmio, 32}));
    write32(config, 0x10, 0xC000);
    write32(config, 0x14, 0xE0000000);
    auto changes = write16(config, 0x04, bits(CommandBit::kMemorySpace));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].bar, 1);
    EXPECT_EQ(changes[0].kind, BarKind::kMmio);
    EXPECT_EQ(changes[0].new_base, 0xE0000000u);
}

TEST(PciConfigSpace, MovingAnEnabledBarReportsOldAndNewBase) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(1, {BarKind::kMmio, 32}));
    write32(config, 0x14, 0xE0000000);
    write16(config, 0x04, bits(CommandBit::kMemorySpace));
    std::vector<BarChange> changes;
    write32(config, 0x14, 0xE0001000, &changes);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].old_base, 0xE0000000u);
    EXPECT_EQ(changes[0].new_base, 0xE0001000u);
    EXPECT_EQ(changes[0].size, 32u);
}

TEST(PciConfigSpace, SizingAnEnabledBarUnmapsItAndRestoringMapsItAgain) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    write32(config, 0x10, 0xC020);
    write16(config, 0x04, bits(CommandBit::kIoSpace));
    std::vector<BarChange> changes;
    write32(config, 0x10, 0xFFFFFFFF, &changes);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].old_base, 0xC020u);
    EXPECT_FALSE(changes[0].new_base) << "all ones is past the 64 KiB port space";
    write32(config, 0x10, 0xC020, &changes);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_FALSE(changes[0].old_base);
    EXPECT_EQ(changes[0].new_base, 0xC020u);
}

TEST(PciConfigSpace, DisablingDecodeUnmapsAndBaseZeroIsNeverDecoded) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(1, {BarKind::kMmio, 32}));
    write16(config, 0x04, bits(CommandBit::kMemorySpace));
    EXPECT_FALSE(config.decoded_base(1)) << "an unassigned BAR stays unmapped";
    std::vector<BarChange> changes;
    write32(config, 0x14, 0xE0000000, &changes);
    ASSERT_EQ(changes.size(), 1u);
    changes = write16(config, 0x04, 0);
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0].old_base, 0xE0000000u);
    EXPECT_FALSE(changes[0].new_base);
}

TEST(PciConfigSpace, WriteOfUnchangedBaseReportsNothing) {
    ConfigSpace config(test_identity());
    ASSERT_TRUE(config.define_bar(0, {BarKind::kIo, 32}));
    write32(config, 0x10, 0xC000);
    write16(config, 0x04, bits(CommandBit::kIoSpace));
    std::vector<BarChange> changes;
    write32(config, 0x10, 0xC01F, &changes);  // low bits below the size are not writable
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(config.read32(0x10), 0xC001u);
}

class RecordingDma final : public DmaSpace {
  public:
    bool read(uint64_t, std::span<uint8_t> out) override {
        ++reads;
        std::fill(out.begin(), out.end(), 0xAB);
        return true;
    }
    bool write(uint64_t, std::span<const uint8_t>) override {
        ++writes;
        return true;
    }
    int reads = 0;
    int writes = 0;
};

TEST(PciBusMasterDma, RefusesEveryAccessWhileBusMasteringIsOff) {
    RecordingDma memory;
    BusMasterDma dma(memory);
    std::array<uint8_t, 4> buffer{};
    EXPECT_FALSE(dma.read(0x1000, buffer));
    EXPECT_FALSE(dma.write(0x1000, buffer));
    EXPECT_EQ(memory.reads + memory.writes, 0);
    EXPECT_EQ(buffer[0], 0);
    EXPECT_EQ(dma.refused(), 2u);

    dma.set_enabled(true);
    EXPECT_TRUE(dma.read(0x1000, buffer));
    EXPECT_TRUE(dma.write(0x1000, buffer));
    EXPECT_EQ(memory.reads, 1);
    EXPECT_EQ(memory.writes, 1);
    EXPECT_EQ(buffer[0], 0xAB);
}

}  // namespace
}  // namespace hvmm::pci
