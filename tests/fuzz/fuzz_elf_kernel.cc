// Fuzz target for the decompressed-kernel (vmlinux, ELF64) loader: the input is the file. A bad
// file must give an error, never a crash; a file that parses has only segments whose bytes lie
// inside the file, no larger than their memory size, and an entry inside one of them. Its
// segments are then written into 64 MiB of guest RAM the way load_linux writes them, where
// anything outside RAM must be refused, not written.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "base/log.h"
#include "boot/elf_kernel.h"
#include "boot/guest_writes.h"
#include "memory/guest_memory.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::check;

const hvmm::GuestMemory& guest_memory() {
    static const hvmm::GuestMemory memory = [] {
        hvmm::log::set_level(hvmm::log::Level::kError);
        auto created = hvmm::GuestMemory::create(hvmm::GuestMemory::kMinimumSize);
        check(created.has_value(), "cannot map guest RAM");
        return std::move(*created);
    }();
    return memory;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::span<const uint8_t> file(data, size);
    const auto kernel = hvmm::boot::parse_elf_kernel(file, "fuzz input");
    if (!kernel) {
        return 0;
    }
    check(!kernel->segments.empty(), "a kernel with no segment");
    bool entry_inside = false;
    for (const auto& segment : kernel->segments) {
        check(segment.bytes.data() >= file.data() &&
                  segment.bytes.data() + segment.bytes.size() <= file.data() + file.size(),
              "a segment's bytes lie outside the file");
        check(segment.bytes.size() <= segment.memory_size, "a segment larger than its memory");
        entry_inside =
            entry_inside || (kernel->entry >= segment.physical_address &&
                             kernel->entry - segment.physical_address < segment.memory_size);
        const auto written = hvmm::boot::write_guest(guest_memory(), segment.physical_address,
                                                     segment.bytes, "kernel");
        if (written) {
            check(guest_memory().contains(hvmm::GuestAddress{segment.physical_address},
                                          segment.bytes.size()),
                  "a write outside guest RAM succeeded");
        }
    }
    check(entry_inside, "the entry is in no segment");
    return 0;
}
