// Where the initial ramdisk goes: as high as the kernel allows and RAM reaches, page aligned, and
// never over the memory the kernel decompresses into.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

struct InitrdPlacement {
    uint64_t address = 0;
    uint64_t size = 0;
};

// The highest 4 KiB-aligned address for size bytes such that they end at or below both
// initrd_addr_max + 1 (the header's highest address the initrd may occupy) and low_ram_end,
// and start at or above kernel_end. total_memory only words the error.
Result<uint64_t> place_initrd(uint64_t size, uint64_t kernel_end, uint64_t initrd_addr_max,
                              uint64_t low_ram_end, uint64_t total_memory);

// Places the file at path with place_initrd below ram_end (where the RAM the kernel sits in ends)
// and reads it straight into guest RAM.
Result<InitrdPlacement> load_initrd(const GuestMemory& memory, const std::string& path,
                                    uint64_t kernel_end, uint64_t initrd_addr_max,
                                    uint64_t ram_end);

}  // namespace hvmm::boot
