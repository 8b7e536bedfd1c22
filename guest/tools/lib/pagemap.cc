#include "pagemap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace guest_tools {

uint64_t physical_address(const void* virt, FailFunction fail) {
    const int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(std::string("cannot open /proc/self/pagemap: ") + strerror(errno));
    uint64_t entry = 0;
    const off_t at = static_cast<off_t>(reinterpret_cast<uintptr_t>(virt) / kPageSize * 8);
    const ssize_t n = pread(fd, &entry, sizeof entry, at);
    close(fd);
    const uint64_t pfn = entry & ((uint64_t{1} << 55) - 1);
    if (n != sizeof entry || !(entry >> 63) || pfn == 0)
        fail("no page frame number in pagemap (not root, or the page is not present)");
    return pfn * kPageSize;
}

}  // namespace guest_tools
