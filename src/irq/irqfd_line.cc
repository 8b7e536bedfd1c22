#include "irq/irqfd_line.h"

#include "base/log.h"

namespace hvmm {

Result<std::unique_ptr<IrqfdLine>> IrqfdLine::create(const kvm::Vm& vm, uint32_t gsi,
                                                     EventLoop& loop) {
    EventFd trigger = HVMM_TRY(EventFd::create());
    EventFd resample = HVMM_TRY(EventFd::create());
    HVMM_TRY_VOID(vm.add_irqfd(trigger.fd(), gsi, resample.fd()));
    auto line = std::unique_ptr<IrqfdLine>(
        new IrqfdLine(vm, gsi, loop, std::move(trigger), std::move(resample)));
    IrqfdLine* raw = line.get();
    if (auto added = loop.add_fd(raw->resample_.fd(), [raw](uint32_t) { raw->on_resample(); });
        !added) {
        (void)vm.remove_irqfd(raw->trigger_.fd(), gsi);
        return std::unexpected(added.error());
    }
    return line;
}

IrqfdLine::~IrqfdLine() {
    loop_.remove_fd(resample_.fd());
    (void)vm_.remove_irqfd(trigger_.fd(), gsi_);
}

void IrqfdLine::set_level(bool asserted) {
    std::lock_guard lock(mutex_);
    level_ = asserted;
    // Lowering waits for the EOI; raising a line KVM already holds up would change nothing.
    if (asserted && !pending_) {
        pending_ = true;
        assertions_.fetch_add(1, std::memory_order_relaxed);
        trigger_.signal();
    }
}

void IrqfdLine::on_resample() {
    resample_.consume();
    std::lock_guard lock(mutex_);
    // KVM lowered the line at the guest's EOI. A device still asserting gets a new interrupt,
    // as a level-triggered IOAPIC pin would re-fire.
    pending_ = false;
    if (level_) {
        pending_ = true;
        assertions_.fetch_add(1, std::memory_order_relaxed);
        trigger_.signal();
    }
}

}  // namespace hvmm
