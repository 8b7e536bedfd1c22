// An MSI-X table and Pending Bit Array (PCI Local Bus 3.0, 6.8.2), apart from any device: the
// entries the guest programs (message address, data, per-vector mask), the function-level
// enable and mask from the capability's Message Control, and the pending bits. It decides
// whether a vector may fire and which message it is; delivering it is the owner's business
// (through an MsiRouter), so this layer knows nothing of eventfds, KVM or virtio.
//
// Threads: none of its own; the owner serialises every call under its lock.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "irq/msi_router.h"

namespace hvmm::pci {

class MsixTable {
  public:
    static constexpr uint16_t kMaxVectors = 2048;  // Table Size is 11 bits (N - 1)
    static constexpr uint32_t kEntrySize = 16;
    static constexpr uint32_t kCapabilityBodySize = 10;  // after the ID and next pointer

    // Message Control bits (capability offset 2).
    static constexpr uint16_t kControlTableSizeMask = 0x07FF;  // N - 1, read-only
    static constexpr uint16_t kControlFunctionMask = 1u << 14;
    static constexpr uint16_t kControlEnable = 1u << 15;
    // Vector Control bit 0: the vector is masked (every vector starts masked).
    static constexpr uint32_t kVectorControlMasked = 1;

    explicit MsixTable(uint16_t vector_count);

    uint16_t vector_count() const { return static_cast<uint16_t>(entries_.size()); }
    uint32_t table_bytes() const { return vector_count() * kEntrySize; }
    // The PBA is read in qwords: one bit per vector, rounded up to 64.
    uint32_t pba_bytes() const { return ((vector_count() + 63u) / 64u) * 8u; }

    // The capability's body for CapabilityList::add (Message Control, Table Offset/BIR, PBA
    // Offset/BIR) and its writable mask (only Enable and Function Mask). Offsets must be
    // 8-byte aligned.
    std::array<uint8_t, kCapabilityBodySize> capability_body(uint8_t bar, uint32_t table_offset,
                                                             uint32_t pba_offset) const;
    static std::array<uint8_t, kCapabilityBodySize> capability_writable();
    // Message Control's offset within the capability.
    static constexpr uint8_t kControlOffset = 2;

    // Accesses at offsets from the table's or the PBA's start, of any width; bytes past the end
    // read 0 and writes there do nothing. The PBA is read-only. Returns whether a write changed
    // an entry's message or mask (the owner then re-evaluates its routes).
    void read_table(uint64_t offset, std::span<uint8_t> data) const;
    bool write_table(uint64_t offset, std::span<const uint8_t> data);
    void read_pba(uint64_t offset, std::span<uint8_t> data) const;

    // Message Control as the guest last wrote it.
    void set_control(uint16_t message_control);
    bool enabled() const { return enabled_; }
    bool function_masked() const { return function_masked_; }

    // Whether vector may not fire now: its entry's mask or the function mask. A vector out of
    // range counts as masked.
    bool masked(uint16_t vector) const;
    MsiMessage message(uint16_t vector) const;
    bool pending(uint16_t vector) const;
    void set_pending(uint16_t vector, bool pending);

    // Function reset: every entry zero and masked, nothing pending, MSI-X disabled.
    void reset();

  private:
    struct Entry {
        uint32_t address_low = 0;
        uint32_t address_high = 0;
        uint32_t data = 0;
        uint32_t vector_control = kVectorControlMasked;
    };
    static uint32_t entry_dword(const Entry& entry, uint32_t index);

    std::vector<Entry> entries_;
    std::vector<uint64_t> pending_;
    bool enabled_ = false;
    bool function_masked_ = false;
};

}  // namespace hvmm::pci
