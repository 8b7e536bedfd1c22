// Everything a run counts, merged when read: exits per vCPU, interrupts per line, and named
// counters that other modules register (a NIC's packets, say) so ratios such as exits per packet
// come out of the report without touching the vCPU loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stats/clock.h"
#include "stats/vcpu_stats.h"

namespace hvmm::stats {

struct Snapshot {
    double ticks_per_second = 1e9;
    uint32_t vcpu_count = 0;
    std::array<Tally, kExitKindCount> exits{};
    std::map<uint16_t, Tally> by_port;
    std::map<std::string, Tally> by_device;
    std::map<std::string, uint64_t> interrupts;  // line name -> interrupts injected
    std::map<std::string, uint64_t> counters;    // registered counters

    uint64_t total_exits() const;
};

class MachineStats {
  public:
    explicit MachineStats(uint32_t vcpu_count);

    VcpuStats& vcpu(uint32_t id) { return *vcpus_.at(id); }

    using CounterSource = std::function<uint64_t()>;
    // Sources are read at snapshot time, from the reading thread: they must be thread-safe.
    void add_interrupt_source(std::string line_name, CounterSource source);
    void add_counter(std::string name, CounterSource source);

    // Per-port and per-device tables are included only when include_tables is true, which the
    // caller may pass only while no vCPU thread runs.
    Snapshot snapshot(bool include_tables) const;

  private:
    TickCalibration calibration_;
    std::vector<std::unique_ptr<VcpuStats>> vcpus_;
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, CounterSource>> interrupt_sources_;
    std::vector<std::pair<std::string, CounterSource>> counter_sources_;
};

// A human-readable table, for --stats.
std::string format_table(const Snapshot& snapshot);
// The same as JSON, for --stats-json. Times are in microseconds.
nlohmann::json to_json(const Snapshot& snapshot);

}  // namespace hvmm::stats
