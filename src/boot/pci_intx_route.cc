#include "boot/pci_intx_route.h"

#include "irq/pci_irq_routing.h"

namespace hvmm::boot {

std::vector<PciIntxRoute> default_pci_intx_routes() {
    std::vector<PciIntxRoute> routes;
    for (uint8_t slot = 1; slot < 32; ++slot) {
        for (uint8_t pin = 0; pin < 4; ++pin) {
            routes.push_back(PciIntxRoute{slot, pin, pci::intx_gsi(slot, pin)});
        }
    }
    return routes;
}

}  // namespace hvmm::boot
