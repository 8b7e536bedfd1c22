// vmlinux as the bzImage's decompressor sees it: an ELF64 x86-64 file whose PT_LOAD segments go
// to their physical addresses and whose entry point is the physical address of startup_64.
// Everything is checked against the file's size before use.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hvmm::boot {

struct ElfSegment {
    uint64_t physical_address;
    std::span<const uint8_t> bytes;  // in the file; memory_size - bytes.size() is zero-filled
    uint64_t memory_size;
};

struct ElfKernel {
    uint64_t entry;  // physical
    std::vector<ElfSegment> segments;
};

Result<ElfKernel> parse_elf_kernel(std::span<const uint8_t> file, std::string_view name);

}  // namespace hvmm::boot
