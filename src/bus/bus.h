// An address space of devices: used twice, as the I/O-port bus and the MMIO bus. Devices see
// the offset into their range; the bus holds plain references (the VMM owns the devices, which
// outlive the bus's use of them).
//
// Thread safety: lookups take a shared lock that is released before the device is called, so a
// device may remap ranges (a PCI BAR write reaching insert/remove) from inside its own handler,
// and other vCPUs keep dispatching while one remaps.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>

#include "base/error.h"
#include "bus/bus_device.h"

namespace hvmm {

class Bus {
  public:
    // name ("I/O port", "MMIO") appears in messages.
    explicit Bus(std::string name) : name_(std::move(name)) {}
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    // Maps device at [base, base + length). Refuses a zero length, a range that wraps past the
    // top of the address space, and one overlapping a mapped range.
    Result<void> insert(BusDevice& device, uint64_t base, uint64_t length);
    // Unmaps the range of device that starts at base; false if there is none.
    bool remove(BusDevice& device, uint64_t base);

    // Dispatch one access; false when no device maps the address (a read then returns all ones).
    // An access that runs past the end of its device's range is unmapped too.
    bool read(uint64_t address, std::span<uint8_t> data, uint32_t vcpu);
    bool write(uint64_t address, std::span<const uint8_t> data, uint32_t vcpu);
    // The same, returning the device that handled the access (for per-device statistics).
    BusDevice* dispatch_read(uint64_t address, std::span<uint8_t> data, uint32_t vcpu);
    BusDevice* dispatch_write(uint64_t address, std::span<const uint8_t> data, uint32_t vcpu);

    uint64_t unmapped_accesses() const { return unmapped_.load(std::memory_order_relaxed); }
    const std::string& name() const { return name_; }

    struct Mapping {
        uint64_t base;
        uint64_t length;
        BusDevice* device;
    };
    // The device mapping address, if any (a copy: valid after the lock is released).
    std::optional<Mapping> find(uint64_t address, uint64_t size = 1) const;

  private:
    void note_unmapped(uint64_t address, size_t size, bool is_write, uint32_t vcpu);

    std::string name_;
    mutable std::shared_mutex mutex_;
    std::map<uint64_t, Mapping> by_base_;
    std::atomic<uint64_t> unmapped_{0};
};

// Two names so signatures say which address space they expect.
class IoBus : public Bus {
  public:
    IoBus() : Bus("I/O port") {}
};
class MmioBus : public Bus {
  public:
    MmioBus() : Bus("MMIO") {}
};

}  // namespace hvmm
