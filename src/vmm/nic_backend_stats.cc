#include "vmm/nic_backend_stats.h"

namespace hvmm {

void add_backend_counters(stats::MachineStats& stats, const NetBackend& backend,
                          unsigned nic_index) {
    // The names are learnt once; each counter then reads its value by position, which is the
    // same at every call (named_counts' contract). A snapshot reads a few dozen atomics per
    // counter: it happens once per run, when the guest stops.
    const std::vector<NamedCount> counts = backend.named_counts();
    for (size_t i = 0; i < counts.size(); ++i) {
        stats.add_counter(stats::backend_counter_name(nic_index, counts[i].name),
                          [&backend, i] {
                              const auto now = backend.named_counts();
                              return i < now.size() ? now[i].value : 0;
                          });
    }
}

}  // namespace hvmm
