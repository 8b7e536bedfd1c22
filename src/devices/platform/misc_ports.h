// Ports a PC guest touches that need no behaviour: 0x80 (POST codes, also an I/O delay), 0xED
// (another I/O delay port) and 0x61 (system control port B, PIT channel 2 gate and speaker).
// Writes are dropped; reads return 0 (0x61: with the refresh toggle bit flipping, since some
// delay loops wait for it to change).
#pragma once

#include <atomic>

#include "bus/bus_device.h"

namespace hvmm {

class MiscPorts final : public BusDevice {
  public:
    static constexpr uint16_t kPostCodePort = 0x80;
    static constexpr uint16_t kDelayPort = 0xED;
    static constexpr uint16_t kSystemControlPortB = 0x61;

    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "misc-ports"; }

  private:
    std::atomic<uint8_t> port_b_{0};
};

}  // namespace hvmm
