#include "boot/initrd.h"

#include <algorithm>

#include "boot/file_reader.h"
#include "boot/guest_writes.h"

namespace hvmm::boot {
namespace {

constexpr uint64_t kPageMask = ~uint64_t{0xFFF};

uint64_t mib_rounded_up(uint64_t bytes) {
    return (bytes >> 20) + ((bytes & 0xFFFFF) != 0 ? 1 : 0);
}

}  // namespace

Result<uint64_t> place_initrd(uint64_t size, uint64_t kernel_end, uint64_t initrd_addr_max,
                              uint64_t low_ram_end, uint64_t total_memory) {
    // initrd_addr_max names the last byte the initrd may occupy, so the limit is one past it;
    // computed so that 0xFFFFFFFF'FFFFFFFF cannot wrap.
    const uint64_t limit = std::min(initrd_addr_max, low_ram_end - 1) + 1;
    if (low_ram_end == 0 || size > limit || ((limit - size) & kPageMask) < kernel_end) {
        return fail(
            "initrd of {} MiB does not fit below {:#x} (above the kernel, which needs "
            "memory up to {:#x}) with {} MiB of memory",
            mib_rounded_up(size), limit, kernel_end, total_memory >> 20);
    }
    return (limit - size) & kPageMask;
}

Result<InitrdPlacement> load_initrd(const GuestMemory& memory, const std::string& path,
                                    uint64_t kernel_end, uint64_t initrd_addr_max,
                                    uint64_t ram_end) {
    const OpenFile file = HVMM_TRY(open_regular_file(path));
    const uint64_t address = HVMM_TRY(
        place_initrd(file.size, kernel_end, initrd_addr_max, ram_end, memory.total_size()));
    const auto target = HVMM_TRY(guest_range(memory, address, file.size, "initrd"));
    HVMM_TRY_VOID(read_exactly(file, path, target));
    return InitrdPlacement{address, file.size};
}

}  // namespace hvmm::boot
