// Overflow-checked arithmetic for values a guest controls.
#pragma once

#include <cstdint>
#include <optional>

namespace hvmm {

// a + b, or nothing if it overflows.
inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) {
    uint64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum)) {
        return std::nullopt;
    }
    return sum;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) {
    uint64_t product = 0;
    if (__builtin_mul_overflow(a, b, &product)) {
        return std::nullopt;
    }
    return product;
}

// True when [base, base + length) fits inside [0, limit) without overflow.
inline bool range_within(uint64_t base, uint64_t length, uint64_t limit) {
    const auto end = checked_add(base, length);
    return end && *end <= limit;
}

}  // namespace hvmm
