#include "vmm/exit_dispatch.h"

#include <algorithm>
#include <cstddef>

#include "stats/clock.h"
#include "base/syscall_count.h"

namespace hvmm {

bool dispatch_bus_exit(const kvm::VcpuExit& exit, IoBus& io_bus, MmioBus& mmio_bus, uint32_t vcpu,
                       stats::VcpuStats& stats) {
    using stats::ExitKind;
    const uint64_t start = stats::now_ticks();
    const uint64_t syscalls_before = stats::syscalls_so_far();
    if (const auto* io = std::get_if<kvm::exit::Io>(&exit)) {
        BusDevice* device = nullptr;
        for (uint32_t i = 0; i < io->count; ++i) {
            // KVM sized data as count * size: each element is in bounds.
            auto element = io->data.subspan(static_cast<size_t>(i) * io->size, io->size);
            device = io->is_write ? io_bus.dispatch_write(io->port, element, vcpu)
                                  : io_bus.dispatch_read(io->port, element, vcpu);
        }
        const uint64_t elapsed = stats::now_ticks() - start;
        const uint64_t syscalls = stats::syscalls_so_far() - syscalls_before;
        stats.record_exit(io->is_write ? ExitKind::kIoOut : ExitKind::kIoIn, elapsed, syscalls);
        stats.record_port(io->port, device ? device->name() : "unmapped", elapsed, syscalls);
        return true;
    }
    if (const auto* mmio = std::get_if<kvm::exit::Mmio>(&exit)) {
        BusDevice* device = mmio->is_write
                                ? mmio_bus.dispatch_write(mmio->address, mmio->data, vcpu)
                                : mmio_bus.dispatch_read(mmio->address, mmio->data, vcpu);
        const uint64_t elapsed = stats::now_ticks() - start;
        const uint64_t syscalls = stats::syscalls_so_far() - syscalls_before;
        stats.record_exit(mmio->is_write ? ExitKind::kMmioWrite : ExitKind::kMmioRead, elapsed,
                          syscalls);
        stats.record_mmio(device ? device->name() : "unmapped", elapsed, syscalls);
        return true;
    }
    return false;
}

size_t drain_coalesced(kvm::uapi::CoalescedRing& ring, IoBus& io_bus, MmioBus& mmio_bus,
                       uint32_t vcpu, stats::VcpuStats* stats) {
    // The entries fill the rest of the ring's page; `entries[1]` only names where they start.
    auto* entries = reinterpret_cast<kvm_coalesced_mmio*>(
        reinterpret_cast<uint8_t*>(&ring) + offsetof(kvm::uapi::CoalescedRing, entries));
    size_t delivered = 0;
    uint32_t first = ring.first;  // only userspace writes first
    while (true) {
        const uint32_t last = __atomic_load_n(&ring.last, __ATOMIC_ACQUIRE);
        if (first == last || first >= kvm::uapi::kCoalescedRingEntries) {
            break;
        }
        const kvm_coalesced_mmio entry = entries[first];
        const auto data = std::span<const uint8_t>(entry.data, std::min<uint32_t>(entry.len, 8));
        if (entry.pio) {
            const uint16_t port = static_cast<uint16_t>(entry.phys_addr);
            BusDevice* device = io_bus.dispatch_write(port, data, vcpu);
            if (stats != nullptr) {
                stats->record_coalesced(port, device ? device->name() : "unmapped");
            }
        } else {
            mmio_bus.write(entry.phys_addr, data, vcpu);
        }
        first = (first + 1) % kvm::uapi::kCoalescedRingEntries;
        __atomic_store_n(&ring.first, first, __ATOMIC_RELEASE);
        ++delivered;
    }
    return delivered;
}

}  // namespace hvmm
