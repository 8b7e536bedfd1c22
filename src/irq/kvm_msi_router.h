// pci::MsiRouter over KVM: a GSI per distinct MSI message (MsiGsiAllocator), routed with
// KVM_SET_GSI_ROUTING beside the PIC/IOAPIC pins KVM routes by default, and each bound eventfd
// made an irqfd on its message's GSI, so a signal costs one eventfd write and no exit. signal()
// is KVM_SIGNAL_MSI.
//
// The ioctls go through IrqRoutingOps so tests can run the bookkeeping against a fake; the
// Machine builds one over its kvm::Vm (create()).
//
// Threads: any; one mutex serialises the table, the bindings and the ioctls that change them
// (a table replaced by two threads at once could lose a route). signal() takes no lock.
// Layering: it implements irq/msi_router.h, the interface the MSI-X table (devices/pci/) is
// handed, so the table stays ignorant of KVM and devices never include this header.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>

#include "base/error.h"
#include "irq/msi_router.h"
#include "irq/msi_routes.h"
#include "kvm/vm.h"

namespace hvmm {

// The VM ioctls the router needs.
class IrqRoutingOps {
  public:
    virtual ~IrqRoutingOps() = default;
    virtual Result<void> set_gsi_routing(std::span<const kvm::GsiRoute> routes) = 0;
    virtual Result<void> add_irqfd(int event_fd, uint32_t gsi) = 0;
    virtual Result<void> remove_irqfd(int event_fd, uint32_t gsi) = 0;
    // True when a local APIC accepted it, false when the guest blocked it.
    virtual Result<bool> signal_msi(uint64_t address, uint32_t data) = 0;
};

class KvmMsiRouter final : public pci::MsiRouter {
  public:
    // Over vm (which must outlive the router): checks the in-kernel irqchip, KVM_CAP_IRQ_ROUTING
    // (its answer bounds the GSIs), KVM_CAP_IRQFD and KVM_CAP_SIGNAL_MSI, naming the one missing.
    static Result<std::unique_ptr<KvmMsiRouter>> create(const kvm::Vm& vm);
    // For tests: routes GSIs [kIoapicPinCount, gsi_limit) through ops.
    KvmMsiRouter(std::unique_ptr<IrqRoutingOps> ops, uint32_t gsi_limit);

    // pci::MsiRouter. Bindings stay in KVM when the router is destroyed: the VM's teardown (or
    // the eventfd's close) ends them.
    Result<void> bind(int event_fd, pci::MsiMessage message) override;
    void unbind(int event_fd) override;
    void signal(pci::MsiMessage message) override;

    // The GSI event_fd is bound to, if any (tests, diagnostics).
    std::optional<uint32_t> bound_gsi(int event_fd) const;
    // How many distinct messages can be routed at most.
    uint32_t capacity() const;

    struct Counters {
        uint64_t bindings = 0;         // successful bind() calls that (re-)pointed an fd
        uint64_t unbindings = 0;       // unbind() calls that removed a binding
        uint64_t routing_updates = 0;  // KVM_SET_GSI_ROUTING calls that succeeded
        uint64_t signals = 0;          // signal() calls KVM accepted
        uint64_t signals_blocked = 0;  // ...of which the guest's APIC took none
        uint64_t failures = 0;         // any refused ioctl or exhausted GSI space
    };
    Counters counters() const;

  private:
    // Hands the allocator's table to KVM; the error (already counted and warned) if refused.
    Result<void> push_table();
    void count_failure(const Error& error);

    std::unique_ptr<IrqRoutingOps> ops_;
    mutable std::mutex mutex_;
    MsiGsiAllocator allocator_;
    std::map<int, uint32_t> bindings_;  // event_fd -> GSI
    Counters counters_;                 // under mutex_, except the two signal counts
    std::atomic<uint64_t> signals_{0};
    std::atomic<uint64_t> signals_blocked_{0};
    std::atomic<uint64_t> signal_failures_{0};
};

}  // namespace hvmm
