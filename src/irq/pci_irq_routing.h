// How a PCI function's INTx pin reaches the IOAPIC. The DSDT's _PRT and the devices' Interrupt Line
// registers both come from this one function, so they cannot disagree.
#pragma once

#include <cstdint>

namespace hvmm::pci {

constexpr uint32_t kFirstIntxGsi = 16;
constexpr uint32_t kIntxGsiCount = 8;

// slot: 0-31 on bus 0; pin: 0 = INTA .. 3 = INTD.
constexpr uint32_t intx_gsi(uint32_t slot, uint32_t pin) {
    return kFirstIntxGsi + ((slot + pin) % kIntxGsiCount);
}

}  // namespace hvmm::pci
