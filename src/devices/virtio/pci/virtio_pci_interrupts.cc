#include "devices/virtio/pci/virtio_pci_interrupts.h"

#include "base/log.h"
#include "devices/virtio/pci/virtio_pci_layout.h"

namespace hvmm::virtio {

using pci_layout::kMsiNoVector;

Result<std::unique_ptr<VirtioPciInterrupts>> VirtioPciInterrupts::create(uint16_t queue_count,
                                                                         EventLoop& loop,
                                                                         pci::MsiRouter& router,
                                                                         IrqLine& intx,
                                                                         std::string name) {
    if (queue_count == 0 || queue_count >= pci::MsixTable::kMaxVectors) {
        return fail("{}: {} queues cannot each have an MSI-X vector", name, queue_count);
    }
    std::vector<Source> sources;
    sources.reserve(queue_count + 1u);
    for (uint32_t i = 0; i <= queue_count; ++i) {
        EventFd call = HVMM_TRY(EventFd::create());
        sources.push_back(Source{.call = std::move(call)});
    }
    auto interrupts = std::unique_ptr<VirtioPciInterrupts>(
        new VirtioPciInterrupts(std::move(sources), loop, router, intx, std::move(name)));
    std::lock_guard lock(interrupts->mutex_);
    interrupts->sync_routes_locked();  // MSI-X starts disabled: every fd watched, for INTx
    return interrupts;
}

VirtioPciInterrupts::VirtioPciInterrupts(std::vector<Source> sources, EventLoop& loop,
                                         pci::MsiRouter& router, IrqLine& intx, std::string name)
    : sources_(std::move(sources)),
      table_(static_cast<uint16_t>(sources_.size())),
      loop_(loop),
      router_(router),
      intx_(intx),
      name_(std::move(name)) {
    liveness_->owner = this;
}

VirtioPciInterrupts::~VirtioPciInterrupts() {
    {
        // From here a callback the loop is about to run finds no owner; one running now has
        // finished when this lock is taken.
        std::lock_guard token(liveness_->mutex);
        liveness_->owner = nullptr;
    }
    std::lock_guard lock(mutex_);
    for (uint16_t source = 0; source < sources_.size(); ++source) {
        unwatch_locked(source);
        if (sources_[source].bound) {
            router_.unbind(sources_[source].call.fd());
            sources_[source].bound = false;
        }
    }
}

void VirtioPciInterrupts::signal_used(uint16_t index) {
    std::lock_guard lock(mutex_);
    if (index >= config_source()) {
        return;
    }
    deliver_locked(index);
}

void VirtioPciInterrupts::signal_config() {
    // The generation changes before the notification, so a driver woken by it re-reads a
    // configuration whose generation differs from the one it held (VIRTIO 1.2 4.1.4.3.1).
    config_generation_.fetch_add(1);
    std::lock_guard lock(mutex_);
    // Before DRIVER_OK the driver has not set up its handler; it reads the configuration (and
    // its generation) when it is ready, so the change is not lost, only not announced.
    if (!driver_ok_) {
        ++counters_.config_before_driver_ok;
        return;
    }
    deliver_locked(config_source());
}

int VirtioPciInterrupts::call_fd(uint16_t index) {
    std::lock_guard lock(mutex_);
    if (index >= config_source() || !sources_[index].active) {
        return -1;
    }
    return sources_[index].call.fd();
}

uint16_t VirtioPciInterrupts::set_queue_vector(uint16_t queue, uint16_t vector) {
    std::lock_guard lock(mutex_);
    if (queue >= config_source()) {
        return kMsiNoVector;
    }
    return set_vector_locked(queue, vector);
}

uint16_t VirtioPciInterrupts::set_config_vector(uint16_t vector) {
    std::lock_guard lock(mutex_);
    return set_vector_locked(config_source(), vector);
}

uint16_t VirtioPciInterrupts::set_vector_locked(uint16_t source, uint16_t vector) {
    if (vector != kMsiNoVector && vector >= table_.vector_count()) {
        // VIRTIO 1.2 4.1.5.1.2: a vector the device cannot map reads back NO_VECTOR, which is
        // how the driver learns it was refused.
        ++counters_.vector_out_of_range;
        static log::RateLimitedWarning warning;
        warning("{}: MSI-X vector {} is beyond the table of {}; refused", name_, vector,
                table_.vector_count());
        vector = kMsiNoVector;
    }
    sources_[source].vector = vector;
    sync_routes_locked();
    return vector;
}

uint16_t VirtioPciInterrupts::queue_vector(uint16_t queue) const {
    std::lock_guard lock(mutex_);
    return queue < config_source() ? sources_[queue].vector : kMsiNoVector;
}

uint16_t VirtioPciInterrupts::config_vector() const {
    std::lock_guard lock(mutex_);
    return sources_[config_source()].vector;
}

void VirtioPciInterrupts::read_msix_table(uint64_t offset, std::span<uint8_t> data) const {
    std::lock_guard lock(mutex_);
    table_.read_table(offset, data);
}

void VirtioPciInterrupts::write_msix_table(uint64_t offset, std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (table_.write_table(offset, data)) {
        sync_routes_locked();
    }
}

void VirtioPciInterrupts::read_msix_pba(uint64_t offset, std::span<uint8_t> data) const {
    std::lock_guard lock(mutex_);
    table_.read_pba(offset, data);
}

bool VirtioPciInterrupts::msix_enabled() const {
    std::lock_guard lock(mutex_);
    return table_.enabled();
}

void VirtioPciInterrupts::set_msix_control(uint16_t message_control) {
    std::lock_guard lock(mutex_);
    const bool was_enabled = table_.enabled();
    const bool was_masked = table_.function_masked();
    table_.set_control(message_control);
    if (table_.enabled() != was_enabled || table_.function_masked() != was_masked) {
        sync_routes_locked();
        update_intx_locked();
    }
}

void VirtioPciInterrupts::set_intx_disabled(bool disabled) {
    std::lock_guard lock(mutex_);
    intx_disabled_ = disabled;
    update_intx_locked();
}

std::array<uint8_t, pci::MsixTable::kCapabilityBodySize> VirtioPciInterrupts::msix_capability_body(
    uint8_t bar, uint32_t table_offset, uint32_t pba_offset) const {
    std::lock_guard lock(mutex_);
    return table_.capability_body(bar, table_offset, pba_offset);
}

uint8_t VirtioPciInterrupts::read_and_clear_isr() {
    std::lock_guard lock(mutex_);
    const uint8_t value = isr_;
    isr_ = 0;
    update_intx_locked();
    return value;
}

bool VirtioPciInterrupts::intx_status() const {
    std::lock_guard lock(mutex_);
    return isr_ != 0 && !table_.enabled();
}

void VirtioPciInterrupts::set_active_queues(std::span<SplitQueue* const> queues) {
    std::lock_guard lock(mutex_);
    for (uint16_t queue = 0; queue < config_source(); ++queue) {
        sources_[queue].active = queue < queues.size() && queues[queue] != nullptr;
    }
    driver_ok_ = true;
}

void VirtioPciInterrupts::reset() {
    std::lock_guard lock(mutex_);
    for (Source& source : sources_) {
        source.vector = kMsiNoVector;
        source.active = false;
    }
    driver_ok_ = false;
    sync_routes_locked();  // every fd is watched now (no vector), so nothing reaches KVM
    for (Source& source : sources_) {
        source.call.consume();
    }
    isr_ = 0;
    update_intx_locked();
}

VirtioPciInterruptCounters VirtioPciInterrupts::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void VirtioPciInterrupts::deliver_locked(uint16_t source) {
    if (!table_.enabled()) {
        // INTx (VIRTIO 1.2 4.1.4.5): the ISR bit says why, the level stays up until it is read.
        isr_ |= source == config_source() ? pci_layout::kIsrConfig : pci_layout::kIsrQueue;
        update_intx_locked();
        return;
    }
    const uint16_t vector = sources_[source].vector;
    if (vector == kMsiNoVector) {
        ++counters_.no_vector;
        return;
    }
    if (table_.masked(vector)) {
        // PCI 3.0 6.8.3.4: a masked vector's message is held as a pending bit.
        ++counters_.pending_set;
        table_.set_pending(vector, true);
        return;
    }
    router_.signal(table_.message(vector));
}

void VirtioPciInterrupts::on_watched_signal(uint16_t source) {
    std::lock_guard lock(mutex_);
    // The route may have changed since epoll woke this thread: once the fd is bound it is
    // KVM's to consume, so only a still-watched fd is read here.
    if (source >= sources_.size() || !sources_[source].watched) {
        return;
    }
    if (sources_[source].call.consume() != 0) {
        deliver_locked(source);
    }
}

void VirtioPciInterrupts::watch_locked(uint16_t source) {
    Source& entry = sources_[source];
    if (entry.watched) {
        return;
    }
    auto added = loop_.add_fd(entry.call.fd(), [liveness = liveness_, source](uint32_t) {
        std::lock_guard token(liveness->mutex);
        if (liveness->owner != nullptr) {
            liveness->owner->on_watched_signal(source);
        }
    });
    if (!added) {
        ++counters_.watch_failures;
        static log::RateLimitedWarning warning;
        warning("{}: cannot watch an interrupt eventfd: {}", name_, added.error().message);
        return;
    }
    entry.watched = true;
}

void VirtioPciInterrupts::unwatch_locked(uint16_t source) {
    Source& entry = sources_[source];
    if (entry.watched) {
        loop_.remove_fd(entry.call.fd());
        entry.watched = false;
    }
}

void VirtioPciInterrupts::sync_routes_locked() {
    for (uint16_t index = 0; index < sources_.size(); ++index) {
        Source& source = sources_[index];
        const uint16_t vector = source.vector;
        const bool deliverable =
            table_.enabled() && vector != kMsiNoVector && !table_.masked(vector);
        if (!deliverable) {
            if (source.bound) {
                router_.unbind(source.call.fd());
                source.bound = false;
            }
            // A count left in the fd after unbinding wakes the watch at once (epoll is
            // level-triggered) and lands in the pending bit or the ISR.
            watch_locked(index);
            continue;
        }
        const pci::MsiMessage message = table_.message(vector);
        if (source.bound && source.message == message) {
            continue;
        }
        if (source.watched) {
            unwatch_locked(index);
            // A signal that arrived while the fd was watched and was not read yet: take it here
            // so it is delivered once, not once by us and again by KVM when the fd is bound.
            if (source.call.consume() != 0) {
                table_.set_pending(vector, true);
            }
        }
        if (auto bound = router_.bind(source.call.fd(), message); !bound) {
            ++counters_.bind_failures;
            static log::RateLimitedWarning warning;
            warning(
                "{}: MSI-X vector {} cannot be routed in the kernel ({}); delivering it "
                "from userspace",
                name_, vector, bound.error().message);
            // The fd may still be bound to the vector's old message: unbind it before watching
            // it, or KVM and this thread would both consume it (and the old message fire).
            router_.unbind(source.call.fd());
            source.bound = false;
            watch_locked(index);
            continue;
        }
        source.bound = true;
        source.message = message;
    }
    // PCI 3.0 6.8.3.4: a vector unmasked with its pending bit set sends its message once.
    if (table_.enabled()) {
        for (uint16_t vector = 0; vector < table_.vector_count(); ++vector) {
            if (table_.pending(vector) && !table_.masked(vector)) {
                table_.set_pending(vector, false);
                ++counters_.pending_delivered;
                router_.signal(table_.message(vector));
            }
        }
    }
}

void VirtioPciInterrupts::update_intx_locked() {
    const bool level = isr_ != 0 && !intx_disabled_ && !table_.enabled();
    if (level == intx_level_) {
        return;
    }
    if (level) {
        ++counters_.intx_raised;
    }
    intx_level_ = level;
    intx_.set_level(level);
}

}  // namespace hvmm::virtio
