#include "long_mode_guest.h"

#include <array>

#include "vmm/exit_dispatch.h"

namespace hvmm::test {
namespace {

constexpr uint64_t kGdtAddress = 0x500;
constexpr uint64_t kPml4Address = 0x1000;
constexpr uint64_t kPdptAddress = 0x2000;
constexpr uint64_t kPdAddress = 0x3000;
constexpr uint16_t kCodeSelector = 0x08;
constexpr uint16_t kDataSelector = 0x10;

constexpr uint64_t kCr0ProtectionEnable = 1ull << 0;
constexpr uint64_t kCr0ExtensionType = 1ull << 4;
constexpr uint64_t kCr0NumericError = 1ull << 5;
constexpr uint64_t kCr0Paging = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kEferLme = 1ull << 8;
constexpr uint64_t kEferLma = 1ull << 10;

kvm_segment flat_segment(uint16_t selector, uint8_t type, bool code) {
    kvm_segment segment{};
    segment.base = 0;
    segment.limit = 0xFFFF'FFFF;
    segment.selector = selector;
    segment.type = type;
    segment.present = 1;
    segment.s = 1;
    segment.g = 1;
    segment.l = code ? 1 : 0;
    segment.db = code ? 0 : 1;
    return segment;
}

}  // namespace

Result<std::unique_ptr<LongModeGuest>> LongModeGuest::create(std::span<const uint8_t> program) {
    kvm::Kvm kvm = HVMM_TRY(kvm::Kvm::open());
    const std::array<std::pair<uint64_t, uint64_t>, 1> layout{{{0, kRamSize}}};
    GuestMemory memory = HVMM_TRY(GuestMemory::create_with_regions(layout));
    auto guest =
        std::unique_ptr<LongModeGuest>(new LongModeGuest(std::move(kvm), std::move(memory)));
    HVMM_TRY_VOID(guest->set_up(program));
    return guest;
}

Result<void> LongModeGuest::set_up(std::span<const uint8_t> program) {
    vm_.emplace(HVMM_TRY(kvm::Vm::create(kvm_, kvm::VmOptions{.in_kernel_irqchip = false})));
    HVMM_TRY_VOID(vm_->map_memory(memory_));
    vcpu_ = HVMM_TRY(kvm::Vcpu::create(*vm_, 0));

    const std::array<uint64_t, 3> gdt = {0, 0x00AF'9B00'0000'FFFF, 0x00CF'9300'0000'FFFF};
    bool ok = memory_.write_obj(GuestAddress(kGdtAddress), gdt);
    ok = ok && memory_.write_obj(GuestAddress(kPml4Address), kPdptAddress | 0x3);
    ok = ok && memory_.write_obj(GuestAddress(kPdptAddress), kPdAddress | 0x3);
    for (uint64_t i = 0; i < 512 && ok; ++i) {
        // 2 MiB pages: present, writable, large.
        ok = memory_.write_obj(GuestAddress(kPdAddress + i * 8), (i << 21) | 0x83);
    }
    ok = ok && memory_.write(GuestAddress(kCodeAddress), program);
    if (!ok) {
        return fail("test guest setup does not fit in its RAM");
    }

    kvm_sregs sregs = HVMM_TRY(vcpu_->get_sregs());
    sregs.cs = flat_segment(kCodeSelector, 0xB, true);
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = flat_segment(kDataSelector, 0x3, false);
    sregs.gdt.base = kGdtAddress;
    sregs.gdt.limit = sizeof(gdt) - 1;
    sregs.idt.base = 0;
    sregs.idt.limit = 0;  // any exception becomes a triple fault
    sregs.cr0 = kCr0ProtectionEnable | kCr0ExtensionType | kCr0NumericError | kCr0Paging;
    sregs.cr3 = kPml4Address;
    sregs.cr4 = kCr4Pae;
    sregs.efer = kEferLme | kEferLma;
    HVMM_TRY_VOID(vcpu_->set_sregs(sregs));

    kvm_regs regs{};
    regs.rip = kCodeAddress;
    regs.rsp = kStackTop;
    regs.rflags = 0x2;
    HVMM_TRY_VOID(vcpu_->set_regs(regs));
    return {};
}

Result<kvm::VcpuExit> LongModeGuest::run_until_stop(size_t max_exits) {
    for (size_t i = 0; i < max_exits; ++i) {
        kvm::VcpuExit exit = HVMM_TRY(vcpu_->run());
        if (auto* ring = vcpu_->coalesced_ring()) {
            drain_coalesced(*ring, io_bus, mmio_bus, vcpu_->id());
        }
        if (!dispatch_bus_exit(exit, io_bus, mmio_bus, vcpu_->id(), stats)) {
            return exit;
        }
    }
    return fail("test guest made more than {} I/O exits", max_exits);
}

}  // namespace hvmm::test
