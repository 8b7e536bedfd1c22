// What a virtio-net device has done, for --stats and tests: plain counters the device bumps
// under its lock and hands out as a snapshot (VirtioNet::counters()), plus the same as named
// counts in a fixed order (to_named_counts) for the statistics registry, the NamedCount shape
// the network backends use.
#pragma once

#include <cstdint>
#include <vector>

#include "net/net_backend.h"

namespace hvmm::virtio {

struct VirtioNetCounters {
    uint64_t tx_frames = 0;         // handed to the backend
    uint64_t tx_bytes = 0;          // Ethernet bytes, without the virtio-net header
    uint64_t tx_batches = 0;        // TX drains that sent at least one frame
    uint64_t tx_kicks = 0;          // TX queue notifications seen (eventfd reads that were set)
    uint64_t tx_notifications = 0;  // used buffer notifications sent for the TX queue
    uint64_t tx_checksummed = 0;    // partial checksums the device completed (no vnet header)
    uint64_t rx_frames = 0;         // written to the guest
    uint64_t rx_bytes = 0;          // Ethernet bytes, without the header
    uint64_t rx_buffers = 0;        // RX chains used (more than rx_frames with MRG_RXBUF)
    uint64_t rx_kicks = 0;
    uint64_t rx_notifications = 0;
    uint64_t rx_held = 0;         // frames that waited for RX buffers (back-pressure)
    uint64_t ctrl_commands = 0;   // control queue commands answered OK
    uint64_t config_changes = 0;  // configuration change notifications (link status)

    // TX turns that ended on their budget (chains or bytes), the rest left to the guest's next
    // kick or the transmit tick, and the tick's turns (VirtioNet::kTxTickBudget each).
    uint64_t tx_turns_deferred = 0;
    uint64_t tx_tick_turns = 0;

    // Bounded polling (VirtioNetOptions::tx_poll): windows in which the I/O thread watched the
    // emptied TX ring instead of re-enabling kicks, those in which the driver published more
    // (each a kick the guest did not have to make), and the time spent watching.
    uint64_t tx_poll_windows = 0;
    uint64_t tx_poll_hits = 0;
    uint64_t tx_poll_ns = 0;

    // Notifications coalescing (VIRTIO_NET_F_NOTF_COAL, the driver's `ethtool -C`): drains whose
    // used buffer notification was held back for more frames or the driver's usecs, per queue.
    uint64_t tx_notifications_held = 0;
    uint64_t rx_notifications_held = 0;

    // Transmit drops by cause (CVE-2023-6693: a chain shorter than the header is never sent).
    uint64_t tx_dropped_short_header = 0;
    uint64_t tx_dropped_runt = 0;        // fewer bytes than an Ethernet header
    uint64_t tx_dropped_oversize = 0;    // longer than any backend carries
    uint64_t tx_dropped_bad_header = 0;  // offloads not negotiated or offsets out of the frame
    uint64_t tx_malformed_chains = 0;    // refused by the queue (returned with length 0)

    // Receive drops by cause.
    uint64_t rx_dropped_not_ready = 0;  // the driver had not activated the device
    uint64_t rx_dropped_runt = 0;
    uint64_t rx_dropped_filtered = 0;    // the receive filter said no
    uint64_t rx_dropped_oversize = 0;    // larger than the guest's buffers can ever hold
    uint64_t rx_dropped_bad_header = 0;  // the backend offered an offload the guest refused
    uint64_t rx_malformed_chains = 0;    // refused by the queue, or too short for a header

    uint64_t ctrl_errors = 0;            // commands answered ERR (unknown, malformed)
    uint64_t ctrl_malformed_chains = 0;  // no room for the ack, or refused by the queue
    uint64_t config_writes_ignored = 0;  // the driver wrote the read-only configuration

    // vhost-net (VirtioNetOptions::vhost): DRIVER_OKs that handed the rings to the host kernel,
    // and those where vhost refused and the userspace data path took over.
    uint64_t vhost_starts = 0;
    uint64_t vhost_fallbacks = 0;
};

std::vector<NamedCount> to_named_counts(const VirtioNetCounters& counters);

}  // namespace hvmm::virtio
