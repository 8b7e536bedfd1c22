// Checked writes of boot structures into guest memory: a range outside guest RAM becomes an error
// naming what did not fit, so a too-small or oddly shaped guest fails with a message, not a crash.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <type_traits>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

Result<void> write_guest(const GuestMemory& memory, uint64_t address,
                         std::span<const uint8_t> bytes, std::string_view what);

template <class T>
Result<void> write_guest_obj(const GuestMemory& memory, uint64_t address, const T& value,
                             std::string_view what) {
    static_assert(std::is_trivially_copyable_v<T>);
    return write_guest(memory, address,
                       std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)), what);
}

// The guest bytes [address, address + length) for filling in place (a file read straight into
// guest RAM), or the same error as write_guest.
Result<std::span<uint8_t>> guest_range(const GuestMemory& memory, uint64_t address, uint64_t length,
                                       std::string_view what);

// The end of the guest RAM region that contains address, or 0 if address is not RAM: how far
// memory runs on contiguously from the kernel, whatever the regions' layout.
uint64_t contiguous_ram_end(const GuestMemory& memory, uint64_t address);

}  // namespace hvmm::boot
