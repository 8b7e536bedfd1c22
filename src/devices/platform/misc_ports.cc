#include "devices/platform/misc_ports.h"

#include <algorithm>

namespace hvmm {
namespace {
constexpr uint8_t kRefreshToggle = 0x10;
constexpr uint8_t kPortBWritable = 0x0F;
}  // namespace

void MiscPorts::read(const BusAccess& access, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0);
    if (access.address == kSystemControlPortB) {
        data[0] = port_b_.fetch_xor(kRefreshToggle, std::memory_order_relaxed);
    }
}

void MiscPorts::write(const BusAccess& access, std::span<const uint8_t> data) {
    if (access.address == kSystemControlPortB) {
        const uint8_t toggle = port_b_.load(std::memory_order_relaxed) & kRefreshToggle;
        port_b_.store(toggle | (data[0] & kPortBWritable), std::memory_order_relaxed);
    }
}

}  // namespace hvmm
