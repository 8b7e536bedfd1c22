#include "devices/platform/acpi_power.h"

#include <algorithm>

#include "base/log.h"

namespace hvmm {
namespace {
constexpr uint8_t kSleepEnable = 0x20;
constexpr uint8_t kSleepTypeShift = 2;
constexpr uint8_t kSleepTypeMask = 0x07;
enum : uint64_t { kSleepControl = 0, kSleepStatus = 1, kGuestStatus = 2 };
}  // namespace

void AcpiPower::read(const BusAccess& access, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0);
    if (access.offset == kGuestStatus) {
        data[0] = static_cast<uint8_t>(std::max(guest_status_.load(), 0));
    }
}

void AcpiPower::write(const BusAccess& access, std::span<const uint8_t> data) {
    const uint8_t value = data[0];
    switch (access.offset) {
        case kSleepControl: {
            if (!(value & kSleepEnable)) {
                return;
            }
            const uint8_t type = (value >> kSleepTypeShift) & kSleepTypeMask;
            if (type == kSleepTypeSoftOff) {
                power_.poweroff_requested();
            } else {
                static log::RateLimitedWarning warning;
                warning("guest asked for ACPI sleep type {}, which hvmm does not support", type);
            }
            return;
        }
        case kGuestStatus:
            guest_status_.store(value);
            return;
        default:
            return;  // sleep status: write-one-to-clear bits that are never set
    }
}

std::optional<uint8_t> AcpiPower::guest_status() const {
    const int status = guest_status_.load();
    if (status < 0) {
        return std::nullopt;
    }
    return static_cast<uint8_t>(status);
}

}  // namespace hvmm
