#include "boot/guest_writes.h"

#include <cstring>

namespace hvmm::boot {

Result<std::span<uint8_t>> guest_range(const GuestMemory& memory, uint64_t address, uint64_t length,
                                       std::string_view what) {
    auto range = memory.span(GuestAddress(address), length);
    if (!range) {
        return fail("the {} ({} bytes at {:#x}) does not fit in the guest's {} MiB of memory", what,
                    length, address, memory.total_size() >> 20);
    }
    return *range;
}

Result<void> write_guest(const GuestMemory& memory, uint64_t address,
                         std::span<const uint8_t> bytes, std::string_view what) {
    const auto target = HVMM_TRY(guest_range(memory, address, bytes.size(), what));
    std::memcpy(target.data(), bytes.data(), bytes.size());
    return {};
}

uint64_t contiguous_ram_end(const GuestMemory& memory, uint64_t address) {
    for (const auto& region : memory.regions()) {
        const uint64_t base = region.guest_base.value;
        if (address >= base && address - base < region.size) {
            return base + region.size;
        }
    }
    return 0;
}

}  // namespace hvmm::boot
