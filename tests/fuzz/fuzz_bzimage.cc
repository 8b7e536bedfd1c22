// Fuzz target for the bzImage loader: the input is the kernel file, booted through the whole
// of load_linux (read, parse, initrd placement, command line, zero page, ACPI, page tables) into
// 64 MiB of guest RAM with a small initrd beside it. A bad file must give an error, never a
// crash or a write outside guest RAM; a file that loads has its protected-mode part at 1 MiB, the
// 64-bit entry at 1 MiB + 0x200 and the initrd above the kernel's memory and inside RAM.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "base/log.h"
#include "boot/boot_params.h"
#include "boot/bzimage.h"
#include "boot/linux_loader.h"
#include "fuzz_memfd.h"
#include "memory/guest_memory.h"
#include "fuzz_input.h"

namespace {

using hvmm::fuzz::check;

const hvmm::GuestMemory& guest_memory() {
    static const hvmm::GuestMemory memory = [] {
        hvmm::log::set_level(hvmm::log::Level::kError);  // refused kernels warn; expected here
        auto created = hvmm::GuestMemory::create(hvmm::GuestMemory::kMinimumSize);
        check(created.has_value(), "cannot map guest RAM");
        return std::move(*created);
    }();
    return memory;
}

constexpr uint64_t kInitrdSize = 8192;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const hvmm::GuestMemory& memory = guest_memory();
    const hvmm::fuzz::MemoryFile kernel(std::span(data, size));
    const auto initrd = hvmm::fuzz::MemoryFile::of_size(kInitrdSize);
    const hvmm::boot::LinuxBootSpec spec{.kernel_path = kernel.path(),
                                         .initrd_path = initrd.path(),
                                         .cmdline = "console=ttyS0 panic=-1"};
    const auto loaded = hvmm::boot::load_linux(memory, spec);
    const auto parsed = hvmm::boot::parse_bzimage(std::span(data, size), "fuzz input");
    if (!loaded) {
        return 0;
    }
    check(parsed.has_value(), "loaded a kernel that does not parse");
    check(loaded->rip == hvmm::boot::kKernelLoadAddress + hvmm::boot::kKernel64EntryOffset,
          "entry is not the 64-bit entry");
    check(loaded->rsi == hvmm::boot::kBootParamsAddress, "RSI is not the zero page");
    std::vector<uint8_t> at_1mib(std::min<size_t>(parsed->kernel.size(), 4096));
    check(memory.read(hvmm::GuestAddress{hvmm::boot::kKernelLoadAddress}, at_1mib),
          "cannot read the kernel back");
    check(std::equal(at_1mib.begin(), at_1mib.end(), parsed->kernel.begin()),
          "the kernel at 1 MiB differs from the file's protected-mode part");
    const auto params =
        memory.read_obj<hvmm::boot::BootParams>(hvmm::GuestAddress{hvmm::boot::kBootParamsAddress});
    check(params.has_value(), "no zero page");
    const uint64_t initrd_at = params->hdr.ramdisk_image;
    check(params->hdr.ramdisk_size == kInitrdSize, "initrd size not in the zero page");
    check(initrd_at % 4096 == 0, "initrd not page aligned");
    const uint64_t preferred = parsed->header.pref_address;  // copies: the header is packed
    const uint64_t init_size = parsed->header.init_size;
    check(initrd_at >= std::max(hvmm::boot::kKernelLoadAddress, preferred) + init_size,
          "initrd placed over the kernel's memory");
    check(memory.contains(hvmm::GuestAddress{initrd_at}, kInitrdSize), "initrd outside RAM");
    return 0;
}
