// A NIC's backend in --stats and --stats-json: each of its named counters (the totals and the
// drops by cause, NetBackend::named_counts) becomes a machine counter net<N>.<name>.
#pragma once

#include "net/net_backend.h"
#include "stats/machine_stats.h"

namespace hvmm {

// The backend must outlive the statistics' last snapshot (the Machine keeps both).
void add_backend_counters(stats::MachineStats& stats, const NetBackend& backend,
                          unsigned nic_index);

}  // namespace hvmm
