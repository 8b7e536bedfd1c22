// The split virtqueue's memory layout as VIRTIO 1.2 defines it ("Split Virtqueues": descriptor
// table, available ring, used ring), shared by the device-side queue and the tests' driver.
// Constants and plain data only: no state, safe from any thread.
#pragma once

#include <cstdint>

namespace hvmm::virtio {

// "The Virtqueue Descriptor Table": struct virtq_desc, little-endian (x86 guest, x86 host).
struct Descriptor {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
static_assert(sizeof(Descriptor) == 16);

namespace desc_flags {
inline constexpr uint16_t kNext = 1;      // VIRTQ_DESC_F_NEXT: the chain continues at `next`
inline constexpr uint16_t kWrite = 2;     // VIRTQ_DESC_F_WRITE: device-writable (else readable)
inline constexpr uint16_t kIndirect = 4;  // VIRTQ_DESC_F_INDIRECT: addr/len name a table
}  // namespace desc_flags

// VIRTQ_AVAIL_F_NO_INTERRUPT in avail.flags ("Used Buffer Notification Suppression").
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
// VIRTQ_USED_F_NO_NOTIFY in used.flags ("Available Buffer Notification Suppression").
inline constexpr uint16_t kUsedFlagNoNotify = 1;

// Feature bit numbers this layer implements ("Reserved Feature Bits"); the masks devices and
// transports use are virtio_device.h's kFeature*, which a TU may include beside this.
inline constexpr unsigned kFeatureBitIndirectDesc = 28;  // VIRTIO_F_INDIRECT_DESC
inline constexpr unsigned kFeatureBitEventIdx = 29;      // VIRTIO_F_EVENT_IDX

// "Queue Size value is always a power of 2. The maximum Queue Size value is 32768."
inline constexpr uint32_t kMaxQueueSize = 32768;

// The table in "Split Virtqueues": alignment and size of each part.
inline constexpr uint64_t kDescTableAlign = 16;
inline constexpr uint64_t kAvailRingAlign = 2;
inline constexpr uint64_t kUsedRingAlign = 4;
constexpr uint64_t desc_table_size(uint32_t queue_size) {
    return 16ull * queue_size;
}
// flags, idx, ring[size], used_event: the spec's size includes the event field whether or not
// EVENT_IDX is negotiated, so a queue is validated the same way either way.
constexpr uint64_t avail_ring_size(uint32_t queue_size) {
    return 6 + 2ull * queue_size;
}
// flags, idx, ring[size] of {le32 id, le32 len}, avail_event.
constexpr uint64_t used_ring_size(uint32_t queue_size) {
    return 6 + 8ull * queue_size;
}

// Byte offsets inside the rings.
inline constexpr uint64_t kRingFlagsOffset = 0;
inline constexpr uint64_t kRingIdxOffset = 2;
inline constexpr uint64_t kRingEntriesOffset = 4;
constexpr uint64_t avail_entry_offset(uint32_t slot) {
    return kRingEntriesOffset + 2ull * slot;
}
constexpr uint64_t used_event_offset(uint32_t queue_size) {
    return avail_entry_offset(queue_size);
}
constexpr uint64_t used_entry_offset(uint32_t slot) {
    return kRingEntriesOffset + 8ull * slot;
}
constexpr uint64_t avail_event_offset(uint32_t queue_size) {
    return used_entry_offset(queue_size);
}

}  // namespace hvmm::virtio
