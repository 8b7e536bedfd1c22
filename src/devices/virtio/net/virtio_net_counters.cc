#include "devices/virtio/net/virtio_net_counters.h"

namespace hvmm::virtio {

std::vector<NamedCount> to_named_counts(const VirtioNetCounters& c) {
    return {
        {"tx_frames", c.tx_frames},
        {"tx_bytes", c.tx_bytes},
        {"tx_batches", c.tx_batches},
        {"tx_kicks", c.tx_kicks},
        {"tx_turns_deferred", c.tx_turns_deferred},
        {"tx_tick_turns", c.tx_tick_turns},
        {"tx_poll_windows", c.tx_poll_windows},
        {"tx_poll_hits", c.tx_poll_hits},
        {"tx_poll_ns", c.tx_poll_ns},
        {"tx_notifications", c.tx_notifications},
        {"tx_notifications_held", c.tx_notifications_held},
        {"tx_checksummed", c.tx_checksummed},
        {"rx_frames", c.rx_frames},
        {"rx_bytes", c.rx_bytes},
        {"rx_buffers", c.rx_buffers},
        {"rx_kicks", c.rx_kicks},
        {"rx_notifications", c.rx_notifications},
        {"rx_notifications_held", c.rx_notifications_held},
        {"rx_held", c.rx_held},
        {"ctrl_commands", c.ctrl_commands},
        {"config_changes", c.config_changes},
        {"tx_dropped_short_header", c.tx_dropped_short_header},
        {"tx_dropped_runt", c.tx_dropped_runt},
        {"tx_dropped_oversize", c.tx_dropped_oversize},
        {"tx_dropped_bad_header", c.tx_dropped_bad_header},
        {"tx_malformed_chains", c.tx_malformed_chains},
        {"rx_dropped_not_ready", c.rx_dropped_not_ready},
        {"rx_dropped_runt", c.rx_dropped_runt},
        {"rx_dropped_filtered", c.rx_dropped_filtered},
        {"rx_dropped_oversize", c.rx_dropped_oversize},
        {"rx_dropped_bad_header", c.rx_dropped_bad_header},
        {"rx_malformed_chains", c.rx_malformed_chains},
        {"ctrl_errors", c.ctrl_errors},
        {"ctrl_malformed_chains", c.ctrl_malformed_chains},
        {"config_writes_ignored", c.config_writes_ignored},
        {"vhost_starts", c.vhost_starts},
        {"vhost_fallbacks", c.vhost_fallbacks},
    };
}

}  // namespace hvmm::virtio
