#include "boot/long_mode.h"

#include "boot/guest_writes.h"

namespace hvmm::boot {
namespace {

constexpr uint64_t kEntriesPerTable = 512;
constexpr uint64_t kLargePageSize = 2ull << 20;

}  // namespace

Result<void> write_boot_gdt(const GuestMemory& memory) {
    return write_guest_obj(memory, kGdtAddress, kBootGdt, "GDT");
}

Result<uint64_t> write_identity_page_tables(const GuestMemory& memory) {
    constexpr uint64_t kTableFlags = kPtePresent | kPteWritable;
    std::array<uint64_t, kEntriesPerTable> table{};

    table[0] = kPdptAddress | kTableFlags;
    HVMM_TRY_VOID(write_guest_obj(memory, kPml4Address, table, "PML4"));

    constexpr uint64_t kDirectories = kIdentityMappedBytes / (kEntriesPerTable * kLargePageSize);
    table.fill(0);
    for (uint64_t i = 0; i < kDirectories; ++i) {
        table[i] = (kFirstPdAddress + i * 4096) | kTableFlags;
    }
    HVMM_TRY_VOID(write_guest_obj(memory, kPdptAddress, table, "page directory pointer table"));

    for (uint64_t directory = 0; directory < kDirectories; ++directory) {
        for (uint64_t i = 0; i < kEntriesPerTable; ++i) {
            const uint64_t address = (directory * kEntriesPerTable + i) * kLargePageSize;
            table[i] = address | kTableFlags | kPteLargePage;
        }
        HVMM_TRY_VOID(
            write_guest_obj(memory, kFirstPdAddress + directory * 4096, table, "page directory"));
    }
    return kPml4Address;
}

}  // namespace hvmm::boot
