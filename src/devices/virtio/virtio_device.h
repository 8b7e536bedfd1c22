// The seam between a virtio transport (virtio-pci today) and a virtio device (virtio-net): the
// transport owns the registers, the feature and status handshake, the queues' configuration,
// the notifications in both directions; the device owns what the queues carry. A second virtio
// device is a VirtioDevice subclass and its wiring, nothing more.
//
// Threads:
// - Everything the transport calls here (features, config, activate, reset) runs on a vCPU
//   thread, under the transport's lock, in the driver's register order.
// - A device does its queue work on the I/O thread: activate() hands it the queues and one kick
//   eventfd per queue (signalled by KVM through an ioeventfd on the notify address, or by the
//   transport when a notify write trapped), which it watches on its event loop. A device
//   therefore serialises activate()/reset() against its I/O-thread work itself (a mutex).
// - reset() returns only when the device no longer touches the queues or guest memory; the
//   transport then resets the queues (and so returns every buffer to the driver's ownership).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/virtio_interrupt.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

// Feature bits the transport itself understands (VIRTIO 1.2, "Reserved Feature Bits").
inline constexpr uint64_t kFeatureIndirectDesc = uint64_t{1} << 28;  // VIRTIO_F_INDIRECT_DESC
inline constexpr uint64_t kFeatureEventIdx = uint64_t{1} << 29;      // VIRTIO_F_EVENT_IDX
inline constexpr uint64_t kFeatureVersion1 = uint64_t{1} << 32;      // VIRTIO_F_VERSION_1
inline constexpr uint64_t kFeatureAccessPlatform = uint64_t{1} << 33;  // never offered

// What the device is given when the driver sets DRIVER_OK.
struct ActivationContext {
    const GuestMemory& memory;
    // One per queue index below queue_count(); nullptr where the driver left the queue
    // disabled. The transport owns them; they stay valid until reset() returns.
    std::span<SplitQueue* const> queues;
    // Per queue index: the eventfd a driver notification signals (-1 for a disabled queue).
    // Owned by the transport; the device reads (drains) it and must stop watching it in reset().
    std::span<const int> kick_fds;
    uint64_t features;  // what the driver accepted (a subset of device_features())
    VirtioInterrupt& interrupt;
};

class VirtioDevice {
  public:
    virtual ~VirtioDevice() = default;

    // The virtio device ID ("Device Types": 1 = network card); virtio-pci's PCI device ID is
    // 0x1040 + this.
    virtual uint16_t device_type() const = 0;
    // The PCI class code the function reports (network: 0x020000).
    virtual uint32_t pci_class_code() const = 0;
    // How many queues the device has (the transport's num_queues) and the largest size each
    // may be given (a power of two, at most 32768).
    virtual uint16_t queue_count() const = 0;
    virtual uint16_t max_queue_size(uint16_t index) const = 0;

    // Every feature bit the device offers, device-specific and transport ones (VERSION_1,
    // EVENT_IDX, INDIRECT_DESC as the device's queue use supports them).
    virtual uint64_t device_features() const = 0;
    // The driver wrote FEATURES_OK with these (already a subset of device_features()). False
    // refuses the combination (a dependency missing): the transport then leaves FEATURES_OK
    // clear, as the spec requires.
    virtual bool accept_features(uint64_t features) = 0;

    // The device-specific configuration structure: its size in bytes, and accesses at byte
    // offsets within it (the transport has already refused any access past config_size()).
    virtual uint32_t config_size() const = 0;
    virtual void read_config(uint32_t offset, std::span<uint8_t> data) = 0;
    virtual void write_config(uint32_t offset, std::span<const uint8_t> data) = 0;

    // DRIVER_OK: start servicing the queues.
    virtual void activate(const ActivationContext& context) = 0;
    // Device reset (status 0 written, or the VM resets): stop, forget the negotiated state,
    // and give up the queues (see the contract above). Safe to call when never activated.
    virtual void reset() = 0;

    virtual std::string_view name() const = 0;
};

}  // namespace hvmm::virtio
