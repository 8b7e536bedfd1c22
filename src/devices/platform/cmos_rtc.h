// The CMOS real-time clock (Motorola MC146818A) at ports 0x70 (index) and 0x71 (data): the
// host's current UTC time in BCD or binary as register B says, 24-hour mode, registers A-D, and
// the rest of the 128-byte CMOS RAM as plain storage. The clock is read from the host on each
// access, so it never drifts; a guest's write to a time register is ignored (it cannot set the
// host's clock, and Linux only writes it when told to with hwclock).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <functional>
#include <mutex>

#include "bus/bus_device.h"

namespace hvmm {

class CmosRtc final : public BusDevice {
  public:
    static constexpr uint16_t kIndexPort = 0x70;
    static constexpr uint16_t kDataPort = 0x71;

    // Register indexes.
    enum class Reg : uint8_t {
        kSeconds = 0x00,
        kMinutes = 0x02,
        kHours = 0x04,
        kDayOfWeek = 0x06,
        kDayOfMonth = 0x07,
        kMonth = 0x08,
        kYear = 0x09,
        kStatusA = 0x0A,  // update in progress (bit 7), divider and rate
        kStatusB = 0x0B,  // bit 2 binary mode, bit 1 24-hour mode
        kStatusC = 0x0C,  // interrupt flags, cleared on read
        kStatusD = 0x0D,  // bit 7: RAM and time valid
        kCentury = 0x32,  // what ACPI's FADT names by default
    };

    // now returns the UTC time to report; tests pass a fixed one.
    explicit CmosRtc(std::function<std::time_t()> now = [] { return std::time(nullptr); });

    // Mapped over both ports (base 0x70, length 2).
    void read(const BusAccess& access, std::span<uint8_t> data) override;
    void write(const BusAccess& access, std::span<const uint8_t> data) override;
    std::string_view name() const override { return "cmos-rtc"; }

  private:
    uint8_t read_register(uint8_t index);
    uint8_t encode(int value) const;

    std::function<std::time_t()> now_;
    std::mutex mutex_;
    uint8_t index_ = 0;
    std::array<uint8_t, 128> ram_{};
};

}  // namespace hvmm
