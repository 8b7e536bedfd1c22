// Loads a Linux bzImage for the 64-bit boot protocol (Documentation/arch/x86/boot.rst): kernel,
// initrd, command line, zero page, ACPI tables, GDT and page tables, and returns the registers a
// vCPU starts with. The guest-physical layout is docs/CONTRACTS.md's.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"
#include "boot/pci_intx_route.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

constexpr uint64_t kKernelLoadAddress = 0x100000;
constexpr uint64_t kKernel64EntryOffset = 0x200;
constexpr uint64_t kBootParamsAddress = 0x7000;
// A stack below the page tables for the few instructions before the kernel sets its own.
constexpr uint64_t kBootStackPointer = 0x8FF0;

struct LinuxBootSpec {
    std::string kernel_path;
    // Optional: the bzImage's kernel proper already decompressed (vmlinux, ELF), loaded instead
    // of its payload so the guest skips its decompressor (see load_linux). Used only if its size
    // is the one the bzImage declares for its payload; otherwise the bzImage boots as usual.
    std::string vmlinux_path;
    std::string initrd_path;  // empty: no initrd
    std::string cmdline;
    uint32_t cpu_count = 1;
    // The DSDT's _PRT; empty means every slot 1-31 as pci::intx_gsi() wires it.
    std::vector<PciIntxRoute> pci_routes;
};

// A segment register as KVM's struct kvm_segment describes it (limit in bytes).
struct Segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g;
};

// The vCPU state at the 64-bit entry: long mode with paging, interrupts off. code goes into CS;
// data into DS, ES, FS, GS and SS.
struct CpuState {
    uint64_t rip, rsi, rsp, rflags, cr0, cr3, cr4, efer, gdt_base;
    uint16_t gdt_limit;
    Segment code, data;
};

Result<CpuState> load_linux(const GuestMemory& memory, const LinuxBootSpec& spec);

}  // namespace hvmm::boot
