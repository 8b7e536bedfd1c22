#include "irq/kvm_irq_line.h"

#include "base/log.h"

namespace hvmm {
namespace {

void drive(const kvm::Vm& vm, uint32_t gsi, bool level) {
    if (auto result = vm.set_irq_line(gsi, level); !result) {
        // Not guest-caused: the irqchip exists and the GSI is ours. Say it, but keep running.
        static log::RateLimitedWarning warning;
        warning("{}", result.error().message);
    }
}

}  // namespace

void KvmIrqLine::set_level(bool asserted) {
    std::lock_guard lock(mutex_);
    if (asserted == level_) {
        return;
    }
    level_ = asserted;
    if (asserted) {
        assertions_.fetch_add(1, std::memory_order_relaxed);
    }
    drive(vm_, gsi_, asserted);
}

void KvmIrqLine::pulse() {
    std::lock_guard lock(mutex_);
    assertions_.fetch_add(1, std::memory_order_relaxed);
    drive(vm_, gsi_, true);
    drive(vm_, gsi_, false);
    level_ = false;
}

}  // namespace hvmm
