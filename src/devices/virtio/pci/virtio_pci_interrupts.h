// The interrupt side of a virtio-pci function: one call eventfd per queue plus one for
// configuration changes, the MSI-X table they map onto (queue_msix_vector, config_msix_vector),
// and the INTx fallback with the ISR status register. It implements VirtioInterrupt, so a device
// signals without knowing which mode the driver chose.
//
// Every call eventfd is, at any moment, either
// - bound: MSI-X is enabled and its vector and the function are unmasked; the fd is bound
//   through MsiRouter::bind to the vector's message, so a signal (from vhost, say) is delivered
//   by KVM without hvmm; or
// - watched: in every other state it is watched on the EventLoop, and a signal there sets the
//   vector's pending bit (masked), or ISR bit 0/1 and the INTx level (MSI-X disabled), or is
//   dropped and counted (no vector).
// sync_routes() moves fds between the two after any change of the MSI-X control, a table entry,
// a vector register or the mode; unmasking a vector whose pending bit is set delivers it once
// (MsiRouter::signal) and clears the bit. signal_used()/signal_config() from a device in hvmm do
// the same as a signal on the fd, directly (no eventfd round trip through the I/O thread).
//
// Threads: signal_*() from the device's thread (the I/O thread), the watches' callbacks on the
// EventLoop's thread, everything else from vCPU threads under the transport's lock. One mutex of
// its own guards it all, and it never calls into the device, so a device may signal while the
// transport (holding its own lock) waits in VirtioDevice::reset() for the device's thread.
// Destruction is safe while the EventLoop runs: the watches' callbacks reach this object through
// a shared token the destructor clears first (waiting out a callback in flight).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/event_fd.h"
#include "base/event_loop.h"
#include "irq/msi_router.h"
#include "devices/pci/msix_table.h"
#include "devices/virtio/queue/split_queue.h"
#include "devices/virtio/virtio_interrupt.h"
#include "irq/irq_line.h"

namespace hvmm::virtio {

struct VirtioPciInterruptCounters {
    uint64_t vector_out_of_range = 0;      // a vector register write >= table size (refused)
    uint64_t no_vector = 0;                // a signal under MSI-X with NO_VECTOR: dropped
    uint64_t pending_set = 0;              // a signal while its vector was masked
    uint64_t pending_delivered = 0;        // pending vectors delivered on unmask
    uint64_t bind_failures = 0;            // MsiRouter::bind refused: delivered from userspace
    uint64_t watch_failures = 0;           // EventLoop::add_fd refused (the signal may be lost)
    uint64_t intx_raised = 0;              // ISR went from 0 to non-zero under INTx
    uint64_t config_before_driver_ok = 0;  // signal_config() before DRIVER_OK: not announced
};

class VirtioPciInterrupts final : public VirtioInterrupt {
  public:
    static Result<std::unique_ptr<VirtioPciInterrupts>> create(uint16_t queue_count,
                                                               EventLoop& loop,
                                                               pci::MsiRouter& router,
                                                               IrqLine& intx, std::string name);
    ~VirtioPciInterrupts() override;
    VirtioPciInterrupts(const VirtioPciInterrupts&) = delete;
    VirtioPciInterrupts& operator=(const VirtioPciInterrupts&) = delete;

    // VirtioInterrupt.
    void signal_used(uint16_t index) override;
    void signal_config() override;
    // The queue's call fd while the queue is active (set_active_queues), else -1.
    int call_fd(uint16_t index) override;

    // The transport's side (vCPU threads).
    uint16_t vector_count() const { return table_.vector_count(); }
    // Stores vector for a queue or for configuration changes and returns what reads back: the
    // vector, or kMsiNoVector when it is out of the table (refused, counted).
    uint16_t set_queue_vector(uint16_t queue, uint16_t vector);
    uint16_t set_config_vector(uint16_t vector);
    uint16_t queue_vector(uint16_t queue) const;
    uint16_t config_vector() const;

    void read_msix_table(uint64_t offset, std::span<uint8_t> data) const;
    void write_msix_table(uint64_t offset, std::span<const uint8_t> data);
    void read_msix_pba(uint64_t offset, std::span<uint8_t> data) const;
    // The capability's Message Control and the command register's Interrupt Disable, after
    // each configuration write.
    void set_msix_control(uint16_t message_control);
    void set_intx_disabled(bool disabled);
    // The MSI-X capability body for this function's table (for CapabilityList).
    std::array<uint8_t, pci::MsixTable::kCapabilityBodySize> msix_capability_body(
        uint8_t bar, uint32_t table_offset, uint32_t pba_offset) const;

    // Reads ISR status and clears it, lowering INTx (VIRTIO 1.2 4.1.4.5).
    uint8_t read_and_clear_isr();
    // Whether the function's INTx is asserted inside it (the status register's Interrupt Status
    // bit, which PCI shows whatever Interrupt Disable says).
    bool intx_status() const;
    // Whether the driver enabled MSI-X (the capability's Enable bit): interrupts are then
    // messages, memory writes a function may make only with Bus Master set.
    bool msix_enabled() const;
    // The configuration generation: bumped by every signal_config().
    uint8_t config_generation() const { return config_generation_.load(); }

    // DRIVER_OK: which queues are active (non-null entries); call_fd() answers -1 for the
    // rest. Configuration changes are announced only from here until reset().
    void set_active_queues(std::span<SplitQueue* const> queues);
    // Virtio device reset: every vector back to NO_VECTOR, ISR 0, INTx low, stale signals on
    // the call fds dropped. The MSI-X table is the PCI function's and stays.
    void reset();

    VirtioPciInterruptCounters counters() const;

  private:
    // A source of interrupts: queues 0..n-1, then the configuration source at index n.
    struct Source {
        EventFd call;
        uint16_t vector = 0xFFFF;
        bool bound = false;    // bound through the router to `message`
        bool watched = false;  // watched on the event loop
        pci::MsiMessage message;
        bool active = false;  // queues: enabled at DRIVER_OK
    };

    VirtioPciInterrupts(std::vector<Source> sources, EventLoop& loop, pci::MsiRouter& router,
                        IrqLine& intx, std::string name);
    uint16_t config_source() const { return static_cast<uint16_t>(sources_.size() - 1); }
    uint16_t set_vector_locked(uint16_t source, uint16_t vector);
    void deliver_locked(uint16_t source);
    void on_watched_signal(uint16_t source);
    void watch_locked(uint16_t source);
    void unwatch_locked(uint16_t source);
    void sync_routes_locked();
    void update_intx_locked();

    // What a watch callback holds: the owner while it lives. Locked before mutex_, never after.
    struct Liveness {
        std::mutex mutex;
        VirtioPciInterrupts* owner = nullptr;
    };
    std::shared_ptr<Liveness> liveness_ = std::make_shared<Liveness>();

    mutable std::mutex mutex_;
    std::vector<Source> sources_;
    pci::MsixTable table_;
    EventLoop& loop_;
    pci::MsiRouter& router_;
    IrqLine& intx_;
    std::string name_;
    uint8_t isr_ = 0;
    bool intx_disabled_ = false;
    bool intx_level_ = false;
    bool driver_ok_ = false;
    std::atomic<uint8_t> config_generation_{0};
    VirtioPciInterruptCounters counters_;
};

}  // namespace hvmm::virtio
