// One virtio-net NIC plugged into a Machine, as one object that owns all of it: the backend, the
// virtio-net device, the virtio-pci transport and the INTx line, destroyed in the right order
// (transport before device before backend). The Machine keeps it; nothing else holds
// references into it.
//
// What it wires (the paper's "no world switch per packet", past the paper):
// - every queue's notify address becomes an MMIO ioeventfd on the transport's BAR, following
//   the BAR wherever the guest puts it, so a kick costs the guest no exit to hvmm;
// - MSI-X vectors go through the machine's MsiRouter (irqfds on routed GSIs), INTx through a
//   resampling irqfd on the slot's INTA# pin (a guest booted with pci=nomsi);
// - with vhost (vhost=on|auto on a TAP) the device hands the rings to /dev/vhost-net at DRIVER_OK;
// - counters as virtio<N>.* (the device's) and net<N>.* (the backend's) in --stats.
#pragma once

#include <memory>

#include "base/error.h"
#include "vmm/machine.h"
#include "vmm/nic_spec.h"

namespace hvmm {

class VirtioNic {
  public:
    virtual ~VirtioNic() = default;
    // NIC `index` (for names and counters) in PCI slot `slot`.
    static Result<std::unique_ptr<VirtioNic>> create(Machine& machine, const NicSpec& spec,
                                                     unsigned index, uint8_t slot);
};

}  // namespace hvmm
