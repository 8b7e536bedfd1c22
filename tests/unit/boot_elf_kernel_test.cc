#include "boot/elf_kernel.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace hvmm::boot {
namespace {

// A minimal vmlinux: one ELF header, `segments` PT_LOAD headers, then 256 bytes of code each.
std::vector<uint8_t> make_elf(uint64_t entry, int segments = 1, uint64_t paddr = 0x1000000) {
    constexpr size_t kCode = 256;
    std::vector<uint8_t> file(sizeof(Elf64_Ehdr) + segments * (sizeof(Elf64_Phdr) + kCode));
    Elf64_Ehdr header{};
    std::memcpy(header.e_ident, ELFMAG, SELFMAG);
    header.e_ident[EI_CLASS] = ELFCLASS64;
    header.e_ident[EI_DATA] = ELFDATA2LSB;
    header.e_machine = EM_X86_64;
    header.e_entry = entry;
    header.e_phoff = sizeof(Elf64_Ehdr);
    header.e_phentsize = sizeof(Elf64_Phdr);
    header.e_phnum = static_cast<uint16_t>(segments);
    std::memcpy(file.data(), &header, sizeof(header));
    const size_t data_start = sizeof(Elf64_Ehdr) + segments * sizeof(Elf64_Phdr);
    for (int i = 0; i < segments; ++i) {
        Elf64_Phdr segment{};
        segment.p_type = PT_LOAD;
        segment.p_offset = data_start + i * kCode;
        segment.p_paddr = paddr + i * 0x200000;
        segment.p_filesz = kCode;
        segment.p_memsz = kCode * 4;  // a bss tail
        std::memcpy(file.data() + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr), &segment,
                    sizeof(segment));
        std::memset(file.data() + segment.p_offset, 0x90 + i, kCode);
    }
    return file;
}

Elf64_Phdr* program_header(std::vector<uint8_t>& file, int i) {
    return reinterpret_cast<Elf64_Phdr*>(file.data() + sizeof(Elf64_Ehdr) + i * sizeof(Elf64_Phdr));
}

TEST(ElfKernel, LoadSegmentsAndEntryAreTakenFromTheFile) {
    const auto file = make_elf(0x1000000, 2);
    const auto kernel = parse_elf_kernel(file, "vmlinux");
    ASSERT_TRUE(kernel) << kernel.error().message;
    EXPECT_EQ(kernel->entry, 0x1000000u);
    ASSERT_EQ(kernel->segments.size(), 2u);
    EXPECT_EQ(kernel->segments[1].physical_address, 0x1200000u);
    EXPECT_EQ(kernel->segments[1].bytes.size(), 256u);
    EXPECT_EQ(kernel->segments[1].bytes[0], 0x91);
    EXPECT_EQ(kernel->segments[1].memory_size, 1024u);
}

TEST(ElfKernel, NotAnElfFileIsRefused) {
    auto file = make_elf(0x1000000);
    file[1] = 'X';
    const auto kernel = parse_elf_kernel(file, "vmlinux");
    ASSERT_FALSE(kernel);
    EXPECT_NE(kernel.error().message.find("vmlinux"), std::string::npos);
    EXPECT_FALSE(parse_elf_kernel(std::vector<uint8_t>(10), "short"));
}

TEST(ElfKernel, EntryOutsideEveryLoadedSegmentIsRefused) {
    EXPECT_FALSE(parse_elf_kernel(make_elf(0x5000000), "vmlinux"));
}

TEST(ElfKernel, SegmentsRunningPastTheFileOrWithMoreFileThanMemoryAreRefused) {
    auto past_end = make_elf(0x1000000);
    program_header(past_end, 0)->p_filesz = 1 << 20;
    program_header(past_end, 0)->p_memsz = 1 << 20;
    EXPECT_FALSE(parse_elf_kernel(past_end, "vmlinux"));
    auto inverted = make_elf(0x1000000);
    program_header(inverted, 0)->p_memsz = 16;
    EXPECT_FALSE(parse_elf_kernel(inverted, "vmlinux"));
    auto wrapping = make_elf(0x1000000);
    program_header(wrapping, 0)->p_offset = ~uint64_t{0} - 8;
    EXPECT_FALSE(parse_elf_kernel(wrapping, "vmlinux"));
}

TEST(ElfKernel, ProgramHeaderTablePastTheEndIsRefused) {
    auto file = make_elf(0x1000000);
    reinterpret_cast<Elf64_Ehdr*>(file.data())->e_phnum = 2000;
    EXPECT_FALSE(parse_elf_kernel(file, "vmlinux"));
}

}  // namespace
}  // namespace hvmm::boot
