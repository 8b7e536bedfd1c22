// VirtioNet's transmit queue: drain the ring, send each frame to the backend as a gather list
// into guest RAM, one used buffer notification per drain.
#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/net/vnet_header.h"
#include "net/frame_limits.h"

namespace hvmm::virtio {

using namespace net_spec;

namespace {

// Chains and bytes a kicked turn handles before the I/O thread looks at its other sources (the
// PCnet's poll tick, receive, the console). A guest can republish the same buffers with one
// write of avail.idx, so a turn's cost must not grow with what the chains claim: 1 MiB is 16 of
// the largest (64 KiB TSO) frames, about 0.1 ms of writev to a TAP, and more than a
// 1500-byte-MTU ring of 256 carries (384 KiB), so a Linux driver's turn ends on the ring, not
// on the bytes.
// What a turn leaves is not the device's to chase at once. During a turn only the guest's vCPU
// can refill the ring (the TX queue's own writes cannot: every index it writes, used.idx and
// avail_event, equals how far it has consumed, virtio_net_budget_test.cc; a receive buffer
// posted over the avail ring is written between turns, both running on the I/O thread), but it
// needs no exit to do so: notifications are off, and publishing is a store. A self-kick would
// turn a loop of such stores into a second CPU. So the backlog waits for the guest's next kick
// (notifications go back on for new entries) or the transmit tick's small share
// (VirtioNet::kTxTickBudget), counted (tx_turns_deferred, tx_tick_turns).
constexpr unsigned kTxBudget = 256;
constexpr uint64_t kTxByteBudget = 1 << 20;

}  // namespace

void VirtioNet::service_tx_tick() {
    std::lock_guard lock(mutex_);
    if (queue(kTxQueue) == nullptr || kick_fds_[kTxQueue] < 0) {
        set_tx_tick_locked(false);  // reset or handed to vhost meanwhile
        return;
    }
    ++counters_.tx_tick_turns;
    service_tx_locked(TxTurn::kTick);
}

bool VirtioNet::tx_backlog_waits() const {
    std::lock_guard lock(mutex_);
    return tx_tick_armed_;
}

void VirtioNet::set_tx_tick_locked(bool armed) {
    if (armed == tx_tick_armed_) {
        return;
    }
    const auto changed = armed ? loop_.set_timer_period(tx_tick_timer_, kTxTickPeriod)
                               : loop_.stop_timer(tx_tick_timer_);
    if (changed) {
        tx_tick_armed_ = armed;
    } else {
        log::warn("virtio-net: transmit tick: {}", changed.error().message);
    }
}

void VirtioNet::service_tx_locked(TxTurn turn) {
    SplitQueue& tx = *queue(kTxQueue);
    const uint64_t frames_before = counters_.tx_frames;
    const uint64_t bytes_before = counters_.tx_bytes;
    const uint64_t byte_budget = turn == TxTurn::kKick ? kTxByteBudget : kTxTickByteBudget;
    unsigned budget = turn == TxTurn::kKick ? kTxBudget : kTxTickBudget;
    std::optional<std::chrono::steady_clock::time_point> poll_deadline;
    tx.disable_notifications();
    for (;;) {
        while (budget > 0) {
            if (counters_.tx_bytes - bytes_before >= byte_budget) {
                budget = 0;
                break;
            }
            auto popped = tx.pop();
            if (!popped) {
                break;
            }
            --budget;
            if (!*popped) {
                // Refused by the queue (and warned about there): answered once, never sent.
                ++counters_.tx_malformed_chains;
                tx.add_used(popped->error());
                continue;
            }
            transmit_chain_locked(**popped);
            // A transmit buffer is only read: nothing written, so the used length is 0.
            tx.add_used((*popped)->head(), 0);
        }
        if (budget == 0 && tx.has_available()) {
            // The backlog: the guest's next entry kicks for it, else the tick takes it slowly.
            ++counters_.tx_turns_deferred;
            tx.enable_notifications_for_new_entries();
            set_tx_tick_locked(true);
            break;
        }
        if (watch_tx_ring_locked(tx, poll_deadline)) {
            continue;
        }
        // Notifications back on; if buffers slipped in meanwhile the driver did not kick for
        // them, so keep draining.
        if (!tx.enable_notifications()) {
            set_tx_tick_locked(false);  // no backlog left
            break;
        }
    }
    if (counters_.tx_frames != frames_before) {
        ++counters_.tx_batches;
    }
    notify_locked(kTxQueue, counters_.tx_notifications);
}

bool VirtioNet::watch_tx_ring_locked(
    SplitQueue& tx, std::optional<std::chrono::steady_clock::time_point>& deadline) {
    using Clock = std::chrono::steady_clock;
    if (options_.tx_poll.count() <= 0) {
        return false;
    }
    const auto start = Clock::now();
    // One window per turn, however often the driver refills within it: a turn's watching costs
    // at most tx_poll, and the turn's chain and byte budgets still end it.
    if (!deadline) {
        deadline = start + options_.tx_poll;
    } else if (start >= *deadline) {
        return false;
    }
    // What was sent so far is not held back by the watch: its completion goes now.
    notify_locked(kTxQueue, counters_.tx_notifications);
    ++counters_.tx_poll_windows;
    // Kicks stay off meanwhile (with EVENT_IDX avail_event still lags the ring, without it
    // used.flags says NO_NOTIFY), so the driver publishes without exiting. The lock is held:
    // the vCPU's transport calls wait at most the window, and receive runs on this thread anyway.
    bool found = false;
    auto now = start;
    while (!(found = tx.has_available()) && now < *deadline) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();  // a spin-wait hint: yields the core's pipeline to its sibling
#endif
        now = Clock::now();
    }
    counters_.tx_poll_ns += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
    counters_.tx_poll_hits += found;
    return found;
}

void VirtioNet::transmit_chain_locked(const DescriptorChain& chain) {
    ChainReader reader = chain.reader();
    // The header is copied out once; only the copy is checked and used. A chain shorter than it
    // carries no frame (CVE-2023-6693 was a device that sent one anyway).
    const auto header = reader.read_obj<NetHeader>();
    if (!header) {
        ++counters_.tx_dropped_short_header;
        static log::RateLimitedWarning warning;
        if (log::level() >= log::Level::kWarn) {  // counted either way
            warning("virtio-net: TX chain of {} bytes is shorter than the {}-byte header; dropped",
                    chain.readable_bytes(), sizeof(NetHeader));
        }
        return;
    }
    const size_t length = reader.remaining();
    if (length < net::kEthernetHeaderSize) {
        ++counters_.tx_dropped_runt;
        return;
    }
    if (length > net::kMaxFrameSize) {
        ++counters_.tx_dropped_oversize;
        static log::RateLimitedWarning warning;
        if (log::level() >= log::Level::kWarn) {  // counted either way
            warning("virtio-net: TX frame of {} bytes is over the {}-byte limit; dropped", length,
                    net::kMaxFrameSize);
        }
        return;
    }
    // Over a backend without a vnet header no offload was offered, so a header asking for one
    // is refused the same way.
    const auto checked = check_tx_header(*header, features_, length);
    if (!checked) {
        ++counters_.tx_dropped_bad_header;
        static log::RateLimitedWarning warning;
        if (log::level() >= log::Level::kWarn) {  // counted either way
            warning("virtio-net: TX header refused ({}); frame dropped", describe(checked.error()));
        }
        return;
    }
    if (vnet_header_size_ == 0 && (checked->flags & kHeaderNeedsCsum) != 0) {
        // No header to pass the request on with: finish the checksum here, in a copy (the
        // guest's buffer is device-readable only, and the guest may rewrite it meanwhile).
        tx_bounce_.resize(length);
        reader.read_exact(tx_bounce_);  // exactly what remains
        complete_checksum(tx_bounce_, checked->csum_start, checked->csum_offset);
        backend_.send(std::span<const uint8_t>(tx_bounce_));
        ++counters_.tx_frames;
        ++counters_.tx_checksummed;
        counters_.tx_bytes += length;
        return;
    }
    size_t used = 0;
    tx_iovecs_.resize(chain.readable().size() + 1);
    if (vnet_header_size_ != 0) {
        // The backend's header is our checked copy, not the guest's bytes (which it may change).
        tx_iovecs_[0] = iovec{const_cast<NetHeader*>(&*checked), sizeof(NetHeader)};
        used = 1;
    }
    used += reader.copy_iovecs(std::span(tx_iovecs_).subspan(used), length);
    backend_.send(std::span<const iovec>(tx_iovecs_.data(), used));
    ++counters_.tx_frames;
    counters_.tx_bytes += length;
}

}  // namespace hvmm::virtio
