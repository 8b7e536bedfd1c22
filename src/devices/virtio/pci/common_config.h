// The virtio-pci common configuration structure (VIRTIO 1.2 4.1.4.3) as a register file and the
// device status state machine behind it: feature negotiation through the select windows, the
// status bits and their order, the per-queue registers and their activation, device reset.
//
// The rules a hostile or broken driver meets (each refusal counted and warned about, rate-
// limited; the VM runs on):
// - status bits are monotonic: a write that clears a set bit is refused, except writing 0,
//   which resets the device synchronously (VirtioDevice::reset(), every SplitQueue reset, every
//   register back to its default) before status reads back 0;
// - FEATURES_OK stays clear unless the driver accepted VIRTIO_F_VERSION_1, only offered bits,
//   and a combination the device accepts; feature writes after FEATURES_OK are refused;
// - DRIVER_OK needs FEATURES_OK; the device is activated when DRIVER_OK is set;
// - queue_size/desc/driver/device/enable are accepted only between FEATURES_OK and DRIVER_OK
//   and while the queue is not enabled (CVE-2026-5747: rings moved under a running device);
// - queue_select beyond num_queues reads queue_size 0 and every queue register 0, and ignores
//   writes (CVE-2011-2512);
// - queue_enable = 1 validates the configuration; an invalid one leaves the queue disabled and
//   sets DEVICE_NEEDS_RESET;
// - a vector beyond the MSI-X table reads back NO_VECTOR (VirtioPciInterrupts).
//
// Threads: none of its own; the transport calls everything under its lock, from vCPU threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/event_fd.h"
#include "devices/virtio/pci/virtio_pci_interrupts.h"
#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/virtio_device.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

struct CommonConfigCounters {
    uint64_t status_bits_cleared = 0;        // a status write that cleared a bit (not 0)
    uint64_t features_refused = 0;           // FEATURES_OK left clear
    uint64_t feature_writes_refused = 0;     // driver_feature written after FEATURES_OK
    uint64_t driver_ok_refused = 0;          // DRIVER_OK without FEATURES_OK
    uint64_t queue_writes_refused = 0;       // queue registers outside FEATURES_OK..DRIVER_OK
    uint64_t queue_select_out_of_range = 0;  // a queue register write with select >= num_queues
    uint64_t invalid_queue_enables = 0;      // queue_enable with a configuration that failed
    uint64_t resets = 0;                     // status 0 written
    uint64_t activations = 0;                // the device started (DRIVER_OK, Bus Master on)
    uint64_t waits_for_bus_master = 0;       // DRIVER_OK set while Bus Master was off
    uint64_t stopped_by_bus_master = 0;      // Bus Master cleared under a running device
};

class CommonConfig {
  public:
    // kicks: one per queue, owned by the transport (which signals them on trapped notify writes)
    // and outliving this object.
    CommonConfig(VirtioDevice& device, const GuestMemory& memory, VirtioPciInterrupts& interrupts,
                 std::span<const EventFd> kicks, std::string name);

    // Accesses at offsets in the common region, of any width (the spec asks for natural widths;
    // a write is merged into each register it overlaps, so two 32-bit halves of a 64-bit
    // register work, as Linux writes them). Past the structure: reads 0, writes ignored.
    void read(uint64_t offset, std::span<uint8_t> data) const;
    void write(uint64_t offset, std::span<const uint8_t> data);

    // Device reset, as writing 0 to device_status does.
    void reset();

    // The PCI command register's Bus Master bit (0 after reset). A device may touch guest memory
    // (the rings, the buffers, MSI-X messages) only while it is set, as a PCI function cannot
    // start a bus cycle otherwise: DRIVER_OK written while it is clear starts the device only
    // when it is set; cleared under a running device, it stops the device at once and sets
    // DEVICE_NEEDS_RESET (the driver must reset it; Bus Master set again does not restart it).
    // A device that sets DEVICE_NEEDS_RESET after DRIVER_OK must send a configuration change
    // notification (VIRTIO 1.2 2.1.2): over INTx it goes at once; an MSI-X message is a memory
    // write the cleared bit forbids, so it is owed until Bus Master is set again (and dropped by
    // a reset, which is what the driver was to be told to do).
    void set_bus_master(bool enabled);
    // Whether the device has been started and not stopped since (it owns the queues).
    bool device_running() const { return device_running_; }

    uint8_t status() const { return status_; }
    uint64_t offered_features() const;
    uint64_t driver_features() const { return driver_features_; }
    const SplitQueue& queue(uint16_t index) const { return *queues_.at(index).queue; }
    const CommonConfigCounters& counters() const { return counters_; }

  private:
    struct Queue {
        std::unique_ptr<SplitQueue> queue;
        uint16_t size = 0;
        uint64_t desc = 0;
        uint64_t driver = 0;
        uint64_t device = 0;
    };
    uint16_t queue_count() const { return static_cast<uint16_t>(queues_.size()); }
    uint64_t register_value(uint8_t offset) const;
    void write_register(uint8_t offset, uint64_t value);
    void write_status(uint8_t value);
    bool features_acceptable();
    void activate();
    // The selected queue, when a queue register write may change it now; counts the refusal.
    Queue* writable_queue(const char* register_name);
    void enable_queue(Queue& queue);

    VirtioDevice& device_;
    const GuestMemory& memory_;
    VirtioPciInterrupts& interrupts_;
    std::span<const EventFd> kicks_;  // the transport's, one per queue, stable
    std::string name_;
    std::vector<Queue> queues_;
    // What the last activation handed the device; kept until reset as ActivationContext asks.
    std::vector<SplitQueue*> active_queues_;
    std::vector<int> active_kick_fds_;

    uint32_t device_feature_select_ = 0;
    uint32_t driver_feature_select_ = 0;
    uint64_t driver_features_ = 0;
    uint8_t status_ = 0;
    uint16_t queue_select_ = 0;
    bool bus_master_ = false;
    bool device_running_ = false;
    bool stopped_for_bus_master_ = false;  // until the driver resets the device
    bool config_change_owed_ = false;      // NEEDS_RESET's notification, waiting for Bus Master
    CommonConfigCounters counters_;
};

}  // namespace hvmm::virtio
