// The part of exit handling that reaches devices: I/O and MMIO exits to the buses, timed and
// counted. The Machine's vCPU loop and the KVM guest-program tests share it.
#pragma once

#include <cstdint>

#include "bus/bus.h"
#include "kvm/uapi_layout.h"
#include "kvm/vcpu_exit.h"
#include "stats/vcpu_stats.h"

namespace hvmm {

// Handles exit if it is I/O or MMIO (each element of a string I/O in turn) and returns true;
// returns false, touching nothing, for any other exit.
bool dispatch_bus_exit(const kvm::VcpuExit& exit, IoBus& io_bus, MmioBus& mmio_bus, uint32_t vcpu,
                       stats::VcpuStats& stats);

// Delivers, oldest first, the writes KVM buffered in the coalesced MMIO/PIO ring instead of
// exiting; returns how many. The ring is one per VM, seen by every vCPU: callers serialise.
// Call it before dispatching an exit so device writes stay in program order. Each port write
// is counted in stats (when given) as an access that cost no world switch.
size_t drain_coalesced(kvm::uapi::CoalescedRing& ring, IoBus& io_bus, MmioBus& mmio_bus,
                       uint32_t vcpu, stats::VcpuStats* stats = nullptr);

}  // namespace hvmm
