// The hardware-reduced ACPI sleep registers and hvmm's guest status port (docs/CONTRACTS.md):
//   0x600 sleep control: writing SLP_EN (bit 5) with SLP_TYP (bits 2-4) = 5 powers off (the
//         DSDT's \_S5 package names type 5);
//   0x601 sleep status: WAK_STS (bit 7), never set since the guest never wakes;
//   0x602 guest status: the default image's /init writes its command's exit status here.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "bus/bus_device.h"
#include "devices/platform/power_events.h"

namespace hvmm {

class AcpiPower final : public BusDevice {
  public:
    static constexpr uint16_t kBase = 0x600;
    static constexpr uint16_t kPortCount = 3;
    static constexpr uint8_t kSleepTypeSoftOff = 5;

    explicit AcpiPower(PowerEvents& power) : power_(power) {}

    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "acpi-power"; }

    // The last status the guest wrote to 0x602, if any.
    std::optional<uint8_t> guest_status() const;

  private:
    PowerEvents& power_;
    std::atomic<int> guest_status_{-1};
};

}  // namespace hvmm
