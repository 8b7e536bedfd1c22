// One interrupt line as a device drives it. Implementations: KVM_IRQ_LINE, irqfd, fakes in tests.
#pragma once

namespace hvmm {

class IrqLine {
public:
    virtual ~IrqLine() = default;
    // Level-triggered lines (PCI INTx) follow the device's interrupt output.
    virtual void set_level(bool asserted) = 0;
    // Edge-triggered lines (ISA) are pulsed.
    virtual void pulse() {
        set_level(true);
        set_level(false);
    }
};

}  // namespace hvmm
