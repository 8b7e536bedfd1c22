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
#include <string_view>
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
    Tally coalesced;                             // writes replayed from KVM's coalesced ring
    std::map<uint16_t, uint64_t> coalesced_by_port;
    std::map<std::string, uint64_t> coalesced_by_device;
    uint64_t vcpu_syscalls = 0;       // host system calls on the vCPU threads
    uint64_t io_thread_syscalls = 0;  // and on the I/O thread

    uint64_t total_exits() const;
};

class MachineStats {
  public:
    explicit MachineStats(uint32_t vcpu_count);

    VcpuStats& vcpu(uint32_t id) { return *vcpus_.at(id); }
    // The I/O thread's system calls (it points stats::syscall_sink here).
    SyscallCounter& io_thread_syscalls() { return io_thread_syscalls_; }

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
    SyscallCounter io_thread_syscalls_;
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, CounterSource>> interrupt_sources_;
    std::vector<std::pair<std::string, CounterSource>> counter_sources_;
};

// A NIC's backend (the TAP, socket or NAT behind it) counts under "net<N>.<counter>", as in
// net0.rx_oversize, apart from the NIC's own "pcnet<N>." counters. packet_costs() is about
// NICs, so a backend's net<N>.tx_frames does not make a NIC of its own there.
std::string backend_counter_name(unsigned nic_index, std::string_view counter);
bool is_backend_counter(std::string_view name);

// A human-readable table, for --stats.
std::string format_table(const Snapshot& snapshot);
// Per NIC (a counter "<nic>.tx_frames" names one): userspace exits, interrupts injected on its
// line ("gsiN <nic>") and host system calls, per transmitted frame. Whole-machine exits and
// system calls are charged to the NIC: in a network benchmark it is what causes them.
struct PacketCosts {
    uint64_t tx_frames = 0;
    uint64_t rx_frames = 0;
    double exits_per_tx_frame = 0;
    double interrupts_per_tx_frame = 0;
    double vcpu_syscalls_per_tx_frame = 0;
    double syscalls_per_tx_frame = 0;
};
std::map<std::string, PacketCosts> packet_costs(const Snapshot& snapshot);

// The same as JSON, for --stats-json. Times are in microseconds.
nlohmann::json to_json(const Snapshot& snapshot);

}  // namespace hvmm::stats
