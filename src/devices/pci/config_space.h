// A type-0 PCI configuration space: 256 bytes, a writable mask and a write-1-to-clear mask per
// byte, and up to six BARs (I/O, 32-bit memory, or 64-bit memory taking a pair of BAR slots). It
// knows which BARs are decoded where, so a write that moves or enables one reports the move; it
// knows nothing of buses or devices. Capabilities are laid into it by CapabilityList.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "devices/pci/pci_registers.h"

namespace hvmm::pci {

enum class BarKind : uint8_t { kIo, kMmio };

struct BarSpec {
    BarKind kind = BarKind::kIo;
    uint32_t size = 0;  // a power of two: at least 4 for I/O, 16 for memory
    bool prefetchable = false;
    // A 64-bit memory BAR (type 10b): it takes slots index and index + 1, the second holding the
    // upper 32 address bits. The guest may then place it above 4 GiB.
    bool is_64bit = false;
};

// What a function's configuration header says about itself.
struct FunctionIdentity {
    uint16_t vendor_id = 0xFFFF;
    uint16_t device_id = 0xFFFF;
    uint8_t revision_id = 0;
    uint32_t class_code = 0;  // base class << 16 | subclass << 8 | programming interface
    uint16_t subsystem_vendor_id = 0;
    uint16_t subsystem_id = 0;
    uint8_t interrupt_pin = 0;  // 0 = none, 1 = INTA# .. 4 = INTD#
    uint8_t min_gnt = 0;
    uint8_t max_lat = 0;
    // Read-only status bits the part reports (DEVSEL timing, fast back-to-back capable).
    uint16_t status = 0;
    // The command bits the part implements; the rest read as 0. PCI 2.1 parts have no Interrupt
    // Disable, so it is not in the default.
    uint16_t implemented_command_bits =
        bits(CommandBit::kIoSpace) | bits(CommandBit::kMemorySpace) | bits(CommandBit::kBusMaster) |
        bits(CommandBit::kParityErrorResponse) | bits(CommandBit::kSerrEnable);
};

// One BAR's effect on a bus: added (no old base), removed (no new base) or moved.
class PciFunction;
struct BarChange {
    PciFunction* function = nullptr;  // filled in by the host bridge; nullptr from ConfigSpace
    uint8_t bar = 0;
    BarKind kind = BarKind::kIo;
    std::optional<uint64_t> old_base;
    std::optional<uint64_t> new_base;
    uint64_t size = 0;
    bool operator==(const BarChange&) const = default;
};

class ConfigSpace {
  public:
    explicit ConfigSpace(const FunctionIdentity& identity);

    // Declares BAR `index` before the function is plugged in. Refuses a size that is not a
    // power of two or too small for its kind, and an index out of range or already used (a
    // 64-bit BAR also needs index + 1 free and in range; an I/O BAR cannot be 64-bit).
    Result<void> define_bar(int index, const BarSpec& spec);

    // Reads bytes at [offset, offset + data.size()); bytes past 255 read as all ones.
    void read(uint8_t offset, std::span<uint8_t> data) const;
    // Writes through the per-byte masks and returns each BAR whose decoded range changed.
    std::vector<BarChange> write(uint8_t offset, std::span<const uint8_t> data);

    uint32_t read32(uint8_t offset) const;
    uint16_t read16(uint8_t offset) const;
    uint8_t read8(uint8_t offset) const { return bytes_[offset]; }

    uint16_t command() const { return read16(offset_of(ConfigRegister::kCommand)); }
    uint16_t status() const { return read16(offset_of(ConfigRegister::kStatus)); }
    // The BAR declared at index; nothing for the upper half of a 64-bit BAR.
    const std::optional<BarSpec>& bar_spec(int index) const { return bars_.at(index); }
    // The base the BAR holds now, whether or not it is decoded (both halves of a 64-bit BAR).
    uint64_t bar_base(int index) const;
    // Where the BAR is decoded: its base when its decode is enabled and the base is usable.
    std::optional<uint64_t> decoded_base(int index) const;

    // Device-side updates that bypass the guest's masks: the device sets status error bits or
    // the interrupt-status bit; firmware-like setup sets Interrupt Line.
    void set_status_bits(uint16_t mask, bool set);
    void set_interrupt_line(uint8_t line) {
        bytes_[offset_of(ConfigRegister::kInterruptLine)] = line;
    }
    // Device-side setup of bytes past the header (capabilities): their value, and which bits
    // the guest may write. offset + size must stay within the 256 bytes (checked: aborts).
    void set_device_bytes(uint8_t offset, std::span<const uint8_t> data);
    void set_writable_mask(uint8_t offset, std::span<const uint8_t> mask);

  private:
    using Decoded = std::array<std::optional<uint64_t>, kBarCount>;
    Decoded decoded_all() const;
    void set16(uint8_t offset, uint16_t value);
    void set32(uint8_t offset, uint32_t value);

    std::array<uint8_t, kConfigSpaceSize> bytes_{};
    std::array<uint8_t, kConfigSpaceSize> writable_{};
    std::array<uint8_t, kConfigSpaceSize> write_one_to_clear_{};
    std::array<std::optional<BarSpec>, kBarCount> bars_{};
    std::array<bool, kBarCount> upper_half_{};  // slot holds a 64-bit BAR's upper 32 bits
};

}  // namespace hvmm::pci
