// What the PCnet chip tells the VMM that wires it, given to the chip at construction: the chip
// model calls out through this and nothing else, so a NIC's owning object (vmm/pcnet_nic.h)
// implements it and the chip never holds a reference into the VMM. Every default is what a chip
// on its own does: walk the ring at once on a demand, tell nobody about anything else.
//
// Threads and locks: take_transmit_demand, receive_resumed and register_layout_changed are called
// with the chip's mutex released (they may call back into the chip: process_transmit_ring, the
// backend's poll_receive); fetch_silent_writes is called under it and must not.
#pragma once

#include <cstdint>

namespace hvmm {

// Writes a VMM let through without an exit and counted (KVM ioeventfds with a data match):
// RAP := 0 and RDP := 0x48 (TDMD | INEA, what pcnet32 writes to CSR0 for every frame). See
// PcnetChip, "Silent writes".
struct PcnetSilentWrites {
    uint64_t rap_zero = 0;
    uint64_t transmit_demand = 0;
};

class PcnetEvents {
  public:
    // The guest set TDMD or STRT (on a vCPU thread). True: the VMM has taken the walk and runs
    // process_transmit_ring() itself later (send combining schedules it on the I/O thread).
    // False: the chip walks the ring now, on the thread that made the demand.
    virtual bool take_transmit_demand() { return false; }
    // Receive buffers may have appeared after can_receive() said no: the VMM resumes its backend.
    virtual void receive_resumed() {}
    // RAP moved: to DWIO's place after the switch, back to WIO's after a hardware reset. A VMM
    // that coalesces RAP writes or binds ioeventfds to the registers follows them (rap_window(),
    // rdp_window()).
    virtual void register_layout_changed() {}
    // The silent writes since the last call, taken (called under the chip's lock).
    virtual PcnetSilentWrites fetch_silent_writes() { return {}; }

    // A chip on its own: every default above.
    static PcnetEvents& none() {
        static PcnetEvents events;
        return events;
    }

  protected:
    PcnetEvents() = default;
    PcnetEvents(const PcnetEvents&) = default;
    PcnetEvents& operator=(const PcnetEvents&) = default;
    ~PcnetEvents() = default;
};

}  // namespace hvmm
