// A guest-physical address: a distinct type so it is never mixed up with a host pointer or a size.
#pragma once

#include <compare>
#include <cstdint>

namespace hvmm {

struct GuestAddress {
    uint64_t value = 0;
    constexpr GuestAddress() = default;
    constexpr explicit GuestAddress(uint64_t v) : value(v) {}
    constexpr auto operator<=>(const GuestAddress&) const = default;
};

}  // namespace hvmm
