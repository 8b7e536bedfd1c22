// The GSI routing table hvmm gives KVM, computed without KVM: the irqchip routes KVM installs by
// itself at KVM_CREATE_IRQCHIP, plus one MSI route per distinct message the MSI-X tables want
// delivered through an irqfd. KVM_SET_GSI_ROUTING replaces the table whole, so every table
// handed to KVM must carry the irqchip routes again, or the PIC/IOAPIC pins (the UART, the PIT,
// PCI INTx) would stop reaching the guest.
//
// Threads: none of its own; not locked (KvmMsiRouter holds it under its mutex).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/error.h"
#include "irq/msi_router.h"
#include "kvm/vm.h"

namespace hvmm {

// KVM's own routes for an in-kernel irqchip (x86, Linux's default_routing table): GSIs 0-15 go
// to both the IOAPIC pin of that number and the 8259 pin (master for 0-7, slave for 8-15, pin
// gsi % 8); GSIs 16-23 go to the IOAPIC only. 40 entries.
std::vector<kvm::GsiRoute> default_irqchip_routes();

// The IOAPIC KVM emulates has 24 pins: GSIs 0-23 are the irqchip's, MSI GSIs start above.
inline constexpr uint32_t kIoapicPinCount = 24;

// Which GSI carries which MSI message. One GSI per distinct message, shared by every eventfd
// bound to it (reference counted) and freed with its last user; the lowest free GSI is taken
// first, so GSIs stay dense and are reused.
class MsiGsiAllocator {
  public:
    // GSIs [first_gsi, gsi_limit) carry messages; the table (fixed_routes plus one route per
    // message) may hold at most gsi_limit entries, KVM's KVM_CAP_IRQ_ROUTING answer, which
    // also bounds the GSI numbers.
    MsiGsiAllocator(std::vector<kvm::GsiRoute> fixed_routes, uint32_t first_gsi,
                    uint32_t gsi_limit);

    struct Acquired {
        uint32_t gsi = 0;
        bool new_route = false;  // the table changed: hand it to KVM
    };
    // The GSI of message, one more user. An error when a new message finds no GSI left.
    Result<Acquired> acquire(pci::MsiMessage message);
    // One user fewer; true when that was the last one and the route is gone (the table
    // changed). Releasing a GSI that carries nothing is a broken invariant: it aborts.
    bool release(uint32_t gsi);

    // The fixed routes, then the MSI routes in GSI order: what KVM_SET_GSI_ROUTING gets.
    std::vector<kvm::GsiRoute> routing_table() const;

    std::optional<pci::MsiMessage> message_of(uint32_t gsi) const;
    uint32_t users_of(uint32_t gsi) const;
    size_t message_count() const { return routes_.size(); }
    // How many distinct messages fit at most.
    uint32_t capacity() const { return capacity_; }

  private:
    struct Route {
        pci::MsiMessage message;
        uint32_t users = 0;
    };
    std::vector<kvm::GsiRoute> fixed_routes_;
    uint32_t first_gsi_;
    uint32_t gsi_limit_;
    uint32_t capacity_;
    std::map<uint32_t, Route> routes_;  // by GSI, so the table comes out in order
};

}  // namespace hvmm
