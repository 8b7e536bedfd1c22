#include "devices/pci/msix_table.h"

#include <gtest/gtest.h>

#include <array>

namespace hvmm::pci {
namespace {

uint64_t read(const MsixTable& table, uint64_t offset, size_t width) {
    std::array<uint8_t, 8> bytes{};
    table.read_table(offset, std::span(bytes).first(width));
    uint64_t value = 0;
    for (size_t i = width; i-- > 0;) value = (value << 8) | bytes[i];
    return value;
}
bool write(MsixTable& table, uint64_t offset, uint64_t value, size_t width) {
    std::array<uint8_t, 8> bytes{};
    for (size_t i = 0; i < width; ++i) bytes[i] = static_cast<uint8_t>(value >> (8 * i));
    return table.write_table(offset, std::span(bytes).first(width));
}

TEST(PciMsixTable, EveryVectorStartsMaskedAndZero) {
    MsixTable table(3);
    for (uint16_t v = 0; v < 3; ++v) {
        EXPECT_TRUE(table.masked(v));
        EXPECT_EQ(read(table, 16u * v + 12, 4), 1u);
        EXPECT_EQ(table.message(v), MsiMessage{});
    }
    EXPECT_FALSE(table.enabled());
    EXPECT_EQ(table.pba_bytes(), 8u);
    EXPECT_EQ(table.table_bytes(), 48u);
}

TEST(PciMsixTable, EntriesReadBackWithReservedBitsZero) {
    MsixTable table(2);
    EXPECT_TRUE(write(table, 16, 0xFEE0'1003, 4));  // address bits 1:0 are reserved
    EXPECT_TRUE(write(table, 20, 0x1, 4));
    EXPECT_TRUE(write(table, 24, 0x4041, 4));
    EXPECT_TRUE(write(table, 28, 0xFFFF'FFFE, 4));  // unmasks; reserved control bits stay 0
    EXPECT_EQ(read(table, 16, 8), 0x1'FEE0'1000u);
    EXPECT_EQ(read(table, 28, 4), 0u);
    EXPECT_EQ(table.message(1), (MsiMessage{0x1'FEE0'1000, 0x4041}));
    EXPECT_FALSE(table.masked(1));
    EXPECT_FALSE(write(table, 24, 0x4041, 4)) << "an unchanged entry reports no change";
    EXPECT_EQ(read(table, 64, 4), 0u) << "past the table";
    EXPECT_FALSE(write(table, 64, 1, 4));
}

TEST(PciMsixTable, QwordWritesProgramAnEntry) {
    MsixTable table(1);
    write(table, 0, 0x0000'0000'FEE0'0000, 8);
    write(table, 8, 0x0000'0000'0000'4021, 8);  // data, then Vector Control 0 (unmask)
    EXPECT_EQ(table.message(0), (MsiMessage{0xFEE0'0000, 0x4021}));
    EXPECT_FALSE(table.masked(0));
}

TEST(PciMsixTable, FunctionMaskMasksEveryVector) {
    MsixTable table(2);
    write(table, 12, 0, 4);
    table.set_control(MsixTable::kControlEnable | MsixTable::kControlFunctionMask);
    EXPECT_TRUE(table.enabled());
    EXPECT_TRUE(table.masked(0));
    table.set_control(MsixTable::kControlEnable);
    EXPECT_FALSE(table.masked(0));
    EXPECT_TRUE(table.masked(1));
    EXPECT_TRUE(table.masked(2)) << "out of range counts as masked";
}

TEST(PciMsixTable, PendingBitsShowInThePbaInQwords) {
    MsixTable table(70);
    EXPECT_EQ(table.pba_bytes(), 16u);
    table.set_pending(1, true);
    table.set_pending(65, true);
    std::array<uint8_t, 16> pba{};
    table.read_pba(0, pba);
    EXPECT_EQ(pba[0], 0x2);
    EXPECT_EQ(pba[8], 0x2);
    table.set_pending(1, false);
    EXPECT_FALSE(table.pending(1));
    EXPECT_TRUE(table.pending(65));
    table.reset();
    EXPECT_FALSE(table.pending(65));
    EXPECT_TRUE(table.masked(0));
}

TEST(PciMsixTable, CapabilityBodyEncodesTableSizeAndPlacement) {
    MsixTable table(3);
    const auto body = table.capability_body(0, 0x4000, 0x5000);
    EXPECT_EQ(body[0] | (body[1] << 8), 2) << "N - 1";
    EXPECT_EQ(body[2] | (body[3] << 8) | (body[4] << 16) | (body[5] << 24), 0x4000);
    EXPECT_EQ(body[6] | (body[7] << 8) | (body[8] << 16) | (body[9] << 24), 0x5000);
    const auto writable = MsixTable::capability_writable();
    EXPECT_EQ(writable[0], 0);
    EXPECT_EQ(writable[1], 0xC0) << "only Enable and Function Mask";
}

}  // namespace
}  // namespace hvmm::pci
