// What a 64-bit entry needs before the first instruction: a GDT with the kernel's boot selectors
// and page tables that identity-map the low 4 GiB (kernel, zero page, command line, initrd).
#pragma once

#include <array>
#include <cstdint>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

constexpr uint64_t kGdtAddress = 0x500;
// The kernel's __BOOT_CS and __BOOT_DS (arch/x86/include/asm/segment.h): the 64-bit boot protocol
// requires exactly these selectors.
constexpr uint16_t kBootCodeSelector = 0x10;
constexpr uint16_t kBootDataSelector = 0x18;

// null, unused, 64-bit code (0x10), flat data (0x18).
constexpr std::array<uint64_t, 4> kBootGdt = {
    0, 0,
    0x00AF'9B00'0000'FFFF,  // P, DPL 0, code exec/read/accessed, L, G, limit 0xFFFFF
    0x00CF'9300'0000'FFFF,  // P, DPL 0, data read/write/accessed, D/B, G, limit 0xFFFFF
};
constexpr uint16_t kBootGdtLimit = sizeof(kBootGdt) - 1;

// PML4, then the PDPT, then four page directories of 2 MiB pages.
constexpr uint64_t kPml4Address = 0x9000;
constexpr uint64_t kPdptAddress = 0xA000;
constexpr uint64_t kFirstPdAddress = 0xB000;
constexpr uint64_t kIdentityMappedBytes = 4ull << 30;
constexpr uint64_t kPageTablesEnd = kFirstPdAddress + 4 * 4096;

// Page-table entry bits.
constexpr uint64_t kPtePresent = 1ull << 0;
constexpr uint64_t kPteWritable = 1ull << 1;
constexpr uint64_t kPteLargePage = 1ull << 7;  // in a page directory: a 2 MiB page

Result<void> write_boot_gdt(const GuestMemory& memory);

// Identity map of [0, 4 GiB) with 2 MiB pages; returns the PML4's address (CR3).
Result<uint64_t> write_identity_page_tables(const GuestMemory& memory);

}  // namespace hvmm::boot
