#include "vmm/nic_wiring.h"

#include "vmm/pcnet_nic.h"
#include "vmm/virtio_nic.h"

namespace hvmm {

Result<void> wire_nics(Machine& machine, std::span<const NicSpec> specs,
                       const NicOptimizations& optimizations) {
    for (unsigned i = 0; i < specs.size(); ++i) {
        const auto slot = static_cast<uint8_t>(1 + i);
        switch (specs[i].model) {
            case NicModel::kPcnet:
                machine.keep(HVMM_TRY(PcnetNic::create(machine, specs[i], i, slot, optimizations)));
                break;
            case NicModel::kVirtio:
                // --nic-opt names the PCnet's paper optimizations; a virtio NIC has none of
                // those costs to optimize (ioeventfd kicks, irqfd/MSI-X, batched notifications).
                machine.keep(HVMM_TRY(VirtioNic::create(machine, specs[i], i, slot)));
                break;
        }
    }
    return {};
}

}  // namespace hvmm
