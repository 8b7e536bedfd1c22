#include "devices/pci/capability_list.h"

#include <array>

namespace hvmm::pci {
namespace {

constexpr uint8_t kHeaderSize = 2;  // ID, next pointer
// The low two bits of a capability pointer are reserved (PCI 3.0 6.7): capabilities sit on
// dword boundaries.
constexpr uint8_t kPointerMask = 0xFC;
// 0x40-0xFF holds at most 48 dword-aligned capabilities; more steps than that is a loop.
constexpr int kMaxCapabilities = 48;

}  // namespace

Result<uint8_t> CapabilityList::add(CapabilityId id, std::span<const uint8_t> body,
                                    std::span<const uint8_t> writable) {
    if (!writable.empty() && writable.size() != body.size()) {
        return fail("PCI capability {:#x}: writable mask of {} bytes for a body of {}",
                    static_cast<unsigned>(id), writable.size(), body.size());
    }
    const size_t length = kHeaderSize + body.size();
    if (size_t{next_free_} + length > kConfigSpaceSize) {
        return fail("PCI capability {:#x} of {} bytes does not fit in configuration space",
                    static_cast<unsigned>(id), length);
    }
    const auto offset = static_cast<uint8_t>(next_free_);
    const std::array<uint8_t, kHeaderSize> header{static_cast<uint8_t>(id), 0};
    config_.set_device_bytes(offset, header);
    config_.set_device_bytes(offset + kHeaderSize, body);
    if (!writable.empty()) {
        config_.set_writable_mask(offset + kHeaderSize, writable);
    }
    // Link it in: from the previous capability's next pointer, or from the header's pointer.
    const uint8_t link =
        last_ ? static_cast<uint8_t>(*last_ + 1) : offset_of(ConfigRegister::kCapabilitiesPointer);
    const std::array<uint8_t, 1> pointer{offset};
    config_.set_device_bytes(link, pointer);
    config_.set_status_bits(bits(StatusBit::kCapabilitiesList), true);
    last_ = offset;
    next_free_ = static_cast<uint16_t>((offset + length + 3) & ~size_t{3});
    return offset;
}

std::optional<uint8_t> find_capability(const ConfigSpace& config, CapabilityId id, uint8_t after) {
    if ((config.status() & bits(StatusBit::kCapabilitiesList)) == 0) {
        return std::nullopt;
    }
    uint8_t at = after == 0 ? config.read8(offset_of(ConfigRegister::kCapabilitiesPointer))
                            : config.read8(after + 1);
    for (int step = 0; step < kMaxCapabilities && (at & kPointerMask) != 0; ++step) {
        at &= kPointerMask;
        if (config.read8(at) == static_cast<uint8_t>(id)) {
            return at;
        }
        at = config.read8(at + 1);
    }
    return std::nullopt;
}

}  // namespace hvmm::pci
