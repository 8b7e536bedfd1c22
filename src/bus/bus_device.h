// What a device on the I/O-port or MMIO bus sees of an access.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace hvmm {

struct BusAccess {
    uint64_t address;  // absolute port or guest-physical address
    uint64_t offset;   // from the start of the device's range: what the device decodes
    uint32_t vcpu;     // which vCPU made the access
};

class BusDevice {
public:
    virtual ~BusDevice() = default;
    // data.size() is the access width (1, 2, 4 or 8). A read fills all of data.
    virtual void read(const BusAccess& access, std::span<uint8_t> data) = 0;
    virtual void write(const BusAccess& access, std::span<const uint8_t> data) = 0;
    virtual std::string_view name() const = 0;
};

}  // namespace hvmm
