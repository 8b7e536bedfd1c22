// One PCnet NIC plugged into a Machine, as one object that owns all of it: the backend, the DMA
// view of guest RAM, its interrupt line (an irqfd, or the machine's KVM_IRQ_LINE line), the
// PCI function with the chip, and the wiring of the paper's optimizations (--nic-opt). The chip
// calls out through PcnetEvents, which this object implements; the Machine keeps it and nothing
// else holds references into it.
//
// What it wires:
// - receive: the backend's fd in the I/O thread's epoll, paused while the chip has no buffers
//   and resumed when the guest hands some back; the baseline's poll() of the backend after
//   every exit (the paper's unoptimized path);
// - ports: RAP writes through KVM's coalesced PIO ring, following RAP's place in the window;
// - combine: a transmit demand schedules one ring walk on the I/O thread per batch;
// - notify: the interrupt line is an irqfd with a resample fd;
// - kick: RAP := 0 and CSR0 := TDMD | INEA as ioeventfds, resolved on the I/O thread;
// - the chip's poll timer, slowed while its polls find nothing (TransmitPollPacer), and the
//   backend's link state re-read twice a second;
// - counters as pcnet<N>.* (the chip's) and net<N>.* (the backend's) in --stats.
#pragma once

#include <cstdint>
#include <memory>

#include "base/error.h"
#include "vmm/machine.h"
#include "vmm/nic_optimizations.h"
#include "vmm/nic_spec.h"

namespace hvmm {

class PcnetNic {
  public:
    virtual ~PcnetNic() = default;
    // NIC `index` (for names and counters) in PCI slot `slot`, with the paper's optimizations.
    static Result<std::unique_ptr<PcnetNic>> create(Machine& machine, const NicSpec& spec,
                                                    unsigned index, uint8_t slot,
                                                    const NicOptimizations& optimizations);
};

}  // namespace hvmm
