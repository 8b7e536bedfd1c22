// Which of the paper's I/O optimizations a NIC runs with (--nic-opt). Each can be switched on its
// own so the paper's experiment (baseline, each alone, all) can be rerun; the default is the
// paper's three ("paper"); "all" adds the ones past the paper.
//
//   ports    accesses that need no host I/O cost no world switch: writes to the register
//            address port (RAP) go through KVM's coalesced PIO ring and are replayed at the
//            next exit, in order.
//   combine  send combining: a transmit demand hands the ring to the I/O thread, which sends
//            whatever frames are queued as one batch, with one transmit-done interrupt at the
//            batch's end (PcnetChip::set_transmit_interrupt_per_walk says why not the paper's
//            three-frame hold).
//   notify   IRQ notification without polling: the I/O thread waits on the backends (epoll)
//            and injects through an irqfd (level-triggered, resampled on EOI).
//
// Past the paper:
//   kick     the transmit demand costs no exit: KVM ioeventfds take RAP := 0 and RDP := 0x48
//            (TDMD | INEA, pcnet32's write for every frame) without leaving the kernel, and
//            the chip resolves them in order (PcnetChip::SilentWrites). RAP writes other than 0
//            then exit (they are what orders the silent ones), instead of being coalesced, and
//            the chip reads the two counts (system calls) before a data access while RAP is not
//            0. Measured in the lab: userspace exits per transmitted packet 1.48 -> 0.88, but
//            about 20 more system calls per frame on the vCPU path; not on by default.
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
    bool kick = false;

    static NicOptimizations none() { return {false, false, false, false}; }
    static NicOptimizations paper() { return {true, true, true, false}; }
    static NicOptimizations all() { return {true, true, true, true}; }
    bool operator==(const NicOptimizations&) const = default;
};

// "paper" (the default: the paper's three), "all" (every optimization), "baseline" or "none", or
// a comma list of ports/combine/notify/kick. One-line error for anything else.
Result<NicOptimizations> parse_nic_optimizations(std::string_view text);
// The canonical name: "baseline", "paper", "all", or the comma list.
std::string describe(const NicOptimizations& optimizations);

}  // namespace hvmm
