// The kernel command line, NUL-terminated at a fixed guest address the zero page points to.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"
#include "memory/guest_memory.h"

namespace hvmm::boot {

constexpr uint64_t kCmdlineAddress = 0x20000;
// hvmm reserves 2048 bytes for it (docs/CONTRACTS.md): 2047 characters and the NUL.
constexpr uint32_t kCmdlineMaxLength = 2047;

// Refuses a line longer than the kernel's cmdline_size (its header's limit without the NUL) or
// than hvmm's buffer, and a line containing a NUL byte (the kernel would silently cut it there).
Result<void> write_cmdline(const GuestMemory& memory, std::string_view cmdline,
                           uint32_t kernel_cmdline_size);

}  // namespace hvmm::boot
