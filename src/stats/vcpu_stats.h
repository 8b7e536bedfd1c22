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

#include "base/syscall_count.h"

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
    uint64_t syscalls = 0;  // host system calls the handlers made
    void add(uint64_t elapsed, uint64_t calls = 0) {
        ++count;
        ticks += elapsed;
        syscalls += calls;
    }
    Tally& operator+=(const Tally& other) {
        count += other.count;
        ticks += other.ticks;
        syscalls += other.syscalls;
        return *this;
    }
};

// A Tally another thread may read while its one writer updates it.
class SharedTally {
  public:
    void add(uint64_t elapsed, uint64_t calls) {
        bump(count_, 1);
        bump(ticks_, elapsed);
        bump(syscalls_, calls);
    }
    Tally read() const {
        return Tally{count_.load(std::memory_order_relaxed), ticks_.load(std::memory_order_relaxed),
                     syscalls_.load(std::memory_order_relaxed)};
    }

  private:
    static void bump(std::atomic<uint64_t>& value, uint64_t by) {
        value.store(value.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> ticks_{0};
    std::atomic<uint64_t> syscalls_{0};
};

class alignas(64) VcpuStats {
  public:
    // Time from KVM_RUN returning until the exit was handled, and the host system calls the
    // handler made, by exit kind.
    void record_exit(ExitKind kind, uint64_t ticks, uint64_t syscalls = 0) {
        by_kind_[static_cast<size_t>(kind)].add(ticks, syscalls);
    }
    // Also by port and by the device (name) that handled it; "unmapped" when none did.
    void record_port(uint16_t port, std::string_view device, uint64_t ticks,
                     uint64_t syscalls = 0) {
        by_port_[port].add(ticks, syscalls);
        by_device_[device].add(ticks, syscalls);
    }
    void record_mmio(std::string_view device, uint64_t ticks, uint64_t syscalls = 0) {
        by_device_[device].add(ticks, syscalls);
    }
    // Port writes KVM queued in the coalesced ring instead of exiting, replayed by hvmm at the
    // next exit: accesses that cost no world switch.
    void record_coalesced(uint16_t port, std::string_view device) {
        coalesced_.add(0, 0);
        ++coalesced_by_port_[port];
        ++coalesced_by_device_[device];
    }
    Tally coalesced() const { return coalesced_.read(); }
    const std::unordered_map<uint16_t, uint64_t>& coalesced_by_port() const {
        return coalesced_by_port_;
    }
    const std::unordered_map<std::string_view, uint64_t>& coalesced_by_device() const {
        return coalesced_by_device_;
    }
    // Every host system call this vCPU's thread made, in exit handlers or not.
    SyscallCounter& syscalls() { return syscalls_; }
    uint64_t syscall_count() const { return syscalls_.read(); }

    Tally exits(ExitKind kind) const { return by_kind_[static_cast<size_t>(kind)].read(); }
    const std::unordered_map<uint16_t, Tally>& by_port() const { return by_port_; }
    // Keys are BusDevice::name() views: valid while the devices live (as long as the Machine).
    const std::unordered_map<std::string_view, Tally>& by_device() const { return by_device_; }

  private:
    std::array<SharedTally, kExitKindCount> by_kind_;
    std::unordered_map<uint16_t, Tally> by_port_;
    std::unordered_map<std::string_view, Tally> by_device_;
    SharedTally coalesced_;
    std::unordered_map<uint16_t, uint64_t> coalesced_by_port_;
    std::unordered_map<std::string_view, uint64_t> coalesced_by_device_;
    SyscallCounter syscalls_;
};

}  // namespace hvmm::stats
