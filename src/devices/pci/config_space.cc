#include "devices/pci/config_space.h"

#include <algorithm>
#include <bit>
#include <cstdlib>

#include "base/log.h"

namespace hvmm::pci {
namespace {

constexpr uint32_t kMinimumIoBarSize = 4;
constexpr uint32_t kMinimumMemoryBarSize = 16;
// x86 port space ends here: an I/O BAR above it cannot be decoded.
constexpr uint64_t kIoSpaceEnd = 0x10000;
// A 32-bit memory BAR must end below 4 GiB. Requiring it to end strictly below also rejects the
// all-ones pattern of a sizing probe left in place with decode on.
constexpr uint64_t kMemorySpaceEnd = 0x1'0000'0000;
// A 64-bit BAR may sit anywhere a guest-physical address can: x86-64 has at most 52 address
// bits. The same strict "end below" rejects a sizing probe (all ones in both halves).
constexpr uint64_t kMemory64SpaceEnd = uint64_t{1} << 52;
// BAR type bits 2:1 = 10b: a 64-bit memory BAR, the next slot holds the upper address bits.
constexpr uint32_t kBarMemoryType64 = 0x4;

}  // namespace

ConfigSpace::ConfigSpace(const FunctionIdentity& identity) {
    set16(offset_of(ConfigRegister::kVendorId), identity.vendor_id);
    set16(offset_of(ConfigRegister::kDeviceId), identity.device_id);
    set16(offset_of(ConfigRegister::kStatus), identity.status & ~kStatusWriteOneToClear);
    bytes_[offset_of(ConfigRegister::kRevisionId)] = identity.revision_id;
    bytes_[offset_of(ConfigRegister::kClassCode)] = identity.class_code & 0xFF;
    bytes_[offset_of(ConfigRegister::kClassCode) + 1] = (identity.class_code >> 8) & 0xFF;
    bytes_[offset_of(ConfigRegister::kClassCode) + 2] = (identity.class_code >> 16) & 0xFF;
    set16(offset_of(ConfigRegister::kSubsystemVendorId), identity.subsystem_vendor_id);
    set16(offset_of(ConfigRegister::kSubsystemId), identity.subsystem_id);
    bytes_[offset_of(ConfigRegister::kInterruptPin)] = identity.interrupt_pin;
    bytes_[offset_of(ConfigRegister::kMinGnt)] = identity.min_gnt;
    bytes_[offset_of(ConfigRegister::kMaxLat)] = identity.max_lat;

    // Writable: the implemented command bits, the OS's scratch registers, Interrupt Line.
    const uint8_t command = offset_of(ConfigRegister::kCommand);
    writable_[command] = identity.implemented_command_bits & 0xFF;
    writable_[command + 1] = identity.implemented_command_bits >> 8;
    writable_[offset_of(ConfigRegister::kCacheLineSize)] = 0xFF;
    writable_[offset_of(ConfigRegister::kLatencyTimer)] = 0xFF;
    writable_[offset_of(ConfigRegister::kInterruptLine)] = 0xFF;
    const uint8_t status = offset_of(ConfigRegister::kStatus);
    write_one_to_clear_[status] = kStatusWriteOneToClear & 0xFF;
    write_one_to_clear_[status + 1] = kStatusWriteOneToClear >> 8;
}

Result<void> ConfigSpace::define_bar(int index, const BarSpec& spec) {
    if (index < 0 || index >= kBarCount) {
        return fail("PCI BAR index {} is out of range 0-5", index);
    }
    if (bars_[index] || upper_half_[index]) {
        return fail("PCI BAR {} is defined twice", index);
    }
    if (spec.is_64bit) {
        if (spec.kind != BarKind::kMmio) {
            return fail("PCI BAR {} cannot be a 64-bit I/O BAR", index);
        }
        if (index + 1 >= kBarCount || bars_[index + 1] || upper_half_[index + 1]) {
            return fail("PCI BAR {} is 64-bit but slot {} is not free", index, index + 1);
        }
    }
    const uint32_t minimum = spec.kind == BarKind::kIo ? kMinimumIoBarSize : kMinimumMemoryBarSize;
    if (!std::has_single_bit(spec.size) || spec.size < minimum) {
        return fail("PCI BAR {} size {:#x} is not a power of two of at least {}", index, spec.size,
                    minimum);
    }
    bars_[index] = spec;
    // The address bits above the size are writable; the type bits below stay read-only, so a
    // write of all ones reads back the size mask with the type bits, as PCI 3.0 6.2.5.1 says.
    uint32_t type_bits = 0;
    uint32_t address_mask = 0;
    if (spec.kind == BarKind::kIo) {
        type_bits = kBarIoSpaceIndicator;
        address_mask = kBarIoAddressMask;
    } else {
        type_bits = (spec.prefetchable ? kBarMemoryPrefetchable : 0) |
                    (spec.is_64bit ? kBarMemoryType64 : 0);
        address_mask = kBarMemoryAddressMask;
    }
    const uint32_t writable = ~(spec.size - 1) & address_mask;
    const uint8_t offset = bar_offset(index);
    set32(offset, type_bits);
    for (int i = 0; i < 4; ++i) {
        writable_[offset + i] = (writable >> (8 * i)) & 0xFF;
    }
    if (spec.is_64bit) {
        // The upper half: every bit an address bit (sizes stay below 4 GiB, so a write of all
        // ones reads back all ones there, as sizing expects), reading 0 until placed.
        upper_half_[index + 1] = true;
        const uint8_t upper = bar_offset(index + 1);
        set32(upper, 0);
        for (int i = 0; i < 4; ++i) {
            writable_[upper + i] = 0xFF;
        }
    }
    return {};
}

void ConfigSpace::read(uint8_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        const size_t at = size_t{offset} + i;
        data[i] = at < kConfigSpaceSize ? bytes_[at] : 0xFF;
    }
}

std::vector<BarChange> ConfigSpace::write(uint8_t offset, std::span<const uint8_t> data) {
    const Decoded before = decoded_all();
    for (size_t i = 0; i < data.size(); ++i) {
        const size_t at = size_t{offset} + i;
        if (at >= kConfigSpaceSize) {
            break;
        }
        const uint8_t value = data[i];
        bytes_[at] = (bytes_[at] & ~writable_[at]) | (value & writable_[at]);
        bytes_[at] &= ~(value & write_one_to_clear_[at]);
    }
    const Decoded after = decoded_all();

    std::vector<BarChange> changes;
    for (int index = 0; index < kBarCount; ++index) {
        if (before[index] == after[index]) {
            continue;
        }
        changes.push_back(BarChange{.bar = static_cast<uint8_t>(index),
                                    .kind = bars_[index]->kind,
                                    .old_base = before[index],
                                    .new_base = after[index],
                                    .size = bars_[index]->size});
    }
    return changes;
}

uint32_t ConfigSpace::read32(uint8_t offset) const {
    uint32_t value = 0;
    for (int i = 3; i >= 0; --i) {
        const size_t at = size_t{offset} + i;
        value = (value << 8) | (at < kConfigSpaceSize ? bytes_[at] : 0xFF);
    }
    return value;
}

uint16_t ConfigSpace::read16(uint8_t offset) const {
    const uint8_t high = offset + 1u < kConfigSpaceSize ? bytes_[offset + 1] : 0xFF;
    return static_cast<uint16_t>(bytes_[offset] | (high << 8));
}

uint64_t ConfigSpace::bar_base(int index) const {
    const auto& spec = bars_.at(index);
    if (!spec) {
        return 0;
    }
    const uint32_t raw = read32(bar_offset(index));
    uint64_t base = raw & (spec->kind == BarKind::kIo ? kBarIoAddressMask : kBarMemoryAddressMask);
    if (spec->is_64bit) {
        base |= uint64_t{read32(bar_offset(index + 1))} << 32;
    }
    return base;
}

std::optional<uint64_t> ConfigSpace::decoded_base(int index) const {
    const auto& spec = bars_.at(index);
    if (!spec) {
        return std::nullopt;
    }
    const bool io = spec->kind == BarKind::kIo;
    const uint16_t enable = bits(io ? CommandBit::kIoSpace : CommandBit::kMemorySpace);
    if ((command() & enable) == 0) {
        return std::nullopt;
    }
    const uint64_t base = bar_base(index);
    // Base 0 is what an unassigned BAR holds (firmware convention): decoding it would put the
    // device over port 0 or over low RAM.
    const uint64_t end =
        io ? kIoSpaceEnd + 1 : (spec->is_64bit ? kMemory64SpaceEnd : kMemorySpaceEnd);
    if (base == 0 || base >= end || base + spec->size >= end) {
        return std::nullopt;
    }
    // A 64-bit BAR half-way through sizing (low half all ones, upper still 0) ends exactly at
    // 4 GiB; like a 32-bit BAR, it is not decoded across or up to that line.
    if (spec->is_64bit && base < kMemorySpaceEnd && base + spec->size >= kMemorySpaceEnd) {
        return std::nullopt;
    }
    return base;
}

void ConfigSpace::set_device_bytes(uint8_t offset, std::span<const uint8_t> data) {
    if (size_t{offset} + data.size() > kConfigSpaceSize) {
        log::error("PCI configuration bytes at {:#x}+{} run past the space", offset, data.size());
        std::abort();
    }
    std::copy(data.begin(), data.end(), bytes_.begin() + offset);
}

void ConfigSpace::set_writable_mask(uint8_t offset, std::span<const uint8_t> mask) {
    if (size_t{offset} + mask.size() > kConfigSpaceSize) {
        log::error("PCI writable mask at {:#x}+{} runs past the space", offset, mask.size());
        std::abort();
    }
    std::copy(mask.begin(), mask.end(), writable_.begin() + offset);
}

void ConfigSpace::set_status_bits(uint16_t mask, bool set) {
    const uint8_t offset = offset_of(ConfigRegister::kStatus);
    const uint16_t status = read16(offset);
    set16(offset, set ? (status | mask) : (status & ~mask));
}

ConfigSpace::Decoded ConfigSpace::decoded_all() const {
    Decoded decoded;
    for (int index = 0; index < kBarCount; ++index) {
        decoded[index] = decoded_base(index);
    }
    return decoded;
}

void ConfigSpace::set16(uint8_t offset, uint16_t value) {
    bytes_[offset] = value & 0xFF;
    bytes_[offset + 1] = value >> 8;
}

void ConfigSpace::set32(uint8_t offset, uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        bytes_[offset + i] = (value >> (8 * i)) & 0xFF;
    }
}

}  // namespace hvmm::pci
