// The PCnet-PCI II (Am79C970A) as a PCI function: its configuration header, the chip's 32-byte
// register window behind both an I/O BAR (BAR0) and a memory BAR (BAR1), INTA#, and bus
// mastering: the chip's DMA goes through a gate that refuses every access while the command
// register's Bus Master bit is clear, as a PCI device cannot start a cycle it is not allowed to.
#pragma once

#include <cstdint>
#include <string_view>

#include "bus/bus_device.h"
#include "devices/pci/bus_master_dma.h"
#include "devices/pci/pci_function.h"
#include "devices/pcnet/pcnet_chip.h"

namespace hvmm {

class PcnetPci final : public pci::ConfigSpaceFunction {
  public:
    static constexpr uint16_t kVendorId = 0x1022;     // AMD
    static constexpr uint16_t kDeviceId = 0x2000;     // PCnet-PCI family (LANCE-compatible)
    static constexpr uint8_t kRevisionId = 0x10;      // Am79C970A (the original Am79C970 is 00h)
    static constexpr uint32_t kClassCode = 0x020000;  // network controller, Ethernet
    static constexpr uint8_t kMinGnt = 0x06;          // datasheet reset value: 1.5 us bursts
    static constexpr uint8_t kMaxLat = 0xFF;          // datasheet reset value: 63.75 us
    static constexpr int kIoBar = 0;
    static constexpr int kMmioBar = 1;
    static constexpr uint32_t kBarSize = 32;  // the chip's register window

    // memory: guest RAM as the chip's DMA sees it once bus mastering is on. irq: the level line
    // INTA# of the slot the function is plugged into drives (pci::intx_gsi(slot, 0)). events:
    // the chip's calls out to its VMM (PcnetEvents), outliving the function.
    PcnetPci(DmaSpace& memory, IrqLine& irq, NetBackend* backend, MacAddress mac,
             PcnetEvents& events = PcnetEvents::none());

    PcnetChip& chip() { return chip_; }
    pci::BusMasterDma& dma() { return dma_; }

    BusDevice* bar_device(int index) override;
    std::string_view name() const override { return "pcnet"; }

  protected:
    void command_written(uint16_t command) override;

  private:
    // One BAR's view of the chip: the bus hands over the offset within the BAR, which is the
    // offset within the chip's register window for both BARs.
    class RegisterWindow final : public BusDevice {
      public:
        RegisterWindow(PcnetChip& chip, std::string_view name) : chip_(chip), name_(name) {}
        void read(const BusAccess& access, std::span<uint8_t> data) override {
            chip_.read(access.offset, data);
        }
        void write(const BusAccess& access, std::span<const uint8_t> data) override {
            chip_.write(access.offset, data);
        }
        std::string_view name() const override { return name_; }

      private:
        PcnetChip& chip_;
        std::string_view name_;
    };

    pci::BusMasterDma dma_;
    PcnetChip chip_;
    RegisterWindow io_window_;
    RegisterWindow mmio_window_;
};

}  // namespace hvmm
