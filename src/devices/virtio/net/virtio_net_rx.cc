// VirtioNet's receive side: the backend's FrameSink. A frame is checked (its vnet header, size,
// the receive filter), then written into one receive chain, or with MRG_RXBUF into as many as
// it needs, with num_buffers saying how many.
#include <cstring>

#include "base/log.h"
#include "devices/virtio/net/virtio_net.h"
#include "devices/virtio/net/vnet_header.h"
#include "net/frame_limits.h"
#include "net/mac_address.h"

namespace hvmm::virtio {

using namespace net_spec;

bool VirtioNet::can_receive() {
    std::lock_guard lock(mutex_);
    return can_receive_locked();
}

bool VirtioNet::can_receive_locked() {
    const bool room = active_ && !vhost_running_ && queue(kRxQueue) != nullptr && !frame_held_ &&
                      stash_rx_chain_locked(0);
    if (!room) {
        rx_refused_ = true;
    }
    return room;
}

void VirtioNet::receive(std::span<const uint8_t> frame) {
    std::lock_guard lock(mutex_);
    if (!active_ || vhost_running_ || queue(kRxQueue) == nullptr || frame_held_) {
        // A backend that did not ask can_receive() first; nothing to put the frame in.
        ++counters_.rx_dropped_not_ready;
        return;
    }
    if (deliver_locked(frame) == Delivery::kNoBuffers) {
        // Buffers ran out after can_receive() said yes (a frame bigger than what was there):
        // keep it for the refill rather than lose it, and refuse more meanwhile.
        held_frame_.assign(frame.begin(), frame.end());
        frame_held_ = true;
        rx_refused_ = true;
        ++counters_.rx_held;
    }
    if (!in_backend_poll_) {
        // A backend that pushes by itself: there is no batch end to wait for.
        flush_rx_notification_locked();
    }
}

bool VirtioNet::stash_rx_chain_locked(size_t index) {
    SplitQueue& rx = *queue(kRxQueue);
    while (rx_stash_.size() <= index) {
        auto popped = rx.pop();
        if (!popped) {
            // Looks empty: ask for a kick at the next buffer, and look once more in case one
            // arrived before the driver could see that (SplitQueue::enable_notifications).
            if (rx.enable_notifications()) {
                continue;
            }
            return false;
        }
        if (!*popped || (*popped)->writable_bytes() < sizeof(NetHeader)) {
            // Refused by the queue, or too short to hold even the header: answered with
            // length 0 (a driver drops such a buffer as an error) and never used.
            ++counters_.rx_malformed_chains;
            rx.add_used(*popped ? (*popped)->head() : popped->error().head, 0);
            rx_notify_pending_ = true;
            continue;
        }
        rx_stash_.push_back(std::move(**popped));
    }
    return true;
}

VirtioNet::Delivery VirtioNet::deliver_locked(std::span<const uint8_t> frame) {
    NetHeader header{};
    if (vnet_header_size_ != 0) {
        if (frame.size() < sizeof(NetHeader)) {
            ++counters_.rx_dropped_runt;
            return Delivery::kDropped;
        }
        std::memcpy(&header, frame.data(), sizeof(header));
        frame = frame.subspan(sizeof(header));
        const auto checked = check_rx_header(header, features_);
        if (!checked) {
            ++counters_.rx_dropped_bad_header;
            static log::RateLimitedWarning warning;
            if (log::level() >= log::Level::kWarn) {  // counted either way
                warning(
                    "virtio-net: backend frame with an offload the guest did not accept ({}); "
                    "dropped",
                    describe(checked.error()));
            }
            return Delivery::kDropped;
        }
        header = *checked;
    }
    if (frame.size() < net::kEthernetHeaderSize) {
        ++counters_.rx_dropped_runt;
        return Delivery::kDropped;
    }
    if (frame.size() > net::kMaxFrameSize) {
        ++counters_.rx_dropped_oversize;
        return Delivery::kDropped;
    }
    const MacAddress destination = net::mac_from_bytes(frame.first<6>());
    if (!filter_.accepts(destination, mac_)) {
        ++counters_.rx_dropped_filtered;
        return Delivery::kDropped;
    }

    // Which chains the frame goes into: one without MRG_RXBUF, as many as it takes with it.
    const size_t needed = sizeof(NetHeader) + frame.size();
    const bool mergeable = negotiated(kMrgRxbuf);
    size_t chains = 0;
    size_t capacity = 0;
    while (capacity < needed) {
        if (!mergeable && chains == 1) {
            // The driver's buffers are smaller than this frame; the buffer stays for the next.
            ++counters_.rx_dropped_oversize;
            return Delivery::kDropped;
        }
        if (!stash_rx_chain_locked(chains)) {
            if (rx_stash_.size() >= queue(kRxQueue)->config().size) {
                // Every buffer the ring can hold is ours and the frame still does not fit: it
                // never will. Drop it, or receive would wait forever.
                ++counters_.rx_dropped_oversize;
                return Delivery::kDropped;
            }
            return Delivery::kNoBuffers;
        }
        capacity += rx_stash_[chains].writable_bytes();
        ++chains;
    }

    header.num_buffers = static_cast<uint16_t>(chains);  // chains <= queue size <= 32768
    SplitQueue& rx = *queue(kRxQueue);
    size_t offset = 0;
    for (size_t i = 0; i < chains; ++i) {
        ChainWriter writer = rx_stash_.front().writer();
        if (i == 0) {
            // In bounds: every stashed chain has room for the header.
            writer.write_obj(header);
        }
        offset += writer.write(frame.subspan(offset));
        rx.add_used(rx_stash_.front().head(), writer.bytes_written());
        rx_stash_.pop_front();
    }
    ++counters_.rx_frames;
    counters_.rx_bytes += frame.size();
    counters_.rx_buffers += chains;
    rx_notify_pending_ = true;
    return Delivery::kDelivered;
}

void VirtioNet::flush_rx_notification_locked() {
    if (rx_notify_pending_) {
        rx_notify_pending_ = false;
        notify_locked(kRxQueue, counters_.rx_notifications);
    }
}

}  // namespace hvmm::virtio
