// Builds the NICs that --nic asked for and plugs them into a Machine, each as one owning object
// the Machine keeps: a PcnetNic (pcnet_nic.h) or a VirtioNic (virtio_nic.h).
#pragma once

#include <span>

#include "base/error.h"
#include "vmm/machine.h"
#include "vmm/nic_optimizations.h"
#include "vmm/nic_spec.h"

namespace hvmm {

// NIC i goes into PCI slot 1 + i (slot 0 is the host bridge) and drives INTA# of that slot.
// optimizations: the paper's I/O optimizations (--nic-opt; see nic_optimizations.h).
Result<void> wire_nics(Machine& machine, std::span<const NicSpec> specs,
                       const NicOptimizations& optimizations = {});

}  // namespace hvmm
