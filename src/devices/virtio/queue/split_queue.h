// The device side of one split virtqueue (VIRTIO 1.2, "Split Virtqueues"): the configuration
// the driver wrote (size, ring addresses, negotiated ring features), the device's own indices
// (next available entry to take, next used entry to fill, the used index last checked for a
// notification), and whether the queue is enabled or broken.
//
// The layer knows nothing of PCI, threads or devices: a transport calls activate() when the
// driver enables the queue (and reset() on device reset); a device calls pop(), add_used(),
// should_notify() and the notification toggles from the one thread that services the queue.
// Nothing here locks: one thread owns a SplitQueue at a time. The guest's vCPUs write the
// rings concurrently, which is what the fences in split_queue.cc are for.
//
// A guest that breaks the ring protocol never stops the VMM: a malformed chain comes back from
// pop() as a MalformedChain carrying its head, for the device to return to the used ring with
// length 0 (so it is answered once and never re-parsed); an available index running more than
// the queue size ahead of the device (CVE-2016-5403) marks the queue broken: counted, and
// nothing more is processed until reset().
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "base/expected.h"
#include "devices/virtio/queue/descriptor_chain.h"
#include "memory/guest_address.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

// What the driver configured for a queue (the transport's queue_* registers and the features
// it accepted).
struct SplitQueueConfig {
    uint32_t size = 0;  // a power of two, 1..32768
    GuestAddress desc_table;
    GuestAddress avail_ring;
    GuestAddress used_ring;
    bool event_idx = false;      // VIRTIO_F_EVENT_IDX negotiated
    bool indirect_desc = false;  // VIRTIO_F_INDIRECT_DESC negotiated
};

enum class QueueConfigError : uint8_t {
    kBadSize,              // zero, not a power of two, or above 32768
    kDescTableMisaligned,  // not a multiple of 16
    kAvailRingMisaligned,  // not a multiple of 2
    kUsedRingMisaligned,   // not a multiple of 4
    kDescTableOutsideRam,  // any byte of a ring outside one guest RAM region
    kAvailRingOutsideRam,
    kUsedRingOutsideRam,
};
std::string_view describe(QueueConfigError error);

// Checks a configuration against "Split Virtqueues" (size and alignment table) and guest RAM.
std::expected<void, QueueConfigError> validate(const GuestMemory& memory,
                                               const SplitQueueConfig& config);

// With VIRTIO_F_EVENT_IDX: whether the driver asked for a notification when the used index
// moved from old_idx to new_idx and it had written used_event = event (derived beside the code).
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx);

// A chain pop() refused: the device returns it with add_used(head, 0).
struct MalformedChain {
    uint16_t head;
    ChainError error;
};

struct SplitQueueCounters {
    uint64_t chains = 0;            // well-formed chains popped
    uint64_t malformed_chains = 0;  // refused chains (each also warned about, rate-limited)
    uint64_t broken = 0;            // times the available index ran too far ahead
    uint64_t used = 0;              // used ring entries written
    uint64_t notifications = 0;     // should_notify() answers of true
};

class SplitQueue {
  public:
    explicit SplitQueue(const GuestMemory& memory) : memory_(memory) {}

    // Validates config and starts the queue with every index at 0 (the rings' idx fields "start
    // at 0, and increase").
    // On error the queue stays disabled and unchanged.
    std::expected<void, QueueConfigError> activate(const SplitQueueConfig& config);
    // Back to disabled with indices at 0 and not broken (device reset). Counters stay.
    void reset();

    bool enabled() const { return enabled_; }
    bool broken() const { return broken_; }
    const SplitQueueConfig& config() const { return config_; }
    const SplitQueueCounters& counters() const { return counters_; }
    // The device's indices (what vhost's GET_VRING_BASE reports and a snapshot would keep).
    uint16_t next_avail() const { return next_avail_; }
    uint16_t next_used() const { return next_used_; }

    // The next available chain, or nothing when the ring is empty or the queue is disabled or
    // broken. avail.idx is read from guest memory only when the entries read last time are
    // used up, so a batch costs one read of it.
    std::optional<std::expected<DescriptorChain, MalformedChain>> pop();
    // Gives back the chain the last pop() returned (the device could not take it now:
    // back-pressure), so the next pop() walks it again. Only a well-formed chain, and only while
    // nothing was popped, used or reset since; false (and nothing changes) otherwise.
    bool undo_pop();

    // Publishes head as used with len bytes written ("The Virtqueue Used Ring"). Ignored while
    // the queue is disabled or broken.
    void add_used(uint16_t head, uint32_t len);
    void add_used(const MalformedChain& chain) { add_used(chain.head, 0); }

    // Whether the driver wants a used buffer notification for what add_used published since
    // the last call ("Used Buffer Notification Suppression"). Call once per batch.
    bool should_notify();

    // Available buffer notification suppression ("Available Buffer Notification Suppression"):
    // disable while draining the ring; enable when it looks empty, and if enable returns true
    // buffers arrived meanwhile and the device must keep popping (or it would miss them, since
    // the driver saw notifications off and did not kick).
    void disable_notifications();
    bool enable_notifications();
    // Notifications on for what the driver publishes from now on, while the entries it has
    // already published wait for the device: with EVENT_IDX avail_event moves to the ring's
    // current end (the driver kicks when it writes that entry), without it NO_NOTIFY clears. A
    // device that leaves a backlog this way must come back for it by itself (a timer).
    void enable_notifications_for_new_entries();
    // Whether the driver has published entries the device has not taken yet: one read of
    // avail.idx, no notification state touched (what a device polling the ring looks at). False
    // while disabled or broken.
    bool has_available() const;

  private:
    uint16_t load_avail_idx() const;

    const GuestMemory& memory_;
    SplitQueueConfig config_;
    bool enabled_ = false;
    bool broken_ = false;
    // Host views of the three rings, range-checked whole by activate(); guest RAM stays mapped
    // at the same place for the VM's lifetime, so they stay valid until reset().
    std::span<uint8_t> desc_table_;
    std::span<uint8_t> avail_ring_;
    std::span<uint8_t> used_ring_;
    uint16_t next_avail_ = 0;      // the next available ring entry the device takes
    uint16_t cached_avail_ = 0;    // avail.idx as last read: entries before it are known valid
    uint16_t next_used_ = 0;       // the next used ring entry the device fills (used.idx)
    uint16_t signalled_used_ = 0;  // used.idx when should_notify() last looked
    bool can_undo_pop_ = false;
    SplitQueueCounters counters_;
};

}  // namespace hvmm::virtio
