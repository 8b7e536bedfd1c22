// The guest memory a bus-mastering device reads and writes. Devices take this interface, so their
// tests use a fake and the PCI glue can refuse DMA while bus mastering is off.
#pragma once

#include <cstdint>
#include <span>

namespace hvmm {

class DmaSpace {
public:
    virtual ~DmaSpace() = default;
    // Each returns false, touching nothing, if any byte of the range is outside guest RAM or DMA
    // is not allowed; the device then reports the error the way its chip would (PCnet: MERR).
    virtual bool read(uint64_t address, std::span<uint8_t> out) = 0;
    virtual bool write(uint64_t address, std::span<const uint8_t> in) = 0;
};

}  // namespace hvmm
