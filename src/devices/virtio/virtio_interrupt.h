// How a virtio device tells the driver something: the transport implements it (MSI-X vectors,
// or INTx with the ISR status register), so a device never knows which one the driver chose.
//
// Threads: any (the I/O thread for a userspace device). Cheap: one eventfd write or less.
#pragma once

#include <cstdint>

namespace hvmm::virtio {

class VirtioInterrupt {
  public:
    virtual ~VirtioInterrupt() = default;

    // A used buffer notification for queue `index` (after the device decided, with
    // SplitQueue::should_notify(), that the driver wants one).
    virtual void signal_used(uint16_t index) = 0;
    // A configuration change notification (the link went up or down).
    virtual void signal_config() = 0;
    // The eventfd whose signal has the effect of signal_used(index), for a data path that runs
    // outside hvmm (vhost-net's VHOST_SET_VRING_CALL). The transport keeps it pointing at the
    // queue's current MSI-X vector (bound into KVM as an irqfd, or watched in userspace while
    // the vector is masked, so the pending bit is set instead), or at INTx. Owned by the
    // transport, stable from activation until reset; -1 for a disabled queue.
    virtual int call_fd(uint16_t index) = 0;
};

}  // namespace hvmm::virtio
