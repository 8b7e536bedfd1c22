#include "irq/kvm_msi_router.h"

#include <linux/kvm.h>

#include "base/log.h"

namespace hvmm {
namespace {

class VmIrqRoutingOps final : public IrqRoutingOps {
  public:
    explicit VmIrqRoutingOps(const kvm::Vm& vm) : vm_(vm) {}
    Result<void> set_gsi_routing(std::span<const kvm::GsiRoute> routes) override {
        return vm_.set_gsi_routing(routes);
    }
    Result<void> add_irqfd(int event_fd, uint32_t gsi) override {
        return vm_.add_irqfd(event_fd, gsi);
    }
    Result<void> remove_irqfd(int event_fd, uint32_t gsi) override {
        return vm_.remove_irqfd(event_fd, gsi);
    }
    Result<bool> signal_msi(uint64_t address, uint32_t data) override {
        return vm_.signal_msi(address, data);
    }

  private:
    const kvm::Vm& vm_;
};

}  // namespace

Result<std::unique_ptr<KvmMsiRouter>> KvmMsiRouter::create(const kvm::Vm& vm) {
    if (!vm.in_kernel_irqchip()) {
        return fail("MSI routing needs KVM's in-kernel irqchip, and this VM has none");
    }
    const int max_routes = vm.check_extension(KVM_CAP_IRQ_ROUTING);
    if (max_routes <= 0) {
        return fail("this KVM lacks KVM_CAP_IRQ_ROUTING: MSI-X cannot be routed");
    }
    if (vm.check_extension(KVM_CAP_IRQFD) <= 0) {
        return fail("this KVM lacks KVM_CAP_IRQFD: MSI-X cannot be delivered without an exit");
    }
    if (vm.check_extension(KVM_CAP_SIGNAL_MSI) <= 0) {
        return fail("this KVM lacks KVM_CAP_SIGNAL_MSI: a pending MSI-X vector cannot be sent");
    }
    return std::make_unique<KvmMsiRouter>(std::make_unique<VmIrqRoutingOps>(vm),
                                          static_cast<uint32_t>(max_routes));
}

KvmMsiRouter::KvmMsiRouter(std::unique_ptr<IrqRoutingOps> ops, uint32_t gsi_limit)
    : ops_(std::move(ops)), allocator_(default_irqchip_routes(), kIoapicPinCount, gsi_limit) {}

Result<void> KvmMsiRouter::bind(int event_fd, pci::MsiMessage message) {
    std::lock_guard lock(mutex_);
    std::optional<uint32_t> old_gsi;
    if (auto found = bindings_.find(event_fd); found != bindings_.end()) {
        if (allocator_.message_of(found->second) == message)
            return {};  // already there: nothing to change
        old_gsi = found->second;
    }
    auto acquired = allocator_.acquire(message);
    if (!acquired) {
        count_failure(acquired.error());
        return std::unexpected(acquired.error());
    }
    const uint32_t gsi = acquired->gsi;
    // The old binding goes first: KVM refuses an eventfd that is an irqfd already (EBUSY). A
    // signal arriving in between stays in the eventfd's counter, and KVM polls the fd when the
    // new irqfd is assigned, so it is delivered to the new message, not lost.
    if (old_gsi) {
        if (auto removed = ops_->remove_irqfd(event_fd, *old_gsi); !removed) {
            count_failure(removed.error());
        }
        bindings_.erase(event_fd);
        // A route freed here is dropped with the next table this call pushes (or later): a
        // stale route with no irqfd on it delivers nothing.
        const bool old_route_gone = allocator_.release(*old_gsi);
        if (old_route_gone && !acquired->new_route) {
            (void)push_table();
        }
    }
    if (acquired->new_route) {
        if (auto pushed = push_table(); !pushed) {
            allocator_.release(gsi);
            return std::unexpected(pushed.error());
        }
    }
    if (auto added = ops_->add_irqfd(event_fd, gsi); !added) {
        count_failure(added.error());
        // The route stays out of KVM's next table; the one KVM holds now is a harmless extra.
        allocator_.release(gsi);
        return std::unexpected(added.error());
    }
    bindings_[event_fd] = gsi;
    ++counters_.bindings;
    return {};
}

void KvmMsiRouter::unbind(int event_fd) {
    std::lock_guard lock(mutex_);
    auto found = bindings_.find(event_fd);
    if (found == bindings_.end())
        return;
    const uint32_t gsi = found->second;
    bindings_.erase(found);
    if (auto removed = ops_->remove_irqfd(event_fd, gsi); !removed) {
        count_failure(removed.error());
    }
    ++counters_.unbindings;
    if (allocator_.release(gsi)) {
        (void)push_table();
    }
}

void KvmMsiRouter::signal(pci::MsiMessage message) {
    auto delivered = ops_->signal_msi(message.address, message.data);
    if (!delivered) {
        signal_failures_.fetch_add(1, std::memory_order_relaxed);
        static log::RateLimitedWarning warning;
        warning("{}", delivered.error().message);
        return;
    }
    signals_.fetch_add(1, std::memory_order_relaxed);
    if (!*delivered)
        signals_blocked_.fetch_add(1, std::memory_order_relaxed);
}

std::optional<uint32_t> KvmMsiRouter::bound_gsi(int event_fd) const {
    std::lock_guard lock(mutex_);
    auto found = bindings_.find(event_fd);
    if (found == bindings_.end())
        return std::nullopt;
    return found->second;
}

uint32_t KvmMsiRouter::capacity() const {
    std::lock_guard lock(mutex_);
    return allocator_.capacity();
}

KvmMsiRouter::Counters KvmMsiRouter::counters() const {
    std::lock_guard lock(mutex_);
    Counters snapshot = counters_;
    snapshot.signals = signals_.load(std::memory_order_relaxed);
    snapshot.signals_blocked = signals_blocked_.load(std::memory_order_relaxed);
    snapshot.failures += signal_failures_.load(std::memory_order_relaxed);
    return snapshot;
}

Result<void> KvmMsiRouter::push_table() {
    const auto table = allocator_.routing_table();
    if (auto pushed = ops_->set_gsi_routing(table); !pushed) {
        count_failure(pushed.error());
        return pushed;
    }
    ++counters_.routing_updates;
    return {};
}

void KvmMsiRouter::count_failure(const Error& error) {
    ++counters_.failures;
    static log::RateLimitedWarning warning;
    warning("MSI routing: {}", error.message);
}

}  // namespace hvmm
