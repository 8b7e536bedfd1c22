// The host bridge: PCI configuration mechanism #1 on ports 0xCF8-0xCFF for bus 0, and the
// bridge's own function at 00:00.0. It also plays firmware once at start-up, since hvmm boots
// Linux without a BIOS: assign_initial_resources() places the BARs and fills Interrupt Line.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "base/error.h"
#include "bus/bus_device.h"
#include "devices/pci/pci_function.h"

namespace hvmm::pci {

// Called for every BAR a configuration write (or the initial assignment) maps, unmaps or moves.
// The owner applies it to the I/O or MMIO bus: remove bar_device at old_base, insert at new_base.
// It runs on the thread that made the configuration access, with the bridge's lock held.
using BarChangeHandler = std::function<void(const BarChange&)>;

class PciHostBridge final : public BusDevice {
  public:
    static constexpr uint16_t kConfigAddressPort = 0xCF8;
    static constexpr uint16_t kConfigDataPort = 0xCFC;
    static constexpr uint16_t kPortCount = 8;  // 0xCF8-0xCFF
    static constexpr uint8_t kSlotCount = 32;
    static constexpr uint16_t kIntelVendorId = 0x8086;
    static constexpr uint16_t kI440fxDeviceId = 0x1237;  // what Linux's pci_sanity_check expects
    static constexpr uint32_t kHostBridgeClass = 0x060000;
    // Where the initial assignment starts, as docs/CONTRACTS.md fixes.
    static constexpr uint32_t kFirstIoBase = 0xC000;
    static constexpr uint32_t kIoLimit = 0x10000;
    static constexpr uint32_t kFirstMmioBase = 0xE000'0000;
    static constexpr uint32_t kMmioLimit = 0xFEC0'0000;  // the IOAPIC

    explicit PciHostBridge(BarChangeHandler on_bar_change);
    ~PciHostBridge() override;

    // Plugs a function in at the lowest free slot, or at `slot`; returns the slot. The function
    // must outlive the bridge.
    Result<uint8_t> add(PciFunction& function);
    Result<uint8_t> add(PciFunction& function, uint8_t slot);
    PciFunction* function_at(uint8_t slot) const;

    // Assigns each function's BARs the way firmware would (I/O from 0xC000, MMIO from
    // 0xE0000000, each naturally aligned, in slot order; 64-bit memory BARs too, inside the
    // same 32-bit window the DSDT's _CRS declares), enables the decode of the kinds it has, and
    // sets Interrupt Line to the GSI of its pin. Reports the mappings as BarChanges.
    Result<void> assign_initial_resources();

    // BusDevice for the ports 0xCF8-0xCFF (offsets 0-7).
    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "pci-host-bridge"; }

  private:
    struct Target {
        PciFunction* function;
        uint8_t register_offset;
    };
    // The function and register the address register selects, or nothing (all ones).
    std::optional<Target> selected(uint64_t data_port_offset) const;
    void report(PciFunction& function, std::vector<BarChange> changes);

    BarChangeHandler on_bar_change_;
    std::unique_ptr<PciFunction> self_;  // the bridge's own 00:00.0
    std::array<PciFunction*, kSlotCount> slots_{};
    uint32_t config_address_ = 0;
    mutable std::mutex mutex_;
};

}  // namespace hvmm::pci
