// A virtio device as a modern virtio-pci function (VIRTIO 1.2 4.1): PCI 1AF4:(1040 + device
// type), revision 1; one 64-bit memory BAR (BarLayout: common configuration, ISR, device
// configuration, notify, MSI-X table and PBA); the vendor capabilities COMMON, NOTIFY, ISR,
// DEVICE and PCI_CFG (BAR access through configuration space) and MSI-X; INTA# with the command
// register's Interrupt Disable. The registers' rules are CommonConfig's, the interrupts
// VirtioPciInterrupts'; this class is the PCI plumbing between them and the buses.
//
// Who calls: the host bridge (configuration accesses, vCPU threads, under the bridge's lock), the
// MMIO bus (BAR accesses, vCPU threads), the integrator (notify_addresses() to bind an ioeventfd
// per queue on the BAR's notify addresses, re-bound when the BAR moves).
// Threads: every register access takes the transport's lock; the device is called
// (features, config, activate, reset) under it. The interrupts have a lock of their own (see
// virtio_pci_interrupts.h). The device must outlive the transport, whose destructor resets it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/event_fd.h"
#include "base/event_loop.h"
#include "bus/bus_device.h"
#include "irq/msi_router.h"
#include "devices/pci/pci_function.h"
#include "devices/virtio/pci/common_config.h"
#include "devices/virtio/pci/virtio_pci_interrupts.h"
#include "devices/virtio/pci/virtio_pci_layout.h"
#include "devices/virtio/virtio_device.h"
#include "irq/irq_line.h"
#include "memory/guest_memory.h"

namespace hvmm::virtio {

// Where a driver's notification for `queue` lands: an offset in the BAR, and the eventfd a
// trapped write there signals (the ioeventfd to bind, any width, no data match: Linux writes
// the queue index as 16 bits).
struct NotifyAddress {
    uint16_t queue = 0;
    uint64_t bar_offset = 0;
    int kick_fd = -1;
};

struct VirtioPciTransportCounters {
    CommonConfigCounters common;
    VirtioPciInterruptCounters interrupts;
    uint64_t kicks = 0;                       // notify writes that trapped
    uint64_t bad_notifies = 0;                // a notify write at no queue's address
    uint64_t device_config_out_of_range = 0;  // device config accesses past config_size()
    uint64_t unmapped_bar_accesses = 0;       // BAR offsets in no region
    uint64_t pci_cfg_refused = 0;             // PCI_CFG accesses with a bad bar/offset/length
};

class VirtioPciTransport final : public pci::PciFunction {
  public:
    static constexpr int kBar = pci_layout::kBar;

    // The device, guest memory and the loop, router and INTx line outlive the transport. intx is
    // the level line of the slot's INTA# (a resampling irqfd in the Machine).
    static Result<std::unique_ptr<VirtioPciTransport>> create(VirtioDevice& device,
                                                              const GuestMemory& memory,
                                                              EventLoop& loop,
                                                              pci::MsiRouter& router, IrqLine& intx,
                                                              std::string name);
    ~VirtioPciTransport() override;

    // pci::PciFunction.
    void config_read(uint8_t offset, std::span<uint8_t> data) override;
    std::vector<pci::BarChange> config_write(uint8_t offset,
                                             std::span<const uint8_t> data) override;
    BusDevice* bar_device(int index) override;
    pci::ConfigSpace& config_space() override { return config_; }
    std::string_view name() const override { return name_; }

    const pci_layout::BarLayout& layout() const { return layout_; }
    // One entry per queue: what the integrator binds ioeventfds on (BAR base + bar_offset).
    std::vector<NotifyAddress> notify_addresses() const;
    // The interrupt the device was handed (also for tests).
    VirtioPciInterrupts& interrupts() { return *interrupts_; }
    uint8_t device_status() const;
    VirtioPciTransportCounters counters() const;

  private:
    // The BAR as the MMIO bus sees it: offsets from the BAR's base.
    class BarWindow final : public BusDevice {
      public:
        explicit BarWindow(VirtioPciTransport& transport) : transport_(transport) {}
        void read(const BusAccess& access, std::span<uint8_t> data) override;
        void write(const BusAccess& access, std::span<const uint8_t> data) override;
        std::string_view name() const override { return transport_.name_; }

      private:
        VirtioPciTransport& transport_;
    };

    VirtioPciTransport(VirtioDevice& device, const GuestMemory& memory, std::vector<EventFd> kicks,
                       std::unique_ptr<VirtioPciInterrupts> interrupts, std::string name);
    void build_capabilities();
    void bar_read_locked(uint64_t offset, std::span<uint8_t> data);
    void bar_write_locked(uint64_t offset, std::span<const uint8_t> data);
    bool touches_pci_cfg_data(uint8_t offset, size_t size) const;
    void pci_cfg_access_locked(bool write);

    mutable std::mutex mutex_;
    VirtioDevice& device_;
    std::string name_;
    pci_layout::BarLayout layout_;
    pci::ConfigSpace config_;
    std::vector<EventFd> kicks_;
    std::unique_ptr<VirtioPciInterrupts> interrupts_;
    CommonConfig common_;
    BarWindow window_;
    uint8_t msix_capability_ = 0;
    uint8_t pci_cfg_capability_ = 0;
    uint64_t kicks_count_ = 0;
    uint64_t bad_notifies_ = 0;
    uint64_t device_config_out_of_range_ = 0;
    uint64_t unmapped_bar_accesses_ = 0;
    uint64_t pci_cfg_refused_ = 0;
};

}  // namespace hvmm::virtio
