#include "boot/cmdline.h"

#include <algorithm>
#include <vector>

#include "boot/guest_writes.h"

namespace hvmm::boot {

Result<void> write_cmdline(const GuestMemory& memory, std::string_view cmdline,
                           uint32_t kernel_cmdline_size) {
    const uint32_t limit = std::min(kernel_cmdline_size, kCmdlineMaxLength);
    if (cmdline.size() > limit) {
        return fail("the kernel command line is {} characters long; at most {} are allowed",
                    cmdline.size(), limit);
    }
    if (cmdline.find('\0') != std::string_view::npos) {
        return fail("the kernel command line contains a NUL character");
    }
    std::vector<uint8_t> bytes(cmdline.begin(), cmdline.end());
    bytes.push_back(0);
    return write_guest(memory, kCmdlineAddress, bytes, "kernel command line");
}

}  // namespace hvmm::boot
