#include "devices/virtio/pci/common_config.h"

#include <array>
#include <cstdlib>

#include "base/log.h"
#include "devices/virtio/pci/virtio_pci_layout.h"

namespace hvmm::virtio {
namespace {

using pci_layout::bits;
using pci_layout::CommonRegister;
using pci_layout::kMsiNoVector;
using pci_layout::offset_of;
using pci_layout::Status;

struct RegisterSpan {
    CommonRegister reg;
    uint8_t size;
};
constexpr std::array<RegisterSpan, 18> kRegisters{{
    {CommonRegister::kDeviceFeatureSelect, 4},
    {CommonRegister::kDeviceFeature, 4},
    {CommonRegister::kDriverFeatureSelect, 4},
    {CommonRegister::kDriverFeature, 4},
    {CommonRegister::kConfigMsixVector, 2},
    {CommonRegister::kNumQueues, 2},
    {CommonRegister::kDeviceStatus, 1},
    {CommonRegister::kConfigGeneration, 1},
    {CommonRegister::kQueueSelect, 2},
    {CommonRegister::kQueueSize, 2},
    {CommonRegister::kQueueMsixVector, 2},
    {CommonRegister::kQueueEnable, 2},
    {CommonRegister::kQueueNotifyOff, 2},
    {CommonRegister::kQueueDesc, 8},
    {CommonRegister::kQueueDriver, 8},
    {CommonRegister::kQueueDevice, 8},
    {CommonRegister::kQueueNotifyData, 2},
    {CommonRegister::kQueueReset, 2},
}};
constexpr uint64_t kStructureEnd = offset_of(CommonRegister::kQueueReset) + 2;

// Driver-writable status bits: DEVICE_NEEDS_RESET is the device's to set.
constexpr uint8_t kDriverStatusBits = static_cast<uint8_t>(~bits(Status::kDeviceNeedsReset));

uint64_t feature_half(uint64_t features, uint32_t select) {
    switch (select) {
        case 0:
            return features & 0xFFFF'FFFF;
        case 1:
            return features >> 32;
        default:
            return 0;  // feature bits 64 and up: none exist
    }
}

}  // namespace

CommonConfig::CommonConfig(VirtioDevice& device, const GuestMemory& memory,
                           VirtioPciInterrupts& interrupts, std::span<const EventFd> kicks,
                           std::string name)
    : device_(device),
      memory_(memory),
      interrupts_(interrupts),
      kicks_(kicks),
      name_(std::move(name)) {
    for (uint16_t index = 0; index < device.queue_count(); ++index) {
        queues_.push_back(Queue{.queue = std::make_unique<SplitQueue>(memory),
                                .size = device.max_queue_size(index)});
    }
    if (kicks.size() != queues_.size()) {
        log::error("{}: {} kick eventfds for {} queues", name_, kicks.size(), queues_.size());
        std::abort();
    }
}

uint64_t CommonConfig::offered_features() const {
    // A modern-only transport always offers VERSION_1 (the driver must take it); it never offers
    // ACCESS_PLATFORM: hvmm has no IOMMU, the device reads guest-physical addresses.
    return (device_.device_features() | kFeatureVersion1) & ~kFeatureAccessPlatform;
}

uint64_t CommonConfig::register_value(uint8_t offset) const {
    const bool selected = queue_select_ < queue_count();
    const Queue* queue = selected ? &queues_[queue_select_] : nullptr;
    switch (static_cast<CommonRegister>(offset)) {
        case CommonRegister::kDeviceFeatureSelect:
            return device_feature_select_;
        case CommonRegister::kDeviceFeature:
            return feature_half(offered_features(), device_feature_select_);
        case CommonRegister::kDriverFeatureSelect:
            return driver_feature_select_;
        case CommonRegister::kDriverFeature:
            return feature_half(driver_features_, driver_feature_select_);
        case CommonRegister::kConfigMsixVector:
            return interrupts_.config_vector();
        case CommonRegister::kNumQueues:
            return queue_count();
        case CommonRegister::kDeviceStatus:
            return status_;
        case CommonRegister::kConfigGeneration:
            return interrupts_.config_generation();
        case CommonRegister::kQueueSelect:
            return queue_select_;
        case CommonRegister::kQueueSize:
            return queue ? queue->size : 0;  // 0: "the queue is unavailable"
        case CommonRegister::kQueueMsixVector:
            return queue ? interrupts_.queue_vector(queue_select_) : kMsiNoVector;
        case CommonRegister::kQueueEnable:
            return queue && queue->queue->enabled() ? 1 : 0;
        case CommonRegister::kQueueNotifyOff:
            return queue ? queue_select_ : 0;
        case CommonRegister::kQueueDesc:
            return queue ? queue->desc : 0;
        case CommonRegister::kQueueDriver:
            return queue ? queue->driver : 0;
        case CommonRegister::kQueueDevice:
            return queue ? queue->device : 0;
        case CommonRegister::kQueueNotifyData:
        case CommonRegister::kQueueReset:
            return 0;
    }
    return 0;
}

void CommonConfig::read(uint64_t offset, std::span<uint8_t> data) const {
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = 0;
    }
    for (const RegisterSpan& reg : kRegisters) {
        const uint64_t start = offset_of(reg.reg);
        if (offset + data.size() <= start || offset >= start + reg.size) {
            continue;
        }
        const uint64_t value = register_value(offset_of(reg.reg));
        for (uint8_t byte = 0; byte < reg.size; ++byte) {
            if (start + byte >= offset && start + byte < offset + data.size()) {
                data[start + byte - offset] = static_cast<uint8_t>(value >> (8 * byte));
            }
        }
    }
}

void CommonConfig::write(uint64_t offset, std::span<const uint8_t> data) {
    if (offset >= kStructureEnd) {
        return;
    }
    for (const RegisterSpan& reg : kRegisters) {
        const uint64_t start = offset_of(reg.reg);
        if (offset + data.size() <= start || offset >= start + reg.size) {
            continue;
        }
        // Merge the written bytes into the register as it reads now.
        uint64_t value = register_value(offset_of(reg.reg));
        for (uint8_t byte = 0; byte < reg.size; ++byte) {
            if (start + byte >= offset && start + byte < offset + data.size()) {
                const uint64_t mask = uint64_t{0xFF} << (8 * byte);
                value = (value & ~mask) | (uint64_t{data[start + byte - offset]} << (8 * byte));
            }
        }
        write_register(offset_of(reg.reg), value);
    }
}

CommonConfig::Queue* CommonConfig::writable_queue(const char* register_name) {
    if (queue_select_ >= queue_count()) {
        ++counters_.queue_select_out_of_range;
        static log::RateLimitedWarning warning;
        warning("{}: {} written with queue_select {} beyond {} queues; ignored", name_,
                register_name, queue_select_, queue_count());
        return nullptr;
    }
    Queue& queue = queues_[queue_select_];
    const bool features_ok = (status_ & bits(Status::kFeaturesOk)) != 0;
    const bool driver_ok = (status_ & bits(Status::kDriverOk)) != 0;
    if (!features_ok || driver_ok || queue.queue->enabled()) {
        // Changing a ring under a device that runs it is how CVE-2026-5747 reached memory the
        // device had validated once; the spec allows these writes only before DRIVER_OK.
        ++counters_.queue_writes_refused;
        static log::RateLimitedWarning warning;
        warning("{}: {} of queue {} written {}; refused", name_, register_name, queue_select_,
                driver_ok      ? "after DRIVER_OK"
                : !features_ok ? "before FEATURES_OK"
                               : "while the queue is enabled");
        return nullptr;
    }
    return &queue;
}

void CommonConfig::write_register(uint8_t offset, uint64_t value) {
    switch (static_cast<CommonRegister>(offset)) {
        case CommonRegister::kDeviceFeatureSelect:
            device_feature_select_ = static_cast<uint32_t>(value);
            return;
        case CommonRegister::kDriverFeatureSelect:
            driver_feature_select_ = static_cast<uint32_t>(value);
            return;
        case CommonRegister::kDriverFeature: {
            if ((status_ & bits(Status::kFeaturesOk)) != 0) {
                ++counters_.feature_writes_refused;
                static log::RateLimitedWarning warning;
                warning("{}: driver features written after FEATURES_OK; refused", name_);
                return;
            }
            if (driver_feature_select_ > 1) {
                return;  // no feature bits there
            }
            const unsigned shift = 32 * driver_feature_select_;
            driver_features_ = (driver_features_ & ~(uint64_t{0xFFFF'FFFF} << shift)) |
                               ((value & 0xFFFF'FFFF) << shift);
            return;
        }
        case CommonRegister::kConfigMsixVector:
            interrupts_.set_config_vector(static_cast<uint16_t>(value));
            return;
        case CommonRegister::kDeviceStatus:
            write_status(static_cast<uint8_t>(value));
            return;
        case CommonRegister::kQueueSelect:
            queue_select_ = static_cast<uint16_t>(value);
            return;
        case CommonRegister::kQueueMsixVector:
            if (queue_select_ >= queue_count()) {
                ++counters_.queue_select_out_of_range;
                return;
            }
            interrupts_.set_queue_vector(queue_select_, static_cast<uint16_t>(value));
            return;
        case CommonRegister::kQueueSize:
            if (Queue* queue = writable_queue("queue_size")) {
                queue->size = static_cast<uint16_t>(value);
            }
            return;
        case CommonRegister::kQueueDesc:
            if (Queue* queue = writable_queue("queue_desc")) {
                queue->desc = value;
            }
            return;
        case CommonRegister::kQueueDriver:
            if (Queue* queue = writable_queue("queue_driver")) {
                queue->driver = value;
            }
            return;
        case CommonRegister::kQueueDevice:
            if (Queue* queue = writable_queue("queue_device")) {
                queue->device = value;
            }
            return;
        case CommonRegister::kQueueEnable:
            if (Queue* queue = writable_queue("queue_enable")) {
                if (value == 1) {
                    enable_queue(*queue);
                }
                // 0 would disable a queue, which only queue_reset (not offered) may do.
            }
            return;
        case CommonRegister::kDeviceFeature:
        case CommonRegister::kNumQueues:
        case CommonRegister::kConfigGeneration:
        case CommonRegister::kQueueNotifyOff:
        case CommonRegister::kQueueNotifyData:
        case CommonRegister::kQueueReset:
            return;  // read-only, or a feature not offered
    }
}

void CommonConfig::enable_queue(Queue& queue) {
    const uint16_t max_size = device_.max_queue_size(queue_select_);
    const SplitQueueConfig config{
        .size = queue.size,
        .desc_table = GuestAddress(queue.desc),
        .avail_ring = GuestAddress(queue.driver),
        .used_ring = GuestAddress(queue.device),
        .event_idx = (driver_features_ & kFeatureEventIdx) != 0,
        .indirect_desc = (driver_features_ & kFeatureIndirectDesc) != 0,
    };
    std::string_view problem;
    if (queue.size > max_size) {
        problem = "size above the device's maximum";
    } else if (auto activated = queue.queue->activate(config); !activated) {
        problem = describe(activated.error());
    }
    if (problem.empty()) {
        return;
    }
    // The queue stays disabled; DEVICE_NEEDS_RESET tells a driver that reads status why its
    // queue never runs (VIRTIO 1.2 2.1.2: the device entered an error state).
    ++counters_.invalid_queue_enables;
    status_ |= bits(Status::kDeviceNeedsReset);
    static log::RateLimitedWarning warning;
    warning("{}: queue {} enabled with an invalid configuration ({}); left disabled", name_,
            queue_select_, problem);
}

bool CommonConfig::features_acceptable() {
    const uint64_t offered = offered_features();
    if ((driver_features_ & kFeatureVersion1) == 0) {
        return false;  // a legacy driver on a modern-only device (VIRTIO 1.2 6.1)
    }
    if ((driver_features_ & ~offered) != 0) {
        return false;
    }
    return device_.accept_features(driver_features_);
}

void CommonConfig::write_status(uint8_t value) {
    if (value == 0) {
        reset();
        return;
    }
    const uint8_t current = status_ & kDriverStatusBits;
    uint8_t wanted = value & kDriverStatusBits;
    if ((wanted & current) != current) {
        ++counters_.status_bits_cleared;
        static log::RateLimitedWarning warning;
        warning("{}: device status {:#x} written over {:#x} clears bits; refused (only 0 resets)",
                name_, value, status_);
        return;
    }
    const uint8_t added = wanted & ~current;
    if ((added & bits(Status::kFeaturesOk)) != 0 && !features_acceptable()) {
        ++counters_.features_refused;
        static log::RateLimitedWarning warning;
        warning(
            "{}: driver features {:#x} refused (offered {:#x}, VERSION_1 is required); "
            "FEATURES_OK stays clear",
            name_, driver_features_, offered_features());
        wanted &= ~bits(Status::kFeaturesOk);
    }
    if ((added & bits(Status::kDriverOk)) != 0 && (wanted & bits(Status::kFeaturesOk)) == 0) {
        ++counters_.driver_ok_refused;
        static log::RateLimitedWarning warning;
        warning("{}: DRIVER_OK without FEATURES_OK; refused", name_);
        wanted &= ~bits(Status::kDriverOk);
    }
    status_ = wanted | (status_ & bits(Status::kDeviceNeedsReset));
    if ((added & bits(Status::kDriverOk)) != 0 && (status_ & bits(Status::kDriverOk)) != 0) {
        if (bus_master_) {
            activate();
        } else {
            ++counters_.waits_for_bus_master;
        }
    }
}

void CommonConfig::set_bus_master(bool enabled) {
    if (enabled == bus_master_)
        return;
    bus_master_ = enabled;
    const bool driver_ok = (status_ & bits(Status::kDriverOk)) != 0;
    if (enabled && config_change_owed_) {
        config_change_owed_ = false;
        interrupts_.signal_config();  // the NEEDS_RESET notice the cleared bit held back
    }
    if (enabled && driver_ok && !device_running_ && !stopped_for_bus_master_) {
        activate();  // DRIVER_OK came first: the device starts now that it may use the bus
    } else if (!enabled && device_running_) {
        // The device returns only once it no longer touches the queues or guest memory. The
        // rings keep what they hold (no used entries are written without the bus); the driver
        // learns of it from DEVICE_NEEDS_RESET and resets, which hands everything back.
        device_.reset();
        device_running_ = false;
        stopped_for_bus_master_ = true;
        status_ |= bits(Status::kDeviceNeedsReset);
        ++counters_.stopped_by_bus_master;
        static log::RateLimitedWarning warning;
        warning("{}: Bus Master cleared while the device ran; stopped, DEVICE_NEEDS_RESET set",
                name_);
        // DRIVER_OK is set (the device ran): the driver is owed a configuration change.
        if (interrupts_.msix_enabled()) {
            config_change_owed_ = true;
        } else {
            interrupts_.signal_config();
        }
    }
}

void CommonConfig::activate() {
    active_queues_.assign(queue_count(), nullptr);
    active_kick_fds_.assign(queue_count(), -1);
    for (uint16_t index = 0; index < queue_count(); ++index) {
        if (queues_[index].queue->enabled()) {
            active_queues_[index] = queues_[index].queue.get();
            active_kick_fds_[index] = kicks_[index].fd();
        }
    }
    interrupts_.set_active_queues(active_queues_);
    ++counters_.activations;
    device_running_ = true;
    device_.activate(ActivationContext{
        .memory = memory_,
        .queues = active_queues_,
        .kick_fds = active_kick_fds_,
        .features = driver_features_,
        .interrupt = interrupts_,
    });
}

void CommonConfig::reset() {
    ++counters_.resets;
    // The device first: it returns only once it no longer touches the queues, so resetting the
    // rings after it cannot race its I/O thread.
    device_.reset();
    device_running_ = false;
    stopped_for_bus_master_ = false;
    config_change_owed_ = false;
    for (Queue& queue : queues_) {
        queue.queue->reset();
    }
    for (uint16_t index = 0; index < queue_count(); ++index) {
        queues_[index].size = device_.max_queue_size(index);
        queues_[index].desc = 0;
        queues_[index].driver = 0;
        queues_[index].device = 0;
    }
    active_queues_.clear();
    active_kick_fds_.clear();
    // A notification the driver wrote before the reset belongs to rings that are gone.
    for (const EventFd& kick : kicks_) {
        kick.consume();
    }
    interrupts_.reset();
    device_feature_select_ = 0;
    driver_feature_select_ = 0;
    driver_features_ = 0;
    queue_select_ = 0;
    status_ = 0;
}

}  // namespace hvmm::virtio
