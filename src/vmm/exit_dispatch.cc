#include "vmm/exit_dispatch.h"

#include "stats/clock.h"

namespace hvmm {

bool dispatch_bus_exit(const kvm::VcpuExit& exit, IoBus& io_bus, MmioBus& mmio_bus,
                       uint32_t vcpu, stats::VcpuStats& stats) {
    using stats::ExitKind;
    const uint64_t start = stats::now_ticks();
    if (const auto* io = std::get_if<kvm::exit::Io>(&exit)) {
        BusDevice* device = nullptr;
        for (uint32_t i = 0; i < io->count; ++i) {
            // KVM sized data as count * size: each element is in bounds.
            auto element = io->data.subspan(static_cast<size_t>(i) * io->size, io->size);
            device = io->is_write ? io_bus.dispatch_write(io->port, element, vcpu)
                                  : io_bus.dispatch_read(io->port, element, vcpu);
        }
        const uint64_t elapsed = stats::now_ticks() - start;
        stats.record_exit(io->is_write ? ExitKind::kIoOut : ExitKind::kIoIn, elapsed);
        stats.record_port(io->port, device ? device->name() : "unmapped", elapsed);
        return true;
    }
    if (const auto* mmio = std::get_if<kvm::exit::Mmio>(&exit)) {
        BusDevice* device = mmio->is_write ? mmio_bus.dispatch_write(mmio->address, mmio->data, vcpu)
                                           : mmio_bus.dispatch_read(mmio->address, mmio->data, vcpu);
        const uint64_t elapsed = stats::now_ticks() - start;
        stats.record_exit(mmio->is_write ? ExitKind::kMmioWrite : ExitKind::kMmioRead, elapsed);
        stats.record_mmio(device ? device->name() : "unmapped", elapsed);
        return true;
    }
    return false;
}

}  // namespace hvmm
