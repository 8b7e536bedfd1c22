// A level-triggered PCI INTx line driven through a KVM irqfd with a resample fd: asserting is
// one eventfd write from any thread, deasserting costs nothing (KVM lowers the line itself when
// the guest EOIs it and then signals the resample fd; the I/O thread re-asserts if the device
// still wants service). So neither a vCPU nor the I/O thread makes a KVM_IRQ_LINE ioctl: the
// paper's "IRQ notification" without a system call per level change.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "base/event_fd.h"
#include "base/event_loop.h"
#include "irq/irq_line.h"
#include "kvm/vm.h"

namespace hvmm {

class IrqfdLine final : public IrqLine {
  public:
    // Binds two new eventfds to gsi and watches the resample fd on loop (the I/O thread).
    static Result<std::unique_ptr<IrqfdLine>> create(const kvm::Vm& vm, uint32_t gsi,
                                                     EventLoop& loop);
    ~IrqfdLine() override;

    void set_level(bool asserted) override;

    uint32_t gsi() const { return gsi_; }
    // Interrupts requested through the irqfd (rising edges and re-assertions after EOI).
    uint64_t assertions() const { return assertions_.load(std::memory_order_relaxed); }

  private:
    IrqfdLine(const kvm::Vm& vm, uint32_t gsi, EventLoop& loop, EventFd trigger, EventFd resample)
        : vm_(vm), gsi_(gsi), loop_(loop), trigger_(std::move(trigger)),
          resample_(std::move(resample)) {}
    void on_resample();

    const kvm::Vm& vm_;
    uint32_t gsi_;
    EventLoop& loop_;
    EventFd trigger_;
    EventFd resample_;
    std::mutex mutex_;
    bool level_ = false;    // the device's output
    bool pending_ = false;  // KVM's line is up (raised by us, not yet lowered at an EOI)
    std::atomic<uint64_t> assertions_{0};
};

}  // namespace hvmm
