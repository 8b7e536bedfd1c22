#include "boot/boot_params.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>

namespace hvmm::boot {
namespace {

size_t header_offset(size_t field_offset) {
    return offsetof(BootParams, hdr) + field_offset;
}

TEST(BootParams, ZeroPageIsOnePage) {
    EXPECT_EQ(sizeof(BootParams), 4096u);
    EXPECT_EQ(sizeof(E820Entry), 20u);
}

TEST(BootParams, SetupHeaderFieldsSitAtTheirDocumentedOffsets) {
    EXPECT_EQ(header_offset(offsetof(SetupHeader, setup_sects)), 0x1F1u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, boot_flag)), 0x1FEu);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, header)), 0x202u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, version)), 0x206u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, type_of_loader)), 0x210u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, loadflags)), 0x211u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, code32_start)), 0x214u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, ramdisk_image)), 0x218u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, ramdisk_size)), 0x21Cu);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, heap_end_ptr)), 0x224u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, cmd_line_ptr)), 0x228u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, initrd_addr_max)), 0x22Cu);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, kernel_alignment)), 0x230u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, relocatable_kernel)), 0x234u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, xloadflags)), 0x236u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, cmdline_size)), 0x238u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, pref_address)), 0x258u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, init_size)), 0x260u);
    EXPECT_EQ(header_offset(offsetof(SetupHeader, kernel_info_offset)), 0x268u);
}

TEST(BootParams, ZeroPageFieldsSitAtTheirDocumentedOffsets) {
    EXPECT_EQ(offsetof(BootParams, acpi_rsdp_addr), 0x070u);
    EXPECT_EQ(offsetof(BootParams, ext_ramdisk_image), 0x0C0u);
    EXPECT_EQ(offsetof(BootParams, e820_entries), 0x1E8u);
    EXPECT_EQ(offsetof(BootParams, sentinel), 0x1EFu);
    EXPECT_EQ(offsetof(BootParams, e820_table), 0x2D0u);
    EXPECT_EQ(offsetof(BootParams, eddbuf), 0xD00u);
}

TEST(BootParams, HdrSMagicIsTheAsciiSignatureInFileOrder) {
    uint32_t magic = 0;
    std::memcpy(&magic, "HdrS", 4);
    EXPECT_EQ(magic, kHeaderMagic);
}

}  // namespace
}  // namespace hvmm::boot
