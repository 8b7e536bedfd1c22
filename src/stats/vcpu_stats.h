// Exit accounting for one vCPU, written only by that vCPU's thread: no atomic read-modify-write
// and no cache line shared with another vCPU on the exit path. Counts per exit kind may be read
// from another thread at any time (single-writer relaxed atomics compile to plain moves); the
// per-port and per-device tables are read only after the vCPU thread has stopped.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>
#include <unordered_map>

namespace hvmm::stats {

enum class ExitKind : uint8_t {
    kIoIn,
    kIoOut,
    kMmioRead,
    kMmioWrite,
    kHlt,
    kShutdown,
    kSystemEvent,
    kInternalError,
    kFailEntry,
    kIntr,  // KVM_RUN interrupted (kick, signal)
    kUnknown,
    kCount,
};
constexpr size_t kExitKindCount = static_cast<size_t>(ExitKind::kCount);
std::string_view exit_kind_name(ExitKind kind);

// A count and the ticks spent, as plain values (merged results, per-device tables).
struct Tally {
    uint64_t count = 0;
    uint64_t ticks = 0;
    void add(uint64_t elapsed) {
        ++count;
        ticks += elapsed;
    }
    Tally& operator+=(const Tally& other) {
        count += other.count;
        ticks += other.ticks;
        return *this;
    }
};

// A Tally another thread may read while its one writer updates it.
class SharedTally {
  public:
    void add(uint64_t elapsed) {
        count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        ticks_.store(ticks_.load(std::memory_order_relaxed) + elapsed, std::memory_order_relaxed);
    }
    Tally read() const {
        return Tally{count_.load(std::memory_order_relaxed),
                     ticks_.load(std::memory_order_relaxed)};
    }

  private:
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> ticks_{0};
};

class alignas(64) VcpuStats {
  public:
    // Time from KVM_RUN returning until the exit was handled, by exit kind.
    void record_exit(ExitKind kind, uint64_t ticks) {
        by_kind_[static_cast<size_t>(kind)].add(ticks);
    }
    // Also by port and by the device (name) that handled it; "unmapped" when none did.
    void record_port(uint16_t port, std::string_view device, uint64_t ticks) {
        by_port_[port].add(ticks);
        by_device_[device].add(ticks);
    }
    void record_mmio(std::string_view device, uint64_t ticks) { by_device_[device].add(ticks); }

    Tally exits(ExitKind kind) const { return by_kind_[static_cast<size_t>(kind)].read(); }
    const std::unordered_map<uint16_t, Tally>& by_port() const { return by_port_; }
    // Keys are BusDevice::name() views: valid while the devices live (as long as the Machine).
    const std::unordered_map<std::string_view, Tally>& by_device() const { return by_device_; }

  private:
    std::array<SharedTally, kExitKindCount> by_kind_;
    std::unordered_map<uint16_t, Tally> by_port_;
    std::unordered_map<std::string_view, Tally> by_device_;
};

}  // namespace hvmm::stats
