#include "boot/acpi/acpi_tables.h"

#include <gtest/gtest.h>

#include <cstring>

#include "boot/acpi/aml.h"
#include "boot/acpi/dsdt.h"
#include "boot/acpi/fadt.h"
#include "boot/acpi/madt.h"
#include "boot/acpi/root_tables.h"
#include "boot/acpi/sdt.h"
#include "irq/pci_irq_routing.h"

namespace hvmm::boot::acpi {
namespace {

AcpiImage build(uint32_t cpus) {
    auto image = build_acpi_tables(AcpiConfig{cpus, {}});
    EXPECT_TRUE(image) << image.error().message;
    return image.value_or(AcpiImage{});
}

std::span<const uint8_t> table_at(const AcpiImage& image, uint64_t address) {
    TableHeader header;
    std::memcpy(&header, image.bytes.data() + (address - kRsdpAddress), sizeof(header));
    return std::span(image.bytes.data() + (address - kRsdpAddress), header.length);
}

template <class T>
T read_at(std::span<const uint8_t> bytes, size_t offset) {
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof(T));
    return value;
}

bool contains(std::span<const uint8_t> haystack, const aml::Bytes& needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

TEST(AcpiTables, RsdpIsRevisionTwoPointingAtTheXsdtWithBothChecksums) {
    const AcpiImage image = build(1);
    ASSERT_EQ(image.rsdp, 0xE0000u);
    Rsdp rsdp;
    std::memcpy(&rsdp, image.bytes.data(), sizeof(rsdp));
    EXPECT_EQ(std::string(rsdp.signature, 8), "RSD PTR ");
    EXPECT_EQ(rsdp.revision, 2);
    EXPECT_EQ(rsdp.length, 36u);
    EXPECT_EQ(rsdp.xsdt_address, image.xsdt);
    EXPECT_EQ(byte_sum(std::span(image.bytes.data(), 20)), 0);
    EXPECT_EQ(byte_sum(std::span(image.bytes.data(), 36)), 0);
}

TEST(AcpiTables, EveryTableChecksumsToZero) {
    const AcpiImage image = build(4);
    for (const uint64_t address : {image.xsdt, image.fadt, image.madt, image.dsdt}) {
        const auto table = table_at(image, address);
        EXPECT_EQ(byte_sum(table), 0) << std::string(table.begin(), table.begin() + 4);
    }
}

TEST(AcpiTables, TablesAreSixteenByteAlignedAndFitBelowOneMiB) {
    const AcpiImage image = build(8);
    for (const uint64_t address : {image.rsdp, image.xsdt, image.fadt, image.madt, image.dsdt}) {
        EXPECT_EQ(address % 16, 0u);
    }
    EXPECT_LE(kRsdpAddress + image.bytes.size(), 0x100000u);
}

TEST(AcpiTables, XsdtListsTheFadtAndTheMadt) {
    const AcpiImage image = build(1);
    const auto xsdt = table_at(image, image.xsdt);
    EXPECT_EQ(std::string(xsdt.begin(), xsdt.begin() + 4), "XSDT");
    ASSERT_EQ(xsdt.size(), 36u + 16u);
    EXPECT_EQ(read_at<uint64_t>(xsdt, 36), image.fadt);
    EXPECT_EQ(read_at<uint64_t>(xsdt, 44), image.madt);
}

TEST(AcpiTables, FadtIsRevisionSixHardwareReducedWithSleepRegistersAtThePorts) {
    const AcpiImage image = build(1);
    const auto table = table_at(image, image.fadt);
    ASSERT_EQ(table.size(), 276u);
    Fadt fadt;
    std::memcpy(&fadt, table.data(), sizeof(fadt));
    EXPECT_EQ(std::string(fadt.header.signature, 4), "FACP");
    EXPECT_EQ(fadt.header.revision, 6);
    EXPECT_NE(fadt.flags & (1u << 20), 0u);
    EXPECT_EQ(fadt.x_dsdt, image.dsdt);
    EXPECT_EQ(fadt.dsdt, 0u);
    EXPECT_EQ(fadt.sci_int, 0);
    EXPECT_EQ(fadt.pm1a_cnt_blk, 0u);
    for (const auto& [reg, port] :
         {std::pair{fadt.sleep_control_reg, 0x600}, std::pair{fadt.sleep_status_reg, 0x601}}) {
        EXPECT_EQ(reg.address_space_id, 1);  // System I/O
        EXPECT_EQ(reg.register_bit_width, 8);
        EXPECT_EQ(reg.register_bit_offset, 0);
        EXPECT_EQ(reg.access_size, 1);
        EXPECT_EQ(reg.address, static_cast<uint64_t>(port));
    }
    // The same fields read at their raw offsets, independent of the struct's layout.
    EXPECT_EQ(read_at<uint32_t>(table, 112), 1u << 20 | 0);
    EXPECT_EQ(read_at<uint64_t>(table, 140), image.dsdt);
    EXPECT_EQ(read_at<uint8_t>(table, 244), 1);
    EXPECT_EQ(read_at<uint64_t>(table, 248), 0x600u);
    EXPECT_EQ(read_at<uint64_t>(table, 260), 0x601u);
}

TEST(AcpiTables, MadtHasOneEnabledLocalApicPerVcpuAndTheIoApic) {
    const AcpiImage image = build(3);
    const auto madt = table_at(image, image.madt);
    EXPECT_EQ(std::string(madt.begin(), madt.begin() + 4), "APIC");
    EXPECT_EQ(read_at<uint32_t>(madt, 36), 0xFEE00000u);
    std::vector<uint8_t> apic_ids;
    int io_apics = 0;
    int overrides = 0;
    for (size_t offset = 44; offset < madt.size(); offset += madt[offset + 1]) {
        ASSERT_GE(madt[offset + 1], 2) << "zero-length MADT entry";
        switch (madt[offset]) {
            case kMadtTypeLocalApic: {
                const auto lapic = read_at<MadtLocalApic>(madt, offset);
                EXPECT_EQ(lapic.flags & 1, 1u);
                apic_ids.push_back(lapic.apic_id);
                break;
            }
            case kMadtTypeIoApic: {
                const auto io_apic = read_at<MadtIoApic>(madt, offset);
                EXPECT_EQ(io_apic.io_apic_id, 3);
                EXPECT_EQ(io_apic.address, 0xFEC00000u);
                EXPECT_EQ(io_apic.gsi_base, 0u);
                ++io_apics;
                break;
            }
            case kMadtTypeInterruptOverride: {
                const auto over = read_at<MadtInterruptOverride>(madt, offset);
                EXPECT_EQ(over.bus, 0);
                EXPECT_EQ(over.source, 0);
                EXPECT_EQ(over.gsi, 2u);
                EXPECT_EQ(over.flags, 0x5);  // active high, edge
                ++overrides;
                break;
            }
            default:
                ADD_FAILURE() << "unexpected MADT entry type " << int{madt[offset]};
        }
    }
    EXPECT_EQ(apic_ids, (std::vector<uint8_t>{0, 1, 2}));
    EXPECT_EQ(io_apics, 1);
    EXPECT_EQ(overrides, 1);
}

TEST(AcpiTables, DsdtPrtMapsEverySlotAndPinAsThePciRoutingSays) {
    const AcpiImage image = build(1);
    const auto dsdt = table_at(image, image.dsdt);
    for (uint32_t slot = 1; slot < 32; ++slot) {
        for (uint32_t pin = 0; pin < 4; ++pin) {
            const aml::Bytes entry =
                aml::package({aml::integer((slot << 16) | 0xFFFF), aml::integer(pin),
                              aml::integer(0), aml::integer(pci::intx_gsi(slot, pin))});
            EXPECT_TRUE(contains(dsdt, entry)) << "slot " << slot << " pin " << pin;
        }
    }
    EXPECT_FALSE(contains(dsdt, aml::package({aml::integer(0xFFFF), aml::integer(0),
                                              aml::integer(0), aml::integer(16)})));
}

TEST(AcpiTables, DsdtDescribesS5AndTheLegacyDevices) {
    const AcpiImage image = build(1);
    const auto dsdt = table_at(image, image.dsdt);
    EXPECT_TRUE(
        contains(dsdt, aml::name("_S5_", aml::package({aml::integer(5), aml::integer(0),
                                                       aml::integer(0), aml::integer(0)}))));
    EXPECT_TRUE(contains(dsdt, aml::name("_HID", aml::eisa_id("PNP0A03"))));
    EXPECT_TRUE(contains(dsdt, aml::name("_HID", aml::eisa_id("PNP0501"))));
    EXPECT_TRUE(contains(dsdt, aml::name("_HID", aml::eisa_id("PNP0B00"))));
    EXPECT_TRUE(contains(dsdt, aml::resource::io(0x3F8, 0x3F8, 1, 8)));
    EXPECT_TRUE(contains(dsdt, aml::resource::irq_no_flags({4})));
    EXPECT_TRUE(contains(dsdt, aml::resource::io(0x70, 0x70, 1, 2)));
}

TEST(AcpiTables, ExplicitRoutesReplaceTheDefaultTable) {
    auto image = build_acpi_tables(AcpiConfig{1, {PciIntxRoute{3, 0, 19}}});
    ASSERT_TRUE(image) << image.error().message;
    const auto dsdt = table_at(*image, image->dsdt);
    EXPECT_TRUE(contains(dsdt, aml::name("_PRT", aml::package(std::vector<aml::Bytes>{aml::package(
                                                     {aml::integer(0x3FFFF), aml::integer(0),
                                                      aml::integer(0), aml::integer(19)})}))));
}

TEST(AcpiTables, RouteOutsideBusZeroSlotsIsRefused) {
    auto image = build_acpi_tables(AcpiConfig{1, {PciIntxRoute{32, 0, 16}}});
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message,
              "PCI interrupt route for slot 32 pin 0 is out of range (slot 0-31, pin 0-3)");
}

TEST(AcpiTables, ZeroCpusAreRefused) {
    auto image = build_acpi_tables(AcpiConfig{0, {}});
    ASSERT_FALSE(image);
    EXPECT_EQ(image.error().message, "0 vCPUs requested; hvmm's ACPI tables describe 1 to 254");
}

}  // namespace
}  // namespace hvmm::boot::acpi
