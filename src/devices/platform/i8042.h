// Just enough of the i8042 keyboard controller for a PC guest to reboot: the data (0x60) and
// status/command (0x64) ports, sane status reads, the command byte, and command 0xFE (pulse the
// reset line), which Linux uses with reboot=k. There is no keyboard behind it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>

#include "bus/bus_device.h"
#include "devices/platform/power_events.h"

namespace hvmm {

class I8042 final : public BusDevice {
  public:
    static constexpr uint16_t kDataPort = 0x60;
    static constexpr uint16_t kCommandPort = 0x64;

    explicit I8042(PowerEvents& power) : power_(power) {}

    // Mapped twice: at 0x60 and at 0x64 (one byte each); access.address tells them apart.
    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "i8042"; }

  private:
    std::mutex mutex_;
    uint8_t command_byte_ = 0x00;    // interrupts off, as no keyboard or mouse ever sends data
    std::optional<uint8_t> output_;  // a byte for the guest to read at 0x60
    uint8_t pending_command_ = 0;    // a command that takes a data byte (0x60: write command byte)
    PowerEvents& power_;
};

}  // namespace hvmm
