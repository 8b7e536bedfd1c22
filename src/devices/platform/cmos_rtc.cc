#include "devices/platform/cmos_rtc.h"

#include <algorithm>

namespace hvmm {
namespace {

constexpr uint8_t kIndexMask = 0x7F;  // bit 7 of the index port is the NMI mask
constexpr uint8_t kStatusBBinary = 0x04;
constexpr uint8_t kStatusB24Hour = 0x02;
constexpr uint8_t kStatusDValid = 0x80;
// 32.768 kHz time base, 1024 Hz periodic rate: what firmware leaves.
constexpr uint8_t kStatusADefault = 0x26;

}  // namespace

CmosRtc::CmosRtc(std::function<std::time_t()> now) : now_(std::move(now)) {
    ram_[static_cast<uint8_t>(Reg::kStatusA)] = kStatusADefault;
    ram_[static_cast<uint8_t>(Reg::kStatusB)] = kStatusB24Hour;
    ram_[static_cast<uint8_t>(Reg::kStatusD)] = kStatusDValid;
}

uint8_t CmosRtc::encode(int value) const {
    if (ram_[static_cast<uint8_t>(Reg::kStatusB)] & kStatusBBinary) {
        return static_cast<uint8_t>(value);
    }
    return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

uint8_t CmosRtc::read_register(uint8_t index) {
    const std::time_t now = now_();
    std::tm utc{};
    gmtime_r(&now, &utc);
    switch (static_cast<Reg>(index)) {
        case Reg::kSeconds:
            return encode(utc.tm_sec);
        case Reg::kMinutes:
            return encode(utc.tm_min);
        case Reg::kHours:
            return encode(utc.tm_hour);  // 24-hour mode only
        case Reg::kDayOfWeek:
            return encode(utc.tm_wday + 1);  // 1 = Sunday
        case Reg::kDayOfMonth:
            return encode(utc.tm_mday);
        case Reg::kMonth:
            return encode(utc.tm_mon + 1);
        case Reg::kYear:
            return encode(utc.tm_year % 100);
        case Reg::kCentury:
            return encode((utc.tm_year + 1900) / 100);
        case Reg::kStatusA:
            // Update-in-progress never set: the host time is read whole on each access.
            return ram_[index] & 0x7F;
        case Reg::kStatusC: {
            const uint8_t flags = ram_[index];
            ram_[index] = 0;
            return flags;
        }
        default:
            return ram_[index];
    }
}

void CmosRtc::read(const BusAccess& access, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    std::fill(data.begin(), data.end(), 0xff);
    if (access.offset == 0) {
        data[0] = index_;
        return;
    }
    data[0] = read_register(index_);
}

void CmosRtc::write(const BusAccess& access, std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    const uint8_t value = data[0];
    if (access.offset == 0) {
        index_ = value & kIndexMask;
        return;
    }
    switch (static_cast<Reg>(index_)) {
        case Reg::kSeconds:
        case Reg::kMinutes:
        case Reg::kHours:
        case Reg::kDayOfWeek:
        case Reg::kDayOfMonth:
        case Reg::kMonth:
        case Reg::kYear:
        case Reg::kCentury:
        case Reg::kStatusC:
        case Reg::kStatusD:
            return;  // the clock and the read-only status registers
        case Reg::kStatusB:
            // 24-hour mode is the only mode: 12-hour requests are not honoured.
            ram_[index_] = value | kStatusB24Hour;
            return;
        default:
            ram_[index_] = value;
            return;
    }
}

}  // namespace hvmm
