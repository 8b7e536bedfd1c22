#include "bus/bus.h"

#include <algorithm>
#include <mutex>

#include "base/checked.h"
#include "base/log.h"

namespace hvmm {

Result<void> Bus::insert(BusDevice& device, uint64_t base, uint64_t length) {
    if (length == 0) {
        return fail("{} range for {} at {:#x} has zero length", name_, device.name(), base);
    }
    // The range's last byte must be representable: base + length may equal 2^64 exactly.
    if (base > UINT64_MAX - (length - 1)) {
        return fail("{} range for {} at {:#x} of length {:#x} wraps past the end of the space",
                    name_, device.name(), base, length);
    }
    const uint64_t last = base + (length - 1);
    std::unique_lock lock(mutex_);
    // Only the range starting at or below `last` and nearest it can overlap, plus nothing else:
    // ranges are disjoint and sorted by base.
    auto next = by_base_.upper_bound(last);
    if (next != by_base_.begin()) {
        const Mapping& before = std::prev(next)->second;
        if (before.base + (before.length - 1) >= base) {
            return fail("{} range {:#x}-{:#x} for {} overlaps {:#x}-{:#x} of {}", name_, base, last,
                        device.name(), before.base, before.base + (before.length - 1),
                        before.device->name());
        }
    }
    by_base_.emplace(base, Mapping{base, length, &device});
    return {};
}

bool Bus::remove(BusDevice& device, uint64_t base) {
    std::unique_lock lock(mutex_);
    const auto found = by_base_.find(base);
    if (found == by_base_.end() || found->second.device != &device) {
        return false;
    }
    by_base_.erase(found);
    return true;
}

std::optional<Bus::Mapping> Bus::find(uint64_t address, uint64_t size) const {
    std::shared_lock lock(mutex_);
    auto next = by_base_.upper_bound(address);
    if (next == by_base_.begin()) {
        return std::nullopt;
    }
    const Mapping& candidate = std::prev(next)->second;
    const uint64_t offset = address - candidate.base;
    // The whole access must lie inside the range (offset < length and no overflow).
    if (offset >= candidate.length || size > candidate.length - offset) {
        return std::nullopt;
    }
    return candidate;
}

void Bus::note_unmapped(uint64_t address, size_t size, bool is_write, uint32_t vcpu) {
    unmapped_.fetch_add(1, std::memory_order_relaxed);
    // Guests probe absent hardware as a matter of course (Linux looks for floppies, parallel
    // ports, a second UART): counted always, described only when asked for with -v.
    if (log::level() < log::Level::kInfo) {
        return;
    }
    static log::RateLimitedWarning warning;
    warning("vCPU {}: unmapped {} {} of {} byte(s) at {:#x}", vcpu, name_,
            is_write ? "write" : "read", size, address);
}

BusDevice* Bus::dispatch_read(uint64_t address, std::span<uint8_t> data, uint32_t vcpu) {
    const auto mapping = find(address, data.size());
    if (!mapping) {
        std::fill(data.begin(), data.end(), 0xff);
        note_unmapped(address, data.size(), false, vcpu);
        return nullptr;
    }
    mapping->device->read(BusAccess{address, address - mapping->base, vcpu}, data);
    return mapping->device;
}

BusDevice* Bus::dispatch_write(uint64_t address, std::span<const uint8_t> data, uint32_t vcpu) {
    const auto mapping = find(address, data.size());
    if (!mapping) {
        note_unmapped(address, data.size(), true, vcpu);
        return nullptr;
    }
    mapping->device->write(BusAccess{address, address - mapping->base, vcpu}, data);
    return mapping->device;
}

bool Bus::read(uint64_t address, std::span<uint8_t> data, uint32_t vcpu) {
    return dispatch_read(address, data, vcpu) != nullptr;
}

bool Bus::write(uint64_t address, std::span<const uint8_t> data, uint32_t vcpu) {
    return dispatch_write(address, data, vcpu) != nullptr;
}

}  // namespace hvmm
