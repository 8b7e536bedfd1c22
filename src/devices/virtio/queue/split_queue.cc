#include "devices/virtio/queue/split_queue.h"

#include <atomic>
#include <cstring>

#include "base/log.h"
#include "devices/virtio/queue/virtq_ring.h"

namespace hvmm::virtio {
namespace {

// The ring indices and event fields are the points where device and driver synchronize, so
// they are read and written as single 16-bit atomic accesses (never torn, never re-read by the
// compiler); the fences around them give the ordering. In bounds: every offset used is inside
// the ring's size as "Split Virtqueues" gives it, and activate() checked the whole ring and its
// host alignment, so each field is naturally aligned.
uint16_t load_u16(std::span<uint8_t> ring, uint64_t offset) {
    return __atomic_load_n(reinterpret_cast<const uint16_t*>(ring.data() + offset),
                           __ATOMIC_RELAXED);
}
void store_u16(std::span<uint8_t> ring, uint64_t offset, uint16_t value) {
    __atomic_store_n(reinterpret_cast<uint16_t*>(ring.data() + offset), value, __ATOMIC_RELAXED);
}

bool aligned(const void* host, uint64_t alignment) {
    return reinterpret_cast<uintptr_t>(host) % alignment == 0;
}

log::RateLimitedWarning g_warn_malformed;
log::RateLimitedWarning g_warn_broken;

}  // namespace

// Whether the driver asked to be notified for the used entries written since the last check
// (VIRTIO_F_EVENT_IDX). The driver wrote used_event = e meaning "notify me once you write the
// used entry numbered e", i.e. when used.idx steps from e to e + 1. Since the last check the
// device moved used.idx from old to new, writing entries old, old + 1, ..., new - 1; so notify
// exactly when e is one of those. All indices run free modulo 2^16, so "e lies in [old, new)"
// cannot be a plain comparison; measured backwards from new instead, the written entries sit at
// distances 1 .. (new - old) behind it, and e is among them exactly when
// (new - e - 1) mod 2^16 < (new - old) mod 2^16. When old == new nothing was written and the
// right side is 0, so nothing is ever notified twice. (This is vring_need_event in Linux's
// BSD-licensed virtio_ring.h; the casts matter, as C++ would do the subtractions in int.)
bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx) {
    return static_cast<uint16_t>(new_idx - event - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

std::string_view describe(QueueConfigError error) {
    switch (error) {
        case QueueConfigError::kBadSize:
            return "queue size is not a power of two between 1 and 32768";
        case QueueConfigError::kDescTableMisaligned:
            return "descriptor table is not 16-byte aligned";
        case QueueConfigError::kAvailRingMisaligned:
            return "available ring is not 2-byte aligned";
        case QueueConfigError::kUsedRingMisaligned:
            return "used ring is not 4-byte aligned";
        case QueueConfigError::kDescTableOutsideRam:
            return "descriptor table is not inside guest RAM";
        case QueueConfigError::kAvailRingOutsideRam:
            return "available ring is not inside guest RAM";
        case QueueConfigError::kUsedRingOutsideRam:
            return "used ring is not inside guest RAM";
    }
    return "unknown queue configuration error";
}

std::expected<void, QueueConfigError> validate(const GuestMemory& memory,
                                               const SplitQueueConfig& config) {
    const uint32_t size = config.size;
    if (size == 0 || size > kMaxQueueSize || (size & (size - 1)) != 0) {
        return std::unexpected(QueueConfigError::kBadSize);
    }
    if (config.desc_table.value % kDescTableAlign != 0) {
        return std::unexpected(QueueConfigError::kDescTableMisaligned);
    }
    if (config.avail_ring.value % kAvailRingAlign != 0) {
        return std::unexpected(QueueConfigError::kAvailRingMisaligned);
    }
    if (config.used_ring.value % kUsedRingAlign != 0) {
        return std::unexpected(QueueConfigError::kUsedRingMisaligned);
    }
    // GuestMemory::contains checks address + length for overflow and wants the whole range in
    // one RAM region, so a ring over MMIO or wrapping past 2^64 is refused here once.
    if (!memory.contains(config.desc_table, desc_table_size(size))) {
        return std::unexpected(QueueConfigError::kDescTableOutsideRam);
    }
    if (!memory.contains(config.avail_ring, avail_ring_size(size))) {
        return std::unexpected(QueueConfigError::kAvailRingOutsideRam);
    }
    if (!memory.contains(config.used_ring, used_ring_size(size))) {
        return std::unexpected(QueueConfigError::kUsedRingOutsideRam);
    }
    return {};
}

std::expected<void, QueueConfigError> SplitQueue::activate(const SplitQueueConfig& config) {
    if (auto valid = validate(memory_, config); !valid) {
        return valid;
    }
    const auto desc = memory_.span(config.desc_table, desc_table_size(config.size));
    const auto avail = memory_.span(config.avail_ring, avail_ring_size(config.size));
    const auto used = memory_.span(config.used_ring, used_ring_size(config.size));
    // Guest alignment is host alignment when a region's guest base is page aligned, as every
    // real layout's is; a test layout that is not would make the atomic accesses misaligned.
    if (!aligned(avail->data(), kAvailRingAlign)) {
        return std::unexpected(QueueConfigError::kAvailRingMisaligned);
    }
    if (!aligned(used->data(), kUsedRingAlign)) {
        return std::unexpected(QueueConfigError::kUsedRingMisaligned);
    }
    config_ = config;
    desc_table_ = *desc;
    avail_ring_ = *avail;
    used_ring_ = *used;
    next_avail_ = cached_avail_ = next_used_ = signalled_used_ = 0;
    broken_ = false;
    can_undo_pop_ = false;
    enabled_ = true;
    // A queue starts with available buffer notifications on (used.flags 0, which with
    // EVENT_IDX the device must keep, and then an avail_event asking for a kick at the first
    // entry), whatever the ring memory held.
    store_u16(used_ring_, kRingFlagsOffset, 0);
    enable_notifications();
    return {};
}

void SplitQueue::reset() {
    config_ = SplitQueueConfig{};
    enabled_ = false;
    broken_ = false;
    desc_table_ = avail_ring_ = used_ring_ = {};
    next_avail_ = cached_avail_ = next_used_ = signalled_used_ = 0;
    can_undo_pop_ = false;
}

uint16_t SplitQueue::load_avail_idx() const {
    const uint16_t idx = load_u16(avail_ring_, kRingIdxOffset);
    // Acquire: pairs with the driver's virtio_wmb() before it writes avail.idx ("Updating
    // idx": a barrier so the device sees the ring entries and descriptors first). Every ring
    // entry and descriptor read after this is at least as new as the index just read.
    std::atomic_thread_fence(std::memory_order_acquire);
    return idx;
}

std::optional<std::expected<DescriptorChain, MalformedChain>> SplitQueue::pop() {
    if (!enabled_ || broken_) {
        return std::nullopt;
    }
    if (next_avail_ == cached_avail_) {
        const uint16_t idx = load_avail_idx();
        // The driver can have at most size chains outstanding ("Supplying Buffers to The
        // Device": the ring cannot wrap), so an index further ahead than that is a lie about
        // entries that do not exist. CVE-2016-5403 was a VMM that trusted it until it ran out
        // of memory; here the queue stops until the driver resets it.
        const auto pending = static_cast<uint16_t>(idx - next_avail_);
        if (pending > config_.size) {
            broken_ = true;
            ++counters_.broken;
            if (log::level() >= log::Level::kWarn) {  // counted above either way
                g_warn_broken(
                    "virtqueue: available index {} is {} entries ahead of {} on a queue of {}; "
                    "queue stopped until reset",
                    idx, pending, next_avail_, config_.size);
            }
            return std::nullopt;
        }
        cached_avail_ = idx;
        if (pending == 0) {
            return std::nullopt;
        }
    }
    // The slot is taken modulo the size (a power of two); the head is read once.
    const uint32_t slot = next_avail_ & (config_.size - 1);
    const uint16_t head = load_u16(avail_ring_, avail_entry_offset(slot));
    ++next_avail_;
    auto chain =
        DescriptorChain::walk(memory_, desc_table_, config_.size, head, config_.indirect_desc);
    if (!chain) {
        ++counters_.malformed_chains;
        can_undo_pop_ = false;
        if (log::level() >= log::Level::kWarn) {  // counted above either way
            g_warn_malformed("virtqueue: chain at head {} refused: {}", head,
                             describe(chain.error()));
        }
        return std::unexpected(MalformedChain{head, chain.error()});
    }
    ++counters_.chains;
    can_undo_pop_ = true;
    return std::move(*chain);
}

bool SplitQueue::undo_pop() {
    if (!enabled_ || broken_ || !can_undo_pop_) {
        return false;
    }
    // cached_avail_ stays: the entry is still below the avail.idx already read.
    --next_avail_;
    --counters_.chains;
    can_undo_pop_ = false;
    return true;
}

void SplitQueue::add_used(uint16_t head, uint32_t len) {
    if (!enabled_ || broken_) {
        return;
    }
    const uint32_t slot = next_used_ & (config_.size - 1);
    // struct virtq_used_elem: le32 id, le32 len.
    const uint32_t element[2] = {head, len};
    // In bounds: used_entry_offset(slot) + 8 <= used_ring_size(size) for slot < size.
    std::memcpy(used_ring_.data() + used_entry_offset(slot), element, sizeof(element));
    // Release: the entry, and every byte the device wrote into the chain's buffers, become
    // visible before the index that publishes them. Pairs with the driver's virtio_rmb() after
    // it reads used.idx and before it reads the entry (virtqueue_get_buf_ctx_split).
    std::atomic_thread_fence(std::memory_order_release);
    ++next_used_;
    store_u16(used_ring_, kRingIdxOffset, next_used_);
    ++counters_.used;
    can_undo_pop_ = false;
}

bool SplitQueue::should_notify() {
    if (!enabled_ || broken_) {
        return false;
    }
    // Full barrier between the store of used.idx (add_used) and the load of used_event or
    // avail.flags below. Pairs with the driver's virtio_mb() between its store of used_event
    // (or avail.flags) and its load of used.idx when it re-enables callbacks
    // (virtqueue_enable_cb_delayed_split, virtqueue_poll): either the driver sees the new
    // used.idx and polls the entries itself, or the device sees the new event and notifies.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const uint16_t old_idx = signalled_used_;
    const uint16_t new_idx = next_used_;
    signalled_used_ = new_idx;
    bool notify = false;
    if (config_.event_idx) {
        // "Used Buffer Notification Suppression": with EVENT_IDX the device ignores the flags.
        notify =
            need_event(load_u16(avail_ring_, used_event_offset(config_.size)), new_idx, old_idx);
    } else {
        notify = new_idx != old_idx &&
                 !(load_u16(avail_ring_, kRingFlagsOffset) & kAvailFlagNoInterrupt);
    }
    if (notify) {
        ++counters_.notifications;
    }
    return notify;
}

void SplitQueue::disable_notifications() {
    if (!enabled_ || broken_) {
        return;
    }
    // With EVENT_IDX the device MUST keep used.flags at 0; leaving avail_event where it is
    // already suppresses kicks, since the driver only kicks when avail.idx crosses it and
    // the device is past it.
    if (!config_.event_idx) {
        store_u16(used_ring_, kRingFlagsOffset, kUsedFlagNoNotify);
    }
}

bool SplitQueue::enable_notifications() {
    if (!enabled_ || broken_) {
        return false;
    }
    if (config_.event_idx) {
        // "Kick me when you write the entry I will take next."
        store_u16(used_ring_, avail_event_offset(config_.size), next_avail_);
    } else {
        store_u16(used_ring_, kRingFlagsOffset, 0);
    }
    // Full barrier between the store above and the load of avail.idx below. Pairs with the
    // driver's virtio_mb() between its store of avail.idx and its load of avail_event or
    // used.flags (virtqueue_kick_prepare_split; "Notifying The Device"): either the device
    // sees the new entries here, or the driver sees notifications on and kicks.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return load_avail_idx() != next_avail_;
}

void SplitQueue::enable_notifications_for_new_entries() {
    if (!enabled_ || broken_) {
        return;
    }
    if (config_.event_idx) {
        // "Kick me when you write the entry after the last one you published."
        store_u16(used_ring_, avail_event_offset(config_.size), load_avail_idx());
    } else {
        store_u16(used_ring_, kRingFlagsOffset, 0);
    }
    // Pairs with the driver's virtio_mb() before it reads avail_event or used.flags; an entry
    // published meanwhile without a kick is in the backlog the device comes back for.
    std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool SplitQueue::has_available() const {
    return enabled_ && !broken_ && load_avail_idx() != next_avail_;
}

}  // namespace hvmm::virtio
