// A tiny 64-bit guest for KVM tests: 2 MiB of RAM, identity-mapped page tables for the first GiB,
// a flat GDT, and a program copied to kCodeAddress, started in long mode at CPL 0. No interrupt
// controller: HLT comes back to userspace, which is how a program says it is done.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.h"
#include "bus/bus.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "kvm/vm.h"
#include "memory/guest_memory.h"
#include "stats/vcpu_stats.h"

namespace hvmm::test {

class LongModeGuest {
  public:
    static constexpr uint64_t kRamSize = 2 << 20;
    static constexpr uint64_t kCodeAddress = 0x10000;
    static constexpr uint64_t kDataAddress = 0x11000;
    static constexpr uint64_t kStackTop = 0x8000;
    // Above RAM, below 1 GiB: mapped by the page tables, backed by no memory slot, so MMIO.
    static constexpr uint64_t kMmioAddress = 0x1000'0000;

    static Result<std::unique_ptr<LongModeGuest>> create(std::span<const uint8_t> program);

    // Runs until an exit other than I/O or MMIO (those go to the buses) and returns it. Gives up
    // with an error after max_exits bus exits, so a wrong program cannot hang the test.
    Result<kvm::VcpuExit> run_until_stop(size_t max_exits = 1000);

    IoBus io_bus;
    MmioBus mmio_bus;
    stats::VcpuStats stats;
    const GuestMemory& memory() const { return memory_; }
    kvm::Vcpu& vcpu() { return *vcpu_; }
    const kvm::Vm& vm() const { return *vm_; }

  private:
    LongModeGuest(kvm::Kvm kvm, GuestMemory memory)
        : kvm_(std::move(kvm)), memory_(std::move(memory)) {}
    Result<void> set_up(std::span<const uint8_t> program);

    kvm::Kvm kvm_;
    GuestMemory memory_;
    std::optional<kvm::Vm> vm_;
    std::unique_ptr<kvm::Vcpu> vcpu_;
};

}  // namespace hvmm::test
