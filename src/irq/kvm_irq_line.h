// An IrqLine that drives one GSI of KVM's in-kernel irqchip with KVM_IRQ_LINE. Edge-triggered
// ISA pins see a rising edge on each assertion; level-triggered PCI pins follow the level.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "irq/irq_line.h"
#include "kvm/vm.h"

namespace hvmm {

class KvmIrqLine final : public IrqLine {
  public:
    KvmIrqLine(const kvm::Vm& vm, uint32_t gsi) : vm_(vm), gsi_(gsi) {}

    void set_level(bool asserted) override;
    void pulse() override;

    uint32_t gsi() const { return gsi_; }
    // Rising edges given to KVM: the interrupts this line injected, for statistics.
    uint64_t assertions() const { return assertions_.load(std::memory_order_relaxed); }

  private:
    const kvm::Vm& vm_;
    uint32_t gsi_;
    std::mutex mutex_;  // keeps level and the ioctl in the same order when two threads drive it
    bool level_ = false;
    std::atomic<uint64_t> assertions_{0};
};

}  // namespace hvmm
