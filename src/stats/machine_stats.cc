#include "stats/machine_stats.h"

#include <fmt/core.h>

#include <algorithm>

namespace hvmm::stats {
namespace {

constexpr std::array<std::string_view, kExitKindCount> kExitKindNames = {
    "io_in",        "io_out",         "mmio_read",  "mmio_write", "hlt",     "shutdown",
    "system_event", "internal_error", "fail_entry", "intr",       "unknown",
};

double microseconds(uint64_t ticks, double ticks_per_second) {
    return static_cast<double>(ticks) * 1e6 / ticks_per_second;
}

nlohmann::json tally_json(const Tally& tally, double ticks_per_second) {
    return {
        {"count", tally.count},
        {"total_us", microseconds(tally.ticks, ticks_per_second)},
        {"mean_us", tally.count ? microseconds(tally.ticks, ticks_per_second) / tally.count : 0.0},
        {"syscalls", tally.syscalls}};
}

std::string tally_row(std::string_view label, const Tally& tally, double ticks_per_second) {
    const double total = microseconds(tally.ticks, ticks_per_second);
    return fmt::format("  {:<24} {:>12} {:>14.1f} {:>10.2f} {:>10}\n", label, tally.count, total,
                       tally.count ? total / tally.count : 0.0, tally.syscalls);
}

std::string tally_header(std::string_view label) {
    return fmt::format("  {:<24} {:>12} {:>14} {:>10} {:>10}\n", label, "count", "total us",
                       "mean us", "syscalls");
}

double ratio(uint64_t numerator, uint64_t denominator) {
    return denominator ? static_cast<double>(numerator) / static_cast<double>(denominator) : 0.0;
}

}  // namespace

std::string_view exit_kind_name(ExitKind kind) {
    return kExitKindNames.at(static_cast<size_t>(kind));
}

uint64_t Snapshot::total_exits() const {
    uint64_t total = 0;
    for (const auto& tally : exits) {
        total += tally.count;
    }
    return total;
}

MachineStats::MachineStats(uint32_t vcpu_count) {
    for (uint32_t i = 0; i < vcpu_count; ++i) {
        vcpus_.push_back(std::make_unique<VcpuStats>());
    }
}

void MachineStats::add_interrupt_source(std::string line_name, CounterSource source) {
    std::lock_guard lock(mutex_);
    interrupt_sources_.emplace_back(std::move(line_name), std::move(source));
}

void MachineStats::add_counter(std::string name, CounterSource source) {
    std::lock_guard lock(mutex_);
    counter_sources_.emplace_back(std::move(name), std::move(source));
}

Snapshot MachineStats::snapshot(bool include_tables) const {
    Snapshot result;
    result.ticks_per_second = calibration_.ticks_per_second();
    result.vcpu_count = static_cast<uint32_t>(vcpus_.size());
    for (const auto& vcpu : vcpus_) {
        for (size_t kind = 0; kind < kExitKindCount; ++kind) {
            result.exits[kind] += vcpu->exits(static_cast<ExitKind>(kind));
        }
        if (include_tables) {
            for (const auto& [port, tally] : vcpu->by_port()) {
                result.by_port[port] += tally;
            }
            for (const auto& [device, tally] : vcpu->by_device()) {
                result.by_device[std::string(device)] += tally;
            }
            for (const auto& [port, count] : vcpu->coalesced_by_port()) {
                result.coalesced_by_port[port] += count;
            }
            for (const auto& [device, count] : vcpu->coalesced_by_device()) {
                result.coalesced_by_device[std::string(device)] += count;
            }
        }
        result.coalesced += vcpu->coalesced();
        result.vcpu_syscalls += vcpu->syscall_count();
    }
    result.io_thread_syscalls = io_thread_syscalls_.read();
    std::lock_guard lock(mutex_);
    for (const auto& [name, source] : interrupt_sources_) {
        result.interrupts[name] += source();
    }
    for (const auto& [name, source] : counter_sources_) {
        result.counters[name] += source();
    }
    return result;
}

std::string backend_counter_name(unsigned nic_index, std::string_view counter) {
    return fmt::format("net{}.{}", nic_index, counter);
}

bool is_backend_counter(std::string_view name) {
    if (!name.starts_with("net")) {
        return false;
    }
    const size_t dot = name.find('.');
    const std::string_view index = name.substr(3, dot == std::string_view::npos ? 0 : dot - 3);
    return !index.empty() && std::all_of(index.begin(), index.end(),
                                         [](char c) { return c >= '0' && c <= '9'; });
}

std::string format_table(const Snapshot& snapshot) {
    const double tps = snapshot.ticks_per_second;
    std::string out = fmt::format("hvmm exit statistics ({} vCPU(s), {} exits)\n",
                                  snapshot.vcpu_count, snapshot.total_exits());
    out += tally_header("exit");
    for (size_t kind = 0; kind < kExitKindCount; ++kind) {
        if (snapshot.exits[kind].count) {
            out += tally_row(kExitKindNames[kind], snapshot.exits[kind], tps);
        }
    }
    if (!snapshot.by_device.empty()) {
        out += tally_header("device");
        for (const auto& [device, tally] : snapshot.by_device) {
            out += tally_row(device, tally, tps);
        }
    }
    if (!snapshot.by_port.empty()) {
        // The busiest ports first: a guest driver's hot registers are what one looks for.
        std::vector<std::pair<uint16_t, Tally>> ports(snapshot.by_port.begin(),
                                                      snapshot.by_port.end());
        std::sort(ports.begin(), ports.end(),
                  [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
        out += tally_header("port");
        for (size_t i = 0; i < ports.size() && i < 16; ++i) {
            out += tally_row(fmt::format("{:#06x}", ports[i].first), ports[i].second, tps);
        }
    }
    if (!snapshot.interrupts.empty()) {
        out += fmt::format("  {:<24} {:>12}\n", "interrupt line", "injected");
        for (const auto& [line, count] : snapshot.interrupts) {
            out += fmt::format("  {:<24} {:>12}\n", line, count);
        }
    }
    if (snapshot.coalesced.count) {
        out += fmt::format("  {:<24} {:>12}\n", "coalesced port writes", snapshot.coalesced.count);
        for (const auto& [port, count] : snapshot.coalesced_by_port) {
            out += fmt::format("    {:<22} {:>12}\n", fmt::format("{:#06x}", port), count);
        }
    }
    out += fmt::format("  {:<24} {:>12}\n", "syscalls on vCPU threads", snapshot.vcpu_syscalls);
    out += fmt::format("  {:<24} {:>12}\n", "syscalls on I/O thread", snapshot.io_thread_syscalls);
    for (const auto& [name, value] : snapshot.counters) {
        out += fmt::format("  {:<24} {:>12}\n", name, value);
    }
    for (const auto& [nic, costs] : packet_costs(snapshot)) {
        out += fmt::format(
            "  {} per transmitted frame: {:.2f} exits, {:.3f} interrupts, {:.2f} syscalls "
            "({:.2f} on vCPU threads)\n",
            nic, costs.exits_per_tx_frame, costs.interrupts_per_tx_frame,
            costs.syscalls_per_tx_frame, costs.vcpu_syscalls_per_tx_frame);
    }
    return out;
}

std::map<std::string, PacketCosts> packet_costs(const Snapshot& snapshot) {
    constexpr std::string_view kSuffix = ".tx_frames";
    std::map<std::string, PacketCosts> result;
    for (const auto& [name, tx_frames] : snapshot.counters) {
        if (name.size() <= kSuffix.size() || !name.ends_with(kSuffix) ||
            is_backend_counter(name)) {
            continue;
        }
        const std::string nic = name.substr(0, name.size() - kSuffix.size());
        PacketCosts costs;
        costs.tx_frames = tx_frames;
        if (auto rx = snapshot.counters.find(nic + ".rx_frames"); rx != snapshot.counters.end()) {
            costs.rx_frames = rx->second;
        }
        uint64_t interrupts = 0;
        for (const auto& [line, count] : snapshot.interrupts) {
            if (line.ends_with(" " + nic)) {
                interrupts += count;
            }
        }
        costs.exits_per_tx_frame = ratio(snapshot.total_exits(), tx_frames);
        costs.interrupts_per_tx_frame = ratio(interrupts, tx_frames);
        costs.vcpu_syscalls_per_tx_frame = ratio(snapshot.vcpu_syscalls, tx_frames);
        costs.syscalls_per_tx_frame =
            ratio(snapshot.vcpu_syscalls + snapshot.io_thread_syscalls, tx_frames);
        result[nic] = costs;
    }
    return result;
}

nlohmann::json to_json(const Snapshot& snapshot) {
    const double tps = snapshot.ticks_per_second;
    nlohmann::json exits = nlohmann::json::object();
    for (size_t kind = 0; kind < kExitKindCount; ++kind) {
        exits[std::string(kExitKindNames[kind])] = tally_json(snapshot.exits[kind], tps);
    }
    nlohmann::json devices = nlohmann::json::object();
    for (const auto& [device, tally] : snapshot.by_device) {
        devices[device] = tally_json(tally, tps);
    }
    nlohmann::json ports = nlohmann::json::object();
    for (const auto& [port, tally] : snapshot.by_port) {
        ports[fmt::format("{:#06x}", port)] = tally_json(tally, tps);
    }
    nlohmann::json coalesced_ports = nlohmann::json::object();
    for (const auto& [port, count] : snapshot.coalesced_by_port) {
        coalesced_ports[fmt::format("{:#06x}", port)] = count;
    }
    nlohmann::json packets = nlohmann::json::object();
    for (const auto& [nic, costs] : packet_costs(snapshot)) {
        packets[nic] = {{"tx_frames", costs.tx_frames},
                        {"rx_frames", costs.rx_frames},
                        {"exits_per_tx_frame", costs.exits_per_tx_frame},
                        {"interrupts_per_tx_frame", costs.interrupts_per_tx_frame},
                        {"vcpu_syscalls_per_tx_frame", costs.vcpu_syscalls_per_tx_frame},
                        {"syscalls_per_tx_frame", costs.syscalls_per_tx_frame}};
    }
    return {{"vcpus", snapshot.vcpu_count},
            {"total_exits", snapshot.total_exits()},
            {"exits", exits},
            {"devices", devices},
            {"ports", ports},
            {"coalesced", {{"count", snapshot.coalesced.count},
                           {"ports", coalesced_ports},
                           {"devices", snapshot.coalesced_by_device}}},
            {"syscalls", {{"vcpu_threads", snapshot.vcpu_syscalls},
                          {"io_thread", snapshot.io_thread_syscalls}}},
            {"interrupts", snapshot.interrupts},
            {"counters", snapshot.counters},
            {"packets", packets}};
}

}  // namespace hvmm::stats
