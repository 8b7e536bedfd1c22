// VirtioNet's transmit queue: drain the ring, send each frame to the backend as a gather list
// into guest RAM, one used buffer notification per drain.
#include <unistd.h>

#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/net/vnet_header.h"
#include "net/frame_limits.h"

namespace hvmm::virtio {

using namespace net_spec;

namespace {

// Chains and bytes one turn handles before the I/O thread looks at its other sources (the
// PCnet's poll tick, receive, the console); the rest follow through a self-kick, counted
// (tx_turns_deferred). A guest can republish the same buffers with one write of avail.idx, so a
// turn's cost must not grow with what the chains claim: 1 MiB is 16 of the largest (64 KiB
// TSO) frames, about 0.1 ms of writev to a TAP, and more than a 1500-byte-MTU ring of 256
// carries (384 KiB), so a Linux driver's turn ends on the ring, not on the bytes.
// No device write can refill the ring by itself (every index the device writes, used.idx and
// avail_event, equals how far it has consumed), so a turn never feeds the next without the
// driver publishing again (virtio_net_budget_test.cc).
constexpr unsigned kTxBudget = 256;
constexpr uint64_t kTxByteBudget = 1 << 20;

}  // namespace

void VirtioNet::service_tx_locked() {
    SplitQueue& tx = *queue(kTxQueue);
    const uint64_t frames_before = counters_.tx_frames;
    const uint64_t bytes_before = counters_.tx_bytes;
    unsigned budget = kTxBudget;
    std::optional<std::chrono::steady_clock::time_point> poll_deadline;
    tx.disable_notifications();
    for (;;) {
        while (budget > 0) {
            if (counters_.tx_bytes - bytes_before >= kTxByteBudget) {
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
        if (budget == 0) {
            // Come back after the loop's other sources; notifications stay off meanwhile.
            ++counters_.tx_turns_deferred;
            const uint64_t one = 1;
            [[maybe_unused]] const auto written = ::write(kick_fds_[kTxQueue], &one, sizeof(one));
            break;
        }
        if (watch_tx_ring_locked(tx, poll_deadline)) {
            continue;
        }
        // Notifications back on; if buffers slipped in meanwhile the driver did not kick for
        // them, so keep draining.
        if (!tx.enable_notifications()) {
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
