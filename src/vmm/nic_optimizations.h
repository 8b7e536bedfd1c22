// Which of the paper's I/O optimizations a NIC runs with (--nic-opt). Each can be switched on its
// own so the paper's experiment (baseline, each alone, all) can be rerun; the default is all.
//
//   ports    accesses that need no host I/O cost no world switch: writes to the register
//            address port (RAP) go through KVM's coalesced PIO ring and are replayed at the
//            next exit, in order.
//   combine  send combining: a transmit demand hands the ring to the I/O thread, which sends
//            whatever frames are queued as one batch; transmit-done interrupts are held until
//            three frames are done or the next 2 ms device tick.
//   notify   IRQ notification without polling: the I/O thread waits on the backends (epoll)
//            and injects through an irqfd (level-triggered, resampled on EOI).
//
// baseline (none of them) is the paper's unoptimized hosted path: every port access exits,
// frames are written to the backend inside the exit, every exit polls the backend with poll(),
// and interrupts are raised with KVM_IRQ_LINE from whichever thread finds them.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace hvmm {

struct NicOptimizations {
    bool ports = true;
    bool combine = true;
    bool notify = true;

    static NicOptimizations none() { return {false, false, false}; }
    bool operator==(const NicOptimizations&) const = default;
};

// "all" (default), "baseline" or "none", "paper" (the three), or a comma list of
// ports/combine/notify. One-line error for anything else.
Result<NicOptimizations> parse_nic_optimizations(std::string_view text);
// The canonical name: "baseline", "all", or the comma list.
std::string describe(const NicOptimizations& optimizations);

}  // namespace hvmm
