#include "memory/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>

#include <algorithm>

#include "base/checked.h"

namespace hvmm {
namespace {

constexpr uint64_t kPageSize = 4096;

// Guest RAM is mapped 2 MiB aligned and marked for transparent huge pages: KVM maps a 2 MiB
// guest page with one nested-paging entry only when the host address is 2 MiB aligned too. Under
// nested virtualization (the lab) every 4 KiB nested-paging fault is a trip through the outer
// hypervisor, and a boot touches tens of thousands of pages.
constexpr uint64_t kHugePageSize = 2ull << 20;

Result<uint8_t*> map_anonymous(uint64_t size) {
    // Over-map by one huge page, then trim the unaligned head and the tail.
    const uint64_t padded = size + kHugePageSize;
    // MAP_NORESERVE: a guest given 16 GiB that touches 200 MiB costs the host 200 MiB.
    void* mapped = ::mmap(nullptr, padded, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapped == MAP_FAILED) {
        return fail_errno("cannot map {} MiB of guest RAM", size >> 20);
    }
    const auto start = reinterpret_cast<uintptr_t>(mapped);
    const uintptr_t aligned = (start + kHugePageSize - 1) & ~(kHugePageSize - 1);
    if (aligned > start) {
        ::munmap(mapped, aligned - start);
    }
    const uintptr_t tail = aligned + size;
    const uintptr_t mapped_end = start + padded;
    if (mapped_end > tail) {
        ::munmap(reinterpret_cast<void*>(tail), mapped_end - tail);
    }
    auto* host = reinterpret_cast<uint8_t*>(aligned);
    // Advice only: a host with THP off still works, with 4 KiB pages.
    ::madvise(host, size, MADV_HUGEPAGE);
    // The guest's memory is the guest owner's, not hvmm's to spill: no core dump of hvmm carries
    // it, and no child process (a fork by any library) gets a copy of it.
    if (::madvise(host, size, MADV_DONTDUMP) != 0 || ::madvise(host, size, MADV_DONTFORK) != 0) {
        const int error = errno;
        ::munmap(host, size);
        errno = error;
        return fail_errno("cannot keep guest RAM out of core dumps and forks");
    }
    return host;
}

}  // namespace

Result<GuestMemory> GuestMemory::create(uint64_t size_bytes) {
    if (size_bytes < kMinimumSize) {
        return fail("guest memory of {} MiB is too small: at least {} MiB is needed", size_bytes >> 20,
                    kMinimumSize >> 20);
    }
    if (size_bytes % kPageSize != 0) {
        return fail("guest memory size {} is not a multiple of 4 KiB", size_bytes);
    }
    std::vector<std::pair<uint64_t, uint64_t>> layout;
    const uint64_t low = std::min(size_bytes, kPciHoleStart);
    layout.emplace_back(0, low);
    if (size_bytes > low) {
        layout.emplace_back(kPciHoleEnd, size_bytes - low);
    }
    return create_with_regions(layout);
}

Result<GuestMemory> GuestMemory::create_with_regions(
    std::span<const std::pair<uint64_t, uint64_t>> base_and_size) {
    GuestMemory memory;
    for (const auto& [base, size] : base_and_size) {
        if (size == 0 || !checked_add(base, size)) {
            return fail("guest memory region at {:#x} of size {:#x} is empty or overflows", base, size);
        }
        for (const auto& existing : memory.regions_) {
            const uint64_t existing_end = existing.guest_base.value + existing.size;
            if (base < existing_end && existing.guest_base.value < base + size) {
                return fail("guest memory region at {:#x} overlaps the one at {:#x}", base,
                            existing.guest_base.value);
            }
        }
        uint8_t* host = HVMM_TRY(map_anonymous(size));
        memory.regions_.push_back(MemoryRegion{GuestAddress(base), size, host});
    }
    std::sort(memory.regions_.begin(), memory.regions_.end(),
              [](const auto& a, const auto& b) { return a.guest_base < b.guest_base; });
    return memory;
}

GuestMemory::GuestMemory(GuestMemory&& other) noexcept : regions_(std::move(other.regions_)) {
    other.regions_.clear();
}

GuestMemory& GuestMemory::operator=(GuestMemory&& other) noexcept {
    if (this != &other) {
        this->~GuestMemory();
        new (this) GuestMemory(std::move(other));
    }
    return *this;
}

GuestMemory::~GuestMemory() {
    for (const auto& region : regions_) {
        ::munmap(region.host, region.size);
    }
}

uint64_t GuestMemory::total_size() const {
    uint64_t total = 0;
    for (const auto& region : regions_) {
        total += region.size;
    }
    return total;
}

uint64_t GuestMemory::low_ram_end() const {
    return regions_.empty() ? 0 : regions_.front().guest_base.value + regions_.front().size;
}

std::optional<std::span<uint8_t>> GuestMemory::span(GuestAddress address, uint64_t length) const {
    for (const auto& region : regions_) {
        const uint64_t base = region.guest_base.value;
        if (address.value < base) {
            continue;
        }
        const uint64_t offset = address.value - base;
        // Whole range inside this one region, with no overflow of offset + length.
        if (offset <= region.size && range_within(offset, length, region.size)) {
            return std::span<uint8_t>(region.host + offset, length);
        }
    }
    return std::nullopt;
}

bool GuestMemory::read(GuestAddress address, std::span<uint8_t> out) const {
    const auto source = span(address, out.size());
    if (!source) {
        return false;
    }
    std::memcpy(out.data(), source->data(), out.size());
    return true;
}

bool GuestMemory::write(GuestAddress address, std::span<const uint8_t> in) const {
    const auto target = span(address, in.size());
    if (!target) {
        return false;
    }
    std::memcpy(target->data(), in.data(), in.size());
    return true;
}

}  // namespace hvmm
