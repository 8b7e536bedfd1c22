// AML encodings checked against the byte forms of the ACPI 6 specification (chapter 20 and
// section 6.4) and against what iasl emits for the same ASL.
#include "boot/acpi/aml.h"

#include <gtest/gtest.h>

namespace hvmm::boot::acpi::aml {
namespace {

TEST(AmlPkgLength, ShortLengthIsOneByteCountingItself) {
    EXPECT_EQ(pkg_length(0), Bytes({0x01}));
    EXPECT_EQ(pkg_length(0x3E), Bytes({0x3F}));
}

TEST(AmlPkgLength, LengthFromSixtyThreeTakesTwoBytes) {
    // 0x3F bytes of content + 2 length bytes = 0x41: lead byte 01 in bits 6-7, low nibble 1.
    EXPECT_EQ(pkg_length(0x3F), Bytes({0x41, 0x04}));
    EXPECT_EQ(pkg_length(0xFFD), Bytes({0x4F, 0xFF}));
}

TEST(AmlPkgLength, LongerLengthsTakeThreeAndFourBytes) {
    EXPECT_EQ(pkg_length(0xFFE), Bytes({0x81, 0x00, 0x01}));          // 0x1001
    EXPECT_EQ(pkg_length(0xFFFFC), Bytes({0x8F, 0xFF, 0xFF}));        // 0xFFFFF
    EXPECT_EQ(pkg_length(0xFFFFD), Bytes({0xC1, 0x00, 0x00, 0x01}));  // 0x100001
    EXPECT_EQ(pkg_length(0xFFFFE), Bytes({0xC2, 0x00, 0x00, 0x01}));  // 0x100002
}

TEST(AmlInteger, UsesTheSmallestEncoding) {
    EXPECT_EQ(integer(0), Bytes({0x00}));
    EXPECT_EQ(integer(1), Bytes({0x01}));
    EXPECT_EQ(integer(5), Bytes({0x0A, 0x05}));
    EXPECT_EQ(integer(0xFF), Bytes({0x0A, 0xFF}));
    EXPECT_EQ(integer(0x100), Bytes({0x0B, 0x00, 0x01}));
    EXPECT_EQ(integer(0x12345678), Bytes({0x0C, 0x78, 0x56, 0x34, 0x12}));
    EXPECT_EQ(integer(0x1'0000'0000), Bytes({0x0E, 0, 0, 0, 0, 1, 0, 0, 0}));
}

TEST(AmlString, IsPrefixedAndNulTerminated) {
    EXPECT_EQ(string("ab"), Bytes({0x0D, 'a', 'b', 0x00}));
}

TEST(AmlNameString, SegmentsArePaddedWithUnderscores) {
    EXPECT_EQ(name_string("_HID"), Bytes({'_', 'H', 'I', 'D'}));
    EXPECT_EQ(name_string("\\_SB"), Bytes({0x5C, '_', 'S', 'B', '_'}));
    EXPECT_EQ(name_string("^PCI0"), Bytes({0x5E, 'P', 'C', 'I', '0'}));
}

TEST(AmlNameString, TwoSegmentsUseDualNamePrefixAndMoreUseMultiName) {
    EXPECT_EQ(name_string("\\_SB_.PCI0"),
              Bytes({0x5C, 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'}));
    EXPECT_EQ(name_string("A.B.C"),
              Bytes({0x2F, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_'}));
}

TEST(AmlEisaId, CompressesPnpIdsAsAslDoes) {
    EXPECT_EQ(eisa_id_value("PNP0A03"), 0x030AD041u);
    EXPECT_EQ(eisa_id("PNP0A03"), Bytes({0x0C, 0x41, 0xD0, 0x0A, 0x03}));
    EXPECT_EQ(eisa_id("PNP0501"), Bytes({0x0C, 0x41, 0xD0, 0x05, 0x01}));
    EXPECT_EQ(eisa_id("PNP0B00"), Bytes({0x0C, 0x41, 0xD0, 0x0B, 0x00}));
}

TEST(AmlName, SleepPackageMatchesTheFamiliarS5Bytes) {
    const Bytes s5 = name("_S5_", package({integer(5), integer(0), integer(0), integer(0)}));
    EXPECT_EQ(s5,
              Bytes({0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00}));
}

TEST(AmlBuffer, CarriesItsSizeAsAnInteger) {
    EXPECT_EQ(buffer(Bytes{0xAA, 0xBB}), Bytes({0x11, 0x05, 0x0A, 0x02, 0xAA, 0xBB}));
}

TEST(AmlDevice, IsAnExtendedOpWithPkgLengthNameAndTerms) {
    const Bytes uid = name("_UID", integer(1));
    const Bytes dev = device("COM1", uid);
    Bytes expected = {0x5B, 0x82, 0x0B, 'C', 'O', 'M', '1'};
    expected.insert(expected.end(), uid.begin(), uid.end());
    EXPECT_EQ(dev, expected);
}

TEST(AmlScope, IsScopeOpWithPkgLengthAndName) {
    EXPECT_EQ(scope("\\_SB_", Bytes{}), Bytes({0x10, 0x06, 0x5C, '_', 'S', 'B', '_'}));
}

TEST(AmlPackage, NestsElementsAndCountsThem) {
    const Bytes prt_entry = package({integer(0x0001FFFF), integer(0), integer(0), integer(17)});
    EXPECT_EQ(prt_entry,
              Bytes({0x12, 0x0B, 0x04, 0x0C, 0xFF, 0xFF, 0x01, 0x00, 0x00, 0x00, 0x0A, 0x11}));
}

TEST(AmlResource, IoDescriptorIsSmallItemEight) {
    EXPECT_EQ(resource::io(0x3F8, 0x3F8, 1, 8),
              Bytes({0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08}));
}

TEST(AmlResource, IrqNoFlagsIsAMaskOfIsaIrqs) {
    EXPECT_EQ(resource::irq_no_flags({4}), Bytes({0x22, 0x10, 0x00}));
    EXPECT_EQ(resource::irq_no_flags({1, 12}), Bytes({0x22, 0x02, 0x10}));
}

TEST(AmlResource, WordBusNumberIsAProducerWithFixedWindow) {
    EXPECT_EQ(resource::word_bus_number(0, 0xFF),
              Bytes({0x88, 0x0D, 0x00, 0x02, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x00, 0x00,
                     0x00, 0x00, 0x01}));
}

TEST(AmlResource, WordIoCoversTheEntireRange) {
    EXPECT_EQ(resource::word_io(0x0D00, 0xFFFF),
              Bytes({0x88, 0x0D, 0x00, 0x01, 0x0C, 0x03, 0x00, 0x00, 0x00, 0x0D, 0xFF, 0xFF, 0x00,
                     0x00, 0x00, 0xF3}));
}

TEST(AmlResource, DWordMemoryIsReadWriteNonCacheable) {
    EXPECT_EQ(
        resource::dword_memory(0xE0000000, 0xFEBFFFFF),
        Bytes({0x87, 0x17, 0x00, 0x00, 0x0C, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
               0xE0, 0xFF, 0xFF, 0xBF, 0xFE, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x1E}));
}

TEST(AmlResourceTemplate, EndTagChecksumMakesTheTemplateSumToZero) {
    const Bytes templ = resource_template({resource::irq_no_flags({4})});
    EXPECT_EQ(templ, Bytes({0x11, 0x08, 0x0A, 0x05, 0x22, 0x10, 0x00, 0x79, 0x55}));
    uint8_t sum = 0;
    for (size_t i = 4; i < templ.size(); ++i) {
        sum = static_cast<uint8_t>(sum + templ[i]);
    }
    EXPECT_EQ(sum, 0);
}

TEST(AmlInvalidNames, AbortLoudly) {
    EXPECT_DEATH(name_string("TOOLONG"), "invalid AML name");
    EXPECT_DEATH(name_string("1ABC"), "invalid AML name");
    EXPECT_DEATH(eisa_id_value("pnp0a03"), "invalid AML EISA id");
}

}  // namespace
}  // namespace hvmm::boot::acpi::aml
