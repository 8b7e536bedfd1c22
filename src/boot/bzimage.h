// A bzImage split into what the 64-bit boot protocol needs: the setup header (copied into the zero
// page) and the protected-mode kernel (loaded at 0x100000). Everything in the file is checked
// before it is trusted, and each refusal names the file and the problem in one line.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "boot/boot_params.h"

namespace hvmm::boot {

// The oldest protocol with xloadflags, which says whether the 64-bit entry exists.
constexpr uint16_t kMinimumBootProtocol = 0x020C;
// No kernel hvmm boots comes close; a bigger file is a wrong path, not a kernel.
constexpr uint64_t kMaximumBzImageSize = 256ull << 20;

struct BzImage {
    SetupHeader header;
    // Bytes of the setup header the image itself declares (from 0x1F1 to 0x202 + byte 0x201):
    // exactly these are copied into the zero page, so a newer loader field the kernel does not
    // know stays zero.
    uint32_t header_length;
    uint32_t setup_size;          // real-mode part, boot sector included
    std::vector<uint8_t> kernel;  // the protected-mode part, loaded at 0x100000
};

// name is how the image is named in errors (its path).
Result<BzImage> parse_bzimage(std::span<const uint8_t> file, std::string_view name);

// Reads and parses the file at path.
Result<BzImage> read_bzimage(const std::string& path);

}  // namespace hvmm::boot
