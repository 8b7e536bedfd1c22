#include "boot/linux_loader.h"

#include <algorithm>
#include <cstring>

#include "base/checked.h"
#include "boot/acpi/acpi_tables.h"
#include "boot/boot_params.h"
#include "boot/bzimage.h"
#include "boot/cmdline.h"
#include "boot/e820.h"
#include "boot/guest_writes.h"
#include "boot/initrd.h"
#include "boot/long_mode.h"

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

// Where the kernel's working memory ends: a relocatable kernel decompresses at the greater of
// its load address and its preferred address (LOAD_PHYSICAL_ADDR), and needs init_size bytes from
// there before it reads the e820 map. The initrd must start above this.
Result<uint64_t> kernel_memory_end(const BzImage& image, const std::string& path) {
    const uint64_t start = std::max(kKernelLoadAddress, image.header.pref_address);
    const auto end = checked_add(start, image.header.init_size);
    if (!end) {
        return fail("{} has an inconsistent header: pref_address {:#x} overflows", path,
                    image.header.pref_address);
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

CpuState long_mode_entry_state(uint64_t cr3) {
    CpuState state{};
    state.rip = kKernelLoadAddress + kKernel64EntryOffset;
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
    HVMM_TRY_VOID(write_guest(memory, kKernelLoadAddress, image.kernel, "kernel"));

    HVMM_TRY_VOID(write_cmdline(memory, spec.cmdline, image.header.cmdline_size));

    acpi::AcpiConfig acpi_config{spec.cpu_count, spec.pci_routes};
    params.acpi_rsdp_addr = HVMM_TRY(acpi::write_acpi_tables(memory, acpi_config));

    const auto e820 = HVMM_TRY(build_e820_map(memory));
    std::copy(e820.begin(), e820.end(), params.e820_table);
    params.e820_entries = static_cast<uint8_t>(e820.size());
    HVMM_TRY_VOID(write_guest_obj(memory, kBootParamsAddress, params, "zero page"));

    HVMM_TRY_VOID(write_boot_gdt(memory));
    const uint64_t cr3 = HVMM_TRY(write_identity_page_tables(memory));
    return long_mode_entry_state(cr3);
}

}  // namespace hvmm::boot
