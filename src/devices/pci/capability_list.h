// The PCI capability list (PCI Local Bus 3.0, 6.7): a chain of capabilities in the device-specific
// part of the configuration space (0x40-0xFF), linked from the Capabilities Pointer (0x34) and
// announced by the Capabilities List status bit. A function builds its list once, before it is
// plugged in; each capability is its bytes plus the mask of bits the guest may write, which the
// ConfigSpace then enforces like any header register.
//
// Threads: construction time only (the owner's thread). find_capability() reads, for tests and
// for functions that look their own capabilities up.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "devices/pci/config_space.h"

namespace hvmm::pci {

// Capability IDs used here (PCI Code and ID Assignment Specification).
enum class CapabilityId : uint8_t {
    kVendorSpecific = 0x09,  // virtio's transport structures live in these
    kMsix = 0x11,            // MSI-X
};

class CapabilityList {
  public:
    static constexpr uint8_t kFirstOffset = 0x40;  // just past the type-0 header

    explicit CapabilityList(ConfigSpace& config) : config_(config) {}

    // Appends a capability whose bytes after the two-byte header (ID, next pointer) are `body`;
    // `writable` (empty, or body's length) says which bits of body the guest may write. Returns
    // the capability's offset. Fails when the 256-byte space is full.
    Result<uint8_t> add(CapabilityId id, std::span<const uint8_t> body,
                        std::span<const uint8_t> writable = {});

  private:
    ConfigSpace& config_;
    uint16_t next_free_ = kFirstOffset;  // may reach 256: full
    std::optional<uint8_t> last_;
};

// The offset of the first capability with `id` after `after` (0: from the start of the list),
// following the chain as a driver does; nothing when absent. Stops on a loop.
std::optional<uint8_t> find_capability(const ConfigSpace& config, CapabilityId id,
                                       uint8_t after = 0);

}  // namespace hvmm::pci
