// A minimal well-formed bzImage around a given protected-mode payload: what the loader's tests
// parse and load, and how a KVM test can run a tiny 64-bit program through the real boot path
// (its first instruction at payload offset 0x200, the 64-bit entry).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "boot/boot_params.h"

namespace hvmm::boot {

struct SyntheticBzImageOptions {
    uint8_t setup_sects = 1;
    uint16_t version = 0x020F;
    uint16_t xloadflags = kXlfKernel64 | kXlfCanBeLoadedAbove4G;
    uint32_t initrd_addr_max = 0x7FFF'FFFF;
    uint32_t cmdline_size = 2047;
    uint64_t pref_address = 0x100'0000;
    // 0: the payload's size rounded up to 4 KiB.
    uint32_t init_size = 0;
};

std::vector<uint8_t> make_synthetic_bzimage(std::span<const uint8_t> payload,
                                            const SyntheticBzImageOptions& options = {});

}  // namespace hvmm::boot
