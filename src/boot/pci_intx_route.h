// One PCI INTx route as the guest's firmware tables describe it: bus 0, a slot, a pin (0 = INTA)
// and the GSI the pin is wired to.
#pragma once

#include <cstdint>
#include <vector>

namespace hvmm::boot {

struct PciIntxRoute {
    uint8_t slot;
    uint8_t pin;
    uint32_t gsi;
};

// Every slot 1-31, every pin INTA-INTD, wired as irq/pci_irq_routing.h's intx_gsi().
// Slot 0 is the host bridge, which raises no interrupt.
std::vector<PciIntxRoute> default_pci_intx_routes();

}  // namespace hvmm::boot
