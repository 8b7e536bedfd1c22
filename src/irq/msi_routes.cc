#include "irq/msi_routes.h"

#include <linux/kvm.h>

#include <algorithm>
#include <cstdlib>

#include "base/log.h"

namespace hvmm {

std::vector<kvm::GsiRoute> default_irqchip_routes() {
    std::vector<kvm::GsiRoute> routes;
    for (uint32_t gsi = 0; gsi < kIoapicPinCount; ++gsi) {
        routes.push_back({.gsi = gsi, .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi});
        if (gsi < 16) {
            const uint32_t chip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
            routes.push_back({.gsi = gsi, .irqchip = chip, .pin = gsi % 8});
        }
    }
    return routes;
}

MsiGsiAllocator::MsiGsiAllocator(std::vector<kvm::GsiRoute> fixed_routes, uint32_t first_gsi,
                                 uint32_t gsi_limit)
    : fixed_routes_(std::move(fixed_routes)), first_gsi_(first_gsi), gsi_limit_(gsi_limit) {
    // Two bounds: the GSI numbers available above first_gsi, and the table's entry count (KVM
    // refuses a table of more than gsi_limit entries, and the fixed routes take their share).
    const uint32_t by_number = gsi_limit_ > first_gsi_ ? gsi_limit_ - first_gsi_ : 0;
    const uint32_t fixed = static_cast<uint32_t>(fixed_routes_.size());
    const uint32_t by_entries = gsi_limit_ > fixed ? gsi_limit_ - fixed : 0;
    capacity_ = std::min(by_number, by_entries);
}

Result<MsiGsiAllocator::Acquired> MsiGsiAllocator::acquire(pci::MsiMessage message) {
    for (auto& [gsi, route] : routes_) {
        if (route.message == message) {
            ++route.users;
            return Acquired{gsi, false};
        }
    }
    if (routes_.size() >= capacity_) {
        return fail("no GSI left for MSI {:#x}/{:#x}: all {} MSI routes KVM allows are in use",
                    message.address, message.data, capacity_);
    }
    // The lowest free GSI: routes_ is ordered, so the first gap (or the end) is it.
    uint32_t gsi = first_gsi_;
    for (const auto& [used, route] : routes_) {
        if (used != gsi)
            break;
        ++gsi;
    }
    routes_.emplace(gsi, Route{message, 1});
    return Acquired{gsi, true};
}

bool MsiGsiAllocator::release(uint32_t gsi) {
    auto found = routes_.find(gsi);
    if (found == routes_.end() || found->second.users == 0) {
        log::error("MsiGsiAllocator: GSI {} released but carries no message", gsi);
        std::abort();
    }
    if (--found->second.users > 0)
        return false;
    routes_.erase(found);
    return true;
}

std::vector<kvm::GsiRoute> MsiGsiAllocator::routing_table() const {
    std::vector<kvm::GsiRoute> table = fixed_routes_;
    for (const auto& [gsi, route] : routes_) {
        table.push_back({.gsi = gsi,
                         .kind = kvm::GsiRoute::Kind::kMsi,
                         .msi_address = route.message.address,
                         .msi_data = route.message.data});
    }
    return table;
}

std::optional<pci::MsiMessage> MsiGsiAllocator::message_of(uint32_t gsi) const {
    auto found = routes_.find(gsi);
    if (found == routes_.end())
        return std::nullopt;
    return found->second.message;
}

uint32_t MsiGsiAllocator::users_of(uint32_t gsi) const {
    auto found = routes_.find(gsi);
    return found == routes_.end() ? 0 : found->second.users;
}

}  // namespace hvmm
