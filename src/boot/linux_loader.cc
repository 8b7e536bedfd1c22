#include "boot/linux_loader.h"

#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "boot/acpi/acpi_tables.h"
#include "boot/boot_params.h"
#include "boot/bzimage.h"
#include "boot/cmdline.h"
#include "boot/e820.h"
#include "boot/elf_kernel.h"
#include "boot/guest_writes.h"
#include "boot/initrd.h"
#include "boot/file_reader.h"
#include "boot/long_mode.h"
#include "base/log.h"

namespace hvmm::boot {
namespace {

constexpr uint64_t kCr0ProtectionEnable = 1ull << 0;
constexpr uint64_t kCr0ExtensionType = 1ull << 4;
constexpr uint64_t kCr0NumericError = 1ull << 5;
constexpr uint64_t kCr0Paging = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;
constexpr uint64_t kRflagsReserved = 1ull << 1;  // always 1; IF clear
// End of the setup heap, relative to the real-mode code, minus 0x200: the value boot.rst
// suggests when the real-mode code sits at 0x90000 with a 0x10000-byte segment. The 64-bit entry
// never runs setup code, but the kernel reads CAN_USE_HEAP and this together.
constexpr uint16_t kHeapEndPointer = 0xFE00;

// Where a relocatable kernel decompresses: the greater of its load address and its preferred
// address (LOAD_PHYSICAL_ADDR). The field is copied out first: SetupHeader is packed, and binding
// a reference (std::max's, fmt's parameters) to its misaligned 64-bit field is undefined
// behaviour (UBSan found it in fuzz_bzimage).
uint64_t decompression_start(const BzImage& image) {
    const uint64_t preferred = image.header.pref_address;
    return std::max(kKernelLoadAddress, preferred);
}

// Where the kernel's working memory ends: it needs init_size bytes from where it decompresses
// before it reads the e820 map. The initrd must start above this.
Result<uint64_t> kernel_memory_end(const BzImage& image, const std::string& path) {
    const auto end = checked_add(decompression_start(image), image.header.init_size);
    if (!end) {
        return fail("{} has an inconsistent header: pref_address {:#x} overflows", path,
                    uint64_t{image.header.pref_address});
    }
    return *end;
}

BootParams make_boot_params(const BzImage& image) {
    BootParams params{};
    std::memcpy(&params.hdr, &image.header, image.header_length);
    params.hdr.type_of_loader = kLoaderTypeUndefined;
    params.hdr.loadflags = static_cast<uint8_t>(params.hdr.loadflags | kCanUseHeap);
    params.hdr.heap_end_ptr = kHeapEndPointer;
    params.hdr.code32_start = kKernelLoadAddress;
    params.hdr.cmd_line_ptr = kCmdlineAddress;
    return params;
}

// The payload's uncompressed size, which the kernel build appends to it as 32 bits (LE).
std::optional<uint64_t> declared_vmlinux_size(const BzImage& image) {
    const uint64_t offset = image.header.payload_offset;
    const uint64_t length = image.header.payload_length;
    if (length < 4 || offset > image.kernel.size() || length > image.kernel.size() - offset) {
        return std::nullopt;
    }
    const uint8_t* trailer = image.kernel.data() + offset + length - 4;
    return trailer[0] | (trailer[1] << 8) | (trailer[2] << 16) | (uint64_t{trailer[3]} << 24);
}

// Loads the decompressed kernel (spec.vmlinux_path) and returns its entry, the physical address
// of startup_64, which the 64-bit boot protocol enters like the bzImage's own entry (RSI = zero
// page, identity-mapped, 64-bit mode). Why: under nested virtualization the bzImage's decompressor
// is the single largest part of a boot (about 4.8 s of the lab's Debian boot). The kernel then
// runs where it was linked (LOAD_PHYSICAL_ADDR, no KASLR: the decompressor is what randomizes).
// Nothing (and the bzImage boots as usual) unless the file is the bzImage's payload by size and
// every segment lies in [pref_address, kernel_end), the memory the initrd was placed above.
Result<std::optional<uint64_t>> load_vmlinux(const GuestMemory& memory, const BzImage& image,
                                             uint64_t kernel_end, const LinuxBootSpec& spec) {
    const std::optional<uint64_t> declared = declared_vmlinux_size(image);
    if (spec.vmlinux_path.empty() || !declared) {
        return std::optional<uint64_t>{};
    }
    auto vmlinux = read_whole_file(spec.vmlinux_path, *declared + 1);
    if (!vmlinux || vmlinux->size() != *declared) {
        log::warn("{} does not match {} (size); booting through the kernel's decompressor",
                  spec.vmlinux_path, spec.kernel_path);
        return std::optional<uint64_t>{};
    }
    const ElfKernel kernel = HVMM_TRY(parse_elf_kernel(*vmlinux, spec.vmlinux_path));
    const uint64_t start = decompression_start(image);
    for (const auto& segment : kernel.segments) {
        if (segment.physical_address < start || segment.physical_address > kernel_end ||
            segment.memory_size > kernel_end - segment.physical_address) {
            log::warn("{}: a segment at {:#x} is outside the kernel's memory; booting through the "
                      "kernel's decompressor",
                      spec.vmlinux_path, segment.physical_address);
            return std::optional<uint64_t>{};
        }
    }
    for (const auto& segment : kernel.segments) {
        HVMM_TRY_VOID(write_guest(memory, segment.physical_address, segment.bytes, "kernel"));
    }
    return std::optional<uint64_t>(kernel.entry);
}

CpuState long_mode_entry_state(uint64_t cr3, uint64_t entry) {
    CpuState state{};
    state.rip = entry;
    state.rsi = kBootParamsAddress;
    state.rsp = kBootStackPointer;
    state.rflags = kRflagsReserved;
    state.cr0 = kCr0ProtectionEnable | kCr0ExtensionType | kCr0NumericError | kCr0Paging;
    state.cr3 = cr3;
    state.cr4 = kCr4Pae;
    state.efer = kEferLme | kEferLma;
    state.gdt_base = kGdtAddress;
    state.gdt_limit = kBootGdtLimit;
    // The descriptors in kBootGdt, unpacked into KVM's form.
    state.code = Segment{.base = 0,
                         .limit = 0xFFFF'FFFF,
                         .selector = kBootCodeSelector,
                         .type = 0xB,
                         .present = 1,
                         .dpl = 0,
                         .db = 0,
                         .s = 1,
                         .l = 1,
                         .g = 1};
    state.data = Segment{.base = 0,
                         .limit = 0xFFFF'FFFF,
                         .selector = kBootDataSelector,
                         .type = 0x3,
                         .present = 1,
                         .dpl = 0,
                         .db = 1,
                         .s = 1,
                         .l = 0,
                         .g = 1};
    return state;
}

}  // namespace

Result<CpuState> load_linux(const GuestMemory& memory, const LinuxBootSpec& spec) {
    const BzImage image = HVMM_TRY(read_bzimage(spec.kernel_path));
    const uint64_t kernel_end = HVMM_TRY(kernel_memory_end(image, spec.kernel_path));
    // The kernel, its working memory and the initrd all need RAM running on from 1 MiB.
    const uint64_t ram_end = contiguous_ram_end(memory, kKernelLoadAddress);
    BootParams params = make_boot_params(image);
    // The initrd first: when it is what makes the guest too small, the error names it (and says
    // how much memory the kernel needs too).
    if (!spec.initrd_path.empty()) {
        const InitrdPlacement initrd = HVMM_TRY(load_initrd(memory, spec.initrd_path, kernel_end,
                                                            image.header.initrd_addr_max, ram_end));
        params.hdr.ramdisk_image = static_cast<uint32_t>(initrd.address);  // below 3 GiB
        params.hdr.ramdisk_size = static_cast<uint32_t>(initrd.size);
    }
    if (kernel_end > ram_end) {
        return fail(
            "{} needs memory up to {} MiB to start, the guest's RAM from 1 MiB ends at "
            "{} MiB",
            spec.kernel_path, (kernel_end + (1 << 20) - 1) >> 20, ram_end >> 20);
    }
    // The kernel proper when a decompressed copy is given (load_vmlinux says why); else the
    // bzImage's own 64-bit entry, whose decompressor unpacks it in the guest.
    uint64_t entry = kKernelLoadAddress + kKernel64EntryOffset;
    if (const auto direct = HVMM_TRY(load_vmlinux(memory, image, kernel_end, spec))) {
        entry = *direct;
    } else {
        HVMM_TRY_VOID(write_guest(memory, kKernelLoadAddress, image.kernel, "kernel"));
    }

    HVMM_TRY_VOID(write_cmdline(memory, spec.cmdline, image.header.cmdline_size));

    acpi::AcpiConfig acpi_config{spec.cpu_count, spec.pci_routes};
    params.acpi_rsdp_addr = HVMM_TRY(acpi::write_acpi_tables(memory, acpi_config));

    const auto e820 = HVMM_TRY(build_e820_map(memory));
    std::copy(e820.begin(), e820.end(), params.e820_table);
    params.e820_entries = static_cast<uint8_t>(e820.size());
    HVMM_TRY_VOID(write_guest_obj(memory, kBootParamsAddress, params, "zero page"));

    HVMM_TRY_VOID(write_boot_gdt(memory));
    const uint64_t cr3 = HVMM_TRY(write_identity_page_tables(memory));
    return long_mode_entry_state(cr3, entry);
}

}  // namespace hvmm::boot
