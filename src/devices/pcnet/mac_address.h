// A 48-bit Ethernet station address, in wire order.
#pragma once

#include <array>
#include <cstdint>

namespace hvmm {

struct MacAddress {
    std::array<uint8_t, 6> bytes;
    bool operator==(const MacAddress&) const = default;
};

}  // namespace hvmm
