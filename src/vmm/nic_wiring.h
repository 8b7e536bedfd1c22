// Builds the NICs that --nic asked for and plugs them into a Machine: PCI slot, interrupt line,
// DMA into guest RAM, backend on the I/O thread's event loop, the chip's poll timer, counters.
#pragma once

#include <span>

#include "base/error.h"
#include "vmm/machine.h"
#include "vmm/nic_optimizations.h"
#include "vmm/nic_spec.h"

namespace hvmm {

// NIC i goes into PCI slot 1 + i (slot 0 is the host bridge) and drives INTA# of that slot.
// A PCnet is wired here; a virtio NIC is a VirtioNic (virtio_nic.h).
// optimizations: the paper's I/O optimizations (--nic-opt; see nic_optimizations.h).
Result<void> wire_nics(Machine& machine, std::span<const NicSpec> specs,
                       const NicOptimizations& optimizations = {});

}  // namespace hvmm
