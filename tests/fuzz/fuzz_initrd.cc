// Fuzz target for initrd placement and loading: the input chooses the initrd's size, the end of
// the kernel's memory, the header's initrd_addr_max and the guest's RAM size (at least 64 MiB,
// up to 3 GiB, mapped lazily). Placement must refuse or give a page-aligned address at or above
// the kernel's end whose end is within both limits; loading a (sparse) file of that size must
// then land inside RAM.
#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "base/log.h"
#include "boot/initrd.h"
#include "fuzz_input.h"
#include "fuzz_memfd.h"
#include "memory/guest_memory.h"

namespace {

using hvmm::fuzz::check;

// A few RAM sizes, mapped once each (guest RAM is an anonymous mapping: untouched pages are free).
const hvmm::GuestMemory& guest_memory(uint8_t choice) {
    static std::map<uint8_t, hvmm::GuestMemory> memories;
    constexpr uint64_t kSizes[] = {64ull << 20, 65ull << 20, 1ull << 30, 3ull << 30};
    const uint8_t index = choice % 4;
    auto found = memories.find(index);
    if (found == memories.end()) {
        auto created = hvmm::GuestMemory::create(kSizes[index]);
        check(created.has_value(), "cannot map guest RAM");
        found = memories.emplace(index, std::move(*created)).first;
    }
    return found->second;
}

constexpr uint64_t kPageSize = 4096;

// Gives the pages a load wrote back to the kernel. The RAM outlives the run, so without this every
// run's 16 MiB at a new address stayed resident: 56000 runs in 15 s reached libFuzzer's 2 GiB
// limit (CI 2026-12-03, "out-of-memory" on an input that alone uses 16 MiB).
void release(const hvmm::GuestMemory& memory, uint64_t address, uint64_t size) {
    const uint64_t start = address / kPageSize * kPageSize;
    const uint64_t end = (address + size + kPageSize - 1) / kPageSize * kPageSize;
    const auto pages = memory.span(hvmm::GuestAddress{start}, end - start);
    check(pages.has_value(), "a loaded initrd's pages are not in RAM");
    check(::madvise(pages->data(), pages->size(), MADV_DONTNEED) == 0, "madvise failed");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hvmm::fuzz::quiet_logs();
    hvmm::fuzz::FuzzInput in(data, size);
    const uint8_t shape = in.byte();
    // Sizes and addresses as 64-bit values, or small ones that land inside the RAM.
    const auto value = [&](bool small) { return small ? uint64_t{in.dword()} : in.qword(); };
    const uint64_t initrd_size = value(shape & 1);
    const uint64_t kernel_end = value(shape & 2);
    const uint64_t initrd_addr_max = value(shape & 4);
    const uint64_t low_ram_end = value(shape & 8);

    const auto placed =
        hvmm::boot::place_initrd(initrd_size, kernel_end, initrd_addr_max, low_ram_end, 0);
    if (placed) {
        check(*placed % kPageSize == 0, "initrd not page aligned");
        check(*placed >= kernel_end, "initrd over the kernel");
        check(initrd_size <= low_ram_end && *placed <= low_ram_end - initrd_size,
              "initrd past the end of RAM");
        check(initrd_addr_max == UINT64_MAX || *placed + initrd_size <= initrd_addr_max + 1,
              "initrd past initrd_addr_max");
    }

    // The loader itself, with a file of a size the RAM could hold.
    const hvmm::GuestMemory& memory = guest_memory(shape >> 4);
    // Bounded so that a run copies megabytes, not gigabytes; the placement above takes any size.
    const uint64_t file_size = initrd_size % ((16ull << 20) + kPageSize);
    const auto file = hvmm::fuzz::MemoryFile::of_size(file_size);
    const auto loaded = hvmm::boot::load_initrd(memory, file.path(), kernel_end % (1ull << 32),
                                                initrd_addr_max, memory.low_ram_end());
    if (loaded) {
        check(loaded->size == file_size, "loaded size differs from the file");
        check(memory.contains(hvmm::GuestAddress{loaded->address}, loaded->size),
              "initrd loaded outside RAM");
        check(loaded->address >= kernel_end % (1ull << 32), "initrd loaded over the kernel");
        release(memory, loaded->address, loaded->size);
    }
    return 0;
}
