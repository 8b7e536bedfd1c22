// Where everything of a modern virtio-pci function lives (VIRTIO 1.2, 4.1 "Virtio Over PCI
// Bus"): its PCI identity, the vendor capabilities' types, the common configuration's register
// offsets, and the one BAR's layout, computed in one place from the queue count and the device
// configuration's size. Pure constants and arithmetic: no state, no threads.
//
// The BAR (a 64-bit memory BAR in slots 0-1) holds, each region on its own 4 KiB page so a
// region could be mapped apart later:
//   common configuration | ISR status | device configuration | notify | MSI-X table | MSI-X PBA
#pragma once

#include <bit>
#include <cstdint>

namespace hvmm::virtio::pci_layout {

inline constexpr uint16_t kVendorId = 0x1AF4;        // virtio (Red Hat, Inc.)
inline constexpr uint16_t kDeviceIdBase = 0x1040;    // non-transitional: 0x1040 + device type
inline constexpr uint8_t kRevisionId = 1;            // non-transitional devices: 1 or higher
inline constexpr uint16_t kMsiNoVector = 0xFFFF;     // VIRTIO_MSI_NO_VECTOR
inline constexpr int kBar = 0;                       // the 64-bit BAR takes slots 0 and 1
inline constexpr uint32_t kNotifyOffMultiplier = 4;  // queue q is notified at notify + 4 * q

// virtio_pci_cap.cfg_type.
enum class CapabilityType : uint8_t {
    kCommon = 1,  // VIRTIO_PCI_CAP_COMMON_CFG
    kNotify = 2,  // VIRTIO_PCI_CAP_NOTIFY_CFG
    kIsr = 3,     // VIRTIO_PCI_CAP_ISR_CFG
    kDevice = 4,  // VIRTIO_PCI_CAP_DEVICE_CFG
    kPci = 5,     // VIRTIO_PCI_CAP_PCI_CFG: BAR access through configuration space
};
// virtio_pci_cap after the PCI header bytes (cap_vndr, cap_next): cap_len, cfg_type, bar, id,
// padding[2], offset (le32), length (le32); the notify capability adds notify_off_multiplier,
// the PCI_CFG capability pci_cfg_data[4].
inline constexpr uint8_t kCapLength = 16;
inline constexpr uint8_t kNotifyCapLength = 20;
inline constexpr uint8_t kPciCfgCapLength = 20;
inline constexpr uint8_t kCapBarOffset = 4;      // within the capability
inline constexpr uint8_t kCapOffsetOffset = 8;   // le32 offset
inline constexpr uint8_t kCapLengthOffset = 12;  // le32 length
inline constexpr uint8_t kPciCfgDataOffset = 16;

// virtio_pci_common_cfg (VIRTIO 1.2 4.1.4.3), offsets in the common region.
enum class CommonRegister : uint8_t {
    kDeviceFeatureSelect = 0x00,  // le32 RW: which 32 bits device_feature shows
    kDeviceFeature = 0x04,        // le32 RO
    kDriverFeatureSelect = 0x08,  // le32 RW
    kDriverFeature = 0x0C,        // le32 RW
    kConfigMsixVector = 0x10,     // le16 RW
    kNumQueues = 0x12,            // le16 RO
    kDeviceStatus = 0x14,         // u8 RW
    kConfigGeneration = 0x15,     // u8 RO
    kQueueSelect = 0x16,          // le16 RW
    kQueueSize = 0x18,            // le16 RW
    kQueueMsixVector = 0x1A,      // le16 RW
    kQueueEnable = 0x1C,          // le16 RW
    kQueueNotifyOff = 0x1E,       // le16 RO
    kQueueDesc = 0x20,            // le64 RW
    kQueueDriver = 0x28,          // le64 RW: the available ring
    kQueueDevice = 0x30,          // le64 RW: the used ring
    kQueueNotifyData = 0x38,      // le16 RO (VIRTIO_F_NOTIF_CONFIG_DATA, not offered: 0)
    kQueueReset = 0x3A,           // le16 RW (VIRTIO_F_RING_RESET, not offered: ignored)
};
inline constexpr uint8_t offset_of(CommonRegister reg) {
    return static_cast<uint8_t>(reg);
}

// Device status bits (VIRTIO 1.2 2.1).
enum class Status : uint8_t {
    kAcknowledge = 1,
    kDriver = 2,
    kDriverOk = 4,
    kFeaturesOk = 8,
    kDeviceNeedsReset = 64,
    kFailed = 128,
};
inline constexpr uint8_t bits(Status status) {
    return static_cast<uint8_t>(status);
}

// ISR status bits (VIRTIO 1.2 4.1.4.5).
inline constexpr uint8_t kIsrQueue = 1;   // a used buffer notification
inline constexpr uint8_t kIsrConfig = 2;  // a configuration change notification

enum class Region : uint8_t { kCommon, kIsr, kDevice, kNotify, kMsixTable, kMsixPba, kNone };

struct BarLayout {
    static constexpr uint32_t kPage = 0x1000;
    static constexpr uint32_t kCommonOffset = 0;
    static constexpr uint32_t kCommonLength = 0x40;  // virtio_pci_modern_common_cfg, padded
    static constexpr uint32_t kIsrOffset = kPage;
    static constexpr uint32_t kIsrLength = 1;
    static constexpr uint32_t kDeviceOffset = 2 * kPage;
    static constexpr uint32_t kNotifyOffset = 3 * kPage;

    uint32_t device_length = 0;  // config_size(): what the DEVICE capability announces
    uint32_t notify_length = 0;  // kNotifyOffMultiplier per queue
    uint32_t msix_table_offset = 0;
    uint32_t msix_table_length = 0;
    uint32_t msix_pba_offset = 0;
    uint32_t msix_pba_length = 0;
    uint32_t bar_size = 0;  // a power of two covering every region

    static constexpr uint32_t round_to_page(uint32_t bytes) {
        return (bytes + kPage - 1) / kPage * kPage;
    }

    // One MSI-X vector per queue plus one for configuration changes.
    static constexpr BarLayout compute(uint16_t queue_count, uint32_t config_size) {
        BarLayout layout;
        layout.device_length = config_size;
        layout.notify_length = queue_count * kNotifyOffMultiplier;
        const uint32_t vectors = queue_count + 1u;
        layout.msix_table_offset = kNotifyOffset + round_to_page(layout.notify_length);
        layout.msix_table_length = vectors * 16;
        layout.msix_pba_offset = layout.msix_table_offset + round_to_page(layout.msix_table_length);
        layout.msix_pba_length = (vectors + 63) / 64 * 8;
        const uint32_t end = layout.msix_pba_offset + round_to_page(layout.msix_pba_length);
        layout.bar_size = std::bit_ceil(end);
        return layout;
    }

    // Which region [offset, offset + width) falls in, and the offset within it; kNone when it
    // falls outside every region or straddles a region's end (a page holds one region, so the
    // slack after a region up to the page end counts as the region's, where reads give 0).
    struct Hit {
        Region region = Region::kNone;
        uint64_t offset = 0;
    };
    constexpr Hit locate(uint64_t offset, uint64_t width) const {
        struct Span {
            Region region;
            uint64_t start;
            uint64_t length;
        };
        const Span spans[] = {
            {Region::kCommon, kCommonOffset, kPage},
            {Region::kIsr, kIsrOffset, kPage},
            {Region::kDevice, kDeviceOffset, kPage},
            {Region::kNotify, kNotifyOffset, round_to_page(notify_length)},
            {Region::kMsixTable, msix_table_offset, round_to_page(msix_table_length)},
            {Region::kMsixPba, msix_pba_offset, round_to_page(msix_pba_length)},
        };
        for (const Span& span : spans) {
            if (offset >= span.start && offset - span.start < span.length) {
                if (offset - span.start + width > span.length) {
                    return {};
                }
                return {span.region, offset - span.start};
            }
        }
        return {};
    }
};

}  // namespace hvmm::virtio::pci_layout
