// The BIOS e820 memory map a Linux guest reads from its zero page: which guest-physical ranges
// are RAM it may use and which are reserved for "firmware" (here: hvmm's ACPI tables).
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "boot/boot_params.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

// The PC's legacy hole: the EBDA, VGA memory and the BIOS ROMs lived here, and hvmm's ACPI tables
// do (at 0xE0000); guests expect it reserved even though hvmm backs it with RAM.
constexpr uint64_t kLegacyHoleStart = 0x9FC00;
constexpr uint64_t kLegacyHoleEnd = 0x100000;

// RAM below the hole, the hole reserved, RAM from 1 MiB up to the end of each region (so low RAM
// up to the PCI hole, and RAM above 4 GiB when the guest has it). Sorted by address. Fails if the
// map would exceed the kE820MaxEntries the zero page holds.
Result<std::vector<E820Entry>> build_e820_map(const GuestMemory& memory);

}  // namespace hvmm::boot
