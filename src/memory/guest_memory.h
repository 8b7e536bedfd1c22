// Guest RAM: host mappings placed at guest-physical addresses, with the PCI hole below 4 GiB left
// for device MMIO. Every access checks its whole range, with overflow-checked arithmetic, before
// any pointer is handed out; a range that straddles two regions is refused.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

#include "base/error.h"
#include "memory/dma.h"
#include "memory/guest_address.h"

namespace hvmm {

struct MemoryRegion {
    GuestAddress guest_base;
    uint64_t size;
    uint8_t* host;  // owned by GuestMemory
};

class GuestMemory {
public:
    // Guest RAM below this stays below the PCI hole; above it, RAM resumes at 4 GiB.
    static constexpr uint64_t kPciHoleStart = 0xC000'0000;  // 3 GiB
    static constexpr uint64_t kPciHoleEnd = 0x1'0000'0000;  // 4 GiB
    static constexpr uint64_t kMinimumSize = 64ull << 20;

    // Maps size_bytes of RAM (a multiple of 4 KiB, at least kMinimumSize).
    static Result<GuestMemory> create(uint64_t size_bytes);
    // A layout from explicit regions, for tests (regions must not overlap).
    static Result<GuestMemory> create_with_regions(std::span<const std::pair<uint64_t, uint64_t>> base_and_size);

    GuestMemory(GuestMemory&&) noexcept;
    GuestMemory& operator=(GuestMemory&&) noexcept;
    GuestMemory(const GuestMemory&) = delete;
    GuestMemory& operator=(const GuestMemory&) = delete;
    ~GuestMemory();

    const std::vector<MemoryRegion>& regions() const { return regions_; }
    uint64_t total_size() const;
    // The end of RAM below the PCI hole (where e820's first RAM range ends).
    uint64_t low_ram_end() const;

    // The host bytes backing [address, address + length), or nothing if any byte of it is outside
    // one region (including when address + length overflows). A zero length is valid.
    std::optional<std::span<uint8_t>> span(GuestAddress address, uint64_t length) const;
    bool contains(GuestAddress address, uint64_t length) const { return span(address, length).has_value(); }

    bool read(GuestAddress address, std::span<uint8_t> out) const;
    bool write(GuestAddress address, std::span<const uint8_t> in) const;

    // Little-endian plain-data values (x86 guests, x86 hosts).
    template <class T>
    std::optional<T> read_obj(GuestAddress address) const {
        static_assert(std::is_trivially_copyable_v<T>);
        T value;
        if (!read(address, std::span(reinterpret_cast<uint8_t*>(&value), sizeof(T)))) {
            return std::nullopt;
        }
        return value;
    }
    template <class T>
    bool write_obj(GuestAddress address, const T& value) const {
        static_assert(std::is_trivially_copyable_v<T>);
        return write(address, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
    }

private:
    GuestMemory() = default;
    std::vector<MemoryRegion> regions_;
};

// DMA straight into guest RAM, for devices wired to a VM.
class GuestMemoryDma final : public DmaSpace {
public:
    explicit GuestMemoryDma(const GuestMemory& memory) : memory_(memory) {}
    bool read(uint64_t address, std::span<uint8_t> out) override {
        return memory_.read(GuestAddress(address), out);
    }
    bool write(uint64_t address, std::span<const uint8_t> in) override {
        return memory_.write(GuestAddress(address), in);
    }

private:
    const GuestMemory& memory_;
};

}  // namespace hvmm
