#include "devices/pcnet/pcnet_pci.h"

#include <cstdlib>

#include "base/log.h"

namespace hvmm {
namespace {

pci::FunctionIdentity pcnet_identity() {
    // The Am79C970A is a PCI 2.0 part: no subsystem IDs (offsets 2Ch-2Fh read 0), no Interrupt
    // Disable bit, medium DEVSEL timing and fast back-to-back capable.
    return pci::FunctionIdentity{
        .vendor_id = PcnetPci::kVendorId,
        .device_id = PcnetPci::kDeviceId,
        .revision_id = PcnetPci::kRevisionId,
        .class_code = PcnetPci::kClassCode,
        .subsystem_vendor_id = 0,
        .subsystem_id = 0,
        .interrupt_pin = 1,  // INTA#
        .min_gnt = PcnetPci::kMinGnt,
        .max_lat = PcnetPci::kMaxLat,
        .status = pci::bits(pci::StatusBit::kDevselMedium) |
                  pci::bits(pci::StatusBit::kFastBackToBackCapable),
        .implemented_command_bits = pci::bits(pci::CommandBit::kIoSpace) |
                                    pci::bits(pci::CommandBit::kMemorySpace) |
                                    pci::bits(pci::CommandBit::kBusMaster) |
                                    pci::bits(pci::CommandBit::kParityErrorResponse) |
                                    pci::bits(pci::CommandBit::kSerrEnable),
    };
}

void define_or_abort(pci::ConfigSpace& config, int index, const pci::BarSpec& spec) {
    // Constant specs: a failure is a bug in this file, not something a user or guest caused.
    if (auto defined = config.define_bar(index, spec); !defined) {
        log::error("pcnet: {}", defined.error().message);
        std::abort();
    }
}

}  // namespace

PcnetPci::PcnetPci(DmaSpace& memory, IrqLine& irq, NetBackend* backend, MacAddress mac,
                   PcnetEvents& events)
    : ConfigSpaceFunction(pcnet_identity()),
      dma_(memory),
      chip_(dma_, irq, backend, mac, events),
      io_window_(chip_, "pcnet-io"),
      mmio_window_(chip_, "pcnet-mmio") {
    static_assert(PcnetChip::kRegisterWindowSize == kBarSize);
    define_or_abort(config_, kIoBar, {pci::BarKind::kIo, kBarSize});
    define_or_abort(config_, kMmioBar, {pci::BarKind::kMmio, kBarSize});
}

BusDevice* PcnetPci::bar_device(int index) {
    switch (index) {
        case kIoBar:
            return &io_window_;
        case kMmioBar:
            return &mmio_window_;
        default:
            return nullptr;
    }
}

void PcnetPci::command_written(uint16_t command) {
    dma_.set_enabled((command & pci::bits(pci::CommandBit::kBusMaster)) != 0);
}

}  // namespace hvmm
