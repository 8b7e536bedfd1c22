#include "boot/e820.h"

#include <algorithm>

namespace hvmm::boot {

Result<std::vector<E820Entry>> build_e820_map(const GuestMemory& memory) {
    std::vector<E820Entry> map;
    auto add = [&map](uint64_t start, uint64_t end, uint32_t type) {
        if (start < end) {
            map.push_back(E820Entry{start, end - start, type});
        }
    };
    for (const auto& region : memory.regions()) {
        const uint64_t start = region.guest_base.value;
        const uint64_t end = start + region.size;  // GuestMemory refuses regions that overflow
        add(start, std::min(end, kLegacyHoleStart), kE820Ram);
        add(std::max(start, kLegacyHoleEnd), end, kE820Ram);
    }
    add(kLegacyHoleStart, kLegacyHoleEnd, kE820Reserved);
    std::sort(map.begin(), map.end(),
              [](const E820Entry& a, const E820Entry& b) { return a.address < b.address; });
    if (map.size() > kE820MaxEntries) {
        return fail("guest memory has {} ranges; the e820 map holds at most {}", map.size(),
                    kE820MaxEntries);
    }
    return map;
}

}  // namespace hvmm::boot
