// A DmaSpace that lets a PCI function reach guest memory only while its command register's Bus
// Master bit is set: a device the guest has not (or no longer) allowed to master the bus does
// no DMA at all, the way the hardware cannot start a bus cycle.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>

#include "memory/dma.h"

namespace hvmm::pci {

class BusMasterDma final : public DmaSpace {
  public:
    explicit BusMasterDma(DmaSpace& memory) : memory_(memory) {}

    // Follows the command register; the vCPU thread writes it, the I/O thread reads it.
    void set_enabled(bool enabled) { enabled_.store(enabled, std::memory_order_release); }
    bool enabled() const { return enabled_.load(std::memory_order_acquire); }
    uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

    bool read(uint64_t address, std::span<uint8_t> out) override {
        if (!enabled()) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        return memory_.read(address, out);
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        if (!enabled()) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        return memory_.write(address, in);
    }

  private:
    DmaSpace& memory_;
    std::atomic<bool> enabled_{false};
    std::atomic<uint64_t> refused_{0};
};

}  // namespace hvmm::pci
