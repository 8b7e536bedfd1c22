// What a PCnet chip has done, for statistics and tests. Plain counters, read as a snapshot.
#pragma once

#include <cstdint>

namespace hvmm {

struct PcnetCounters {
    uint64_t tx_frames = 0;  // handed to the backend or looped back
    uint64_t tx_bytes = 0;   // without FCS
    uint64_t rx_frames = 0;  // written to the receive ring with ENP
    uint64_t rx_bytes = 0;   // without FCS or receive padding

    // Transmit drops by cause.
    uint64_t tx_dropped_no_enp = 0;      // chain ran out of owned descriptors (BUFF/UFLO)
    uint64_t tx_dropped_no_stp = 0;      // owned descriptor that does not start a frame
    uint64_t tx_dropped_oversize = 0;    // longer than the frame buffer
    uint64_t tx_dropped_link_down = 0;   // carrier lost (LCAR)
    uint64_t tx_dropped_no_backend = 0;  // NIC not connected to anything
    uint64_t tx_dropped_dma_error = 0;   // descriptor or buffer outside guest RAM (MERR)

    // Receive drops by cause.
    uint64_t rx_dropped_not_running = 0;   // receiver off (STOP, DRX, SPND, link down)
    uint64_t rx_dropped_filtered = 0;      // address filter said no
    uint64_t rx_dropped_no_buffer = 0;     // current descriptor not owned (MISS)
    uint64_t rx_dropped_buffer_error = 0;  // ran out of owned descriptors mid-frame (BUFF)
    uint64_t rx_dropped_oversize = 0;      // longer than the chip accepts
    uint64_t rx_dropped_dma_error = 0;     // descriptor or buffer outside guest RAM (MERR)
    uint64_t rx_dropped_bad_ring = 0;      // ring length 0

    uint64_t loopback_frames = 0;  // frames received from our own transmitter
    uint64_t interrupts = 0;       // 0 -> 1 transitions of the interrupt line
    uint64_t tdmd = 0;             // transmit demands written to CSR0
    uint64_t tx_batches = 0;       // ring walks that sent frames: tx_frames / tx_batches is
                                   // how many frames one demand or poll sent together
    // Walks the budget ended with frames still queued: the rest waited for the next poll tick
    // (PcnetChip::kWalkBudget).
    uint64_t tx_walks_deferred = 0;
    // Walks that sent frames on the wire's share (PcnetChip::kPollWalkBudget): the poll's, and
    // demands' while the ring outruns kWalkBudget.
    uint64_t tx_walks_wire_paced = 0;
    // Writes the VMM let through without an exit (PcnetChip::SilentWrites).
    uint64_t silent_rap_zero = 0;
    uint64_t silent_transmit_demands = 0;
    uint64_t silent_ambiguous = 0;  // both kinds pending after a non-zero RAP: order assumed

    // Register accesses by kind.
    uint64_t prom_reads = 0;
    uint64_t prom_writes = 0;
    uint64_t rap_reads = 0;
    uint64_t rap_writes = 0;
    uint64_t rdp_reads = 0;
    uint64_t rdp_writes = 0;
    uint64_t bdp_reads = 0;
    uint64_t bdp_writes = 0;
    uint64_t reset_reads = 0;
    uint64_t reset_writes = 0;
    uint64_t bad_accesses = 0;  // wrong width or offset for the current I/O mode
};

}  // namespace hvmm
