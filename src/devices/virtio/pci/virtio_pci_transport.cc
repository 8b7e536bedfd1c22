#include "devices/virtio/pci/virtio_pci_transport.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>

#include "base/log.h"
#include "devices/pci/capability_list.h"
#include "devices/pci/msix_table.h"

namespace hvmm::virtio {
namespace {

using pci_layout::BarLayout;
using pci_layout::CapabilityType;
using pci_layout::Region;

pci::FunctionIdentity identity(const VirtioDevice& device) {
    const uint16_t device_id =
        static_cast<uint16_t>(pci_layout::kDeviceIdBase + device.device_type());
    return pci::FunctionIdentity{
        .vendor_id = pci_layout::kVendorId,
        .device_id = device_id,
        .revision_id = pci_layout::kRevisionId,
        .class_code = device.pci_class_code(),
        // VIRTIO 1.2 4.1.2.1: the subsystem vendor is what Linux reports as the virtio vendor;
        // a non-transitional device's subsystem ID is 0x40 or higher.
        .subsystem_vendor_id = pci_layout::kVendorId,
        .subsystem_id = device_id,
        .interrupt_pin = 1,  // INTA#
        // Interrupt Disable is implemented: Linux sets it when it turns MSI-X on.
        .implemented_command_bits =
            pci::bits(pci::CommandBit::kMemorySpace) | pci::bits(pci::CommandBit::kBusMaster) |
            pci::bits(pci::CommandBit::kParityErrorResponse) |
            pci::bits(pci::CommandBit::kSerrEnable) | pci::bits(pci::CommandBit::kInterruptDisable),
    };
}

void put32(std::span<uint8_t> out, uint32_t value) {
    for (size_t i = 0; i < 4; ++i) {
        out[i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

// A virtio_pci_cap's bytes after the PCI header (cap_len onward), plus `extra` trailing bytes.
std::vector<uint8_t> virtio_cap_body(uint8_t cap_length, CapabilityType type, uint32_t offset,
                                     uint32_t length) {
    std::vector<uint8_t> body(cap_length - 2, 0);
    body[0] = cap_length;
    body[1] = static_cast<uint8_t>(type);
    body[2] = static_cast<uint8_t>(pci_layout::kBar);
    body[3] = 0;  // id: one structure of each type
    put32(std::span(body).subspan(pci_layout::kCapOffsetOffset - 2, 4), offset);
    put32(std::span(body).subspan(pci_layout::kCapLengthOffset - 2, 4), length);
    return body;
}

template <class T>
T or_abort(Result<T> result, std::string_view name) {
    // The capabilities are fixed by this file and the device's sizes: a failure is a bug here.
    if (!result) {
        log::error("{}: {}", name, result.error().message);
        std::abort();
    }
    return *result;
}

}  // namespace

Result<std::unique_ptr<VirtioPciTransport>> VirtioPciTransport::create(
    VirtioDevice& device, const GuestMemory& memory, EventLoop& loop, pci::MsiRouter& router,
    IrqLine& intx, std::string name) {
    const uint16_t queue_count = device.queue_count();
    if (queue_count == 0) {
        return fail("{}: a virtio device without queues", name);
    }
    if (device.config_size() > BarLayout::kPage) {
        return fail("{}: device configuration of {} bytes exceeds one page", name,
                    device.config_size());
    }
    for (uint16_t index = 0; index < queue_count; ++index) {
        const uint16_t size = device.max_queue_size(index);
        if (size == 0 || !std::has_single_bit(size) || size > 32768) {
            return fail("{}: queue {} maximum size {} is not a power of two up to 32768", name,
                        index, size);
        }
    }
    std::vector<EventFd> kicks;
    kicks.reserve(queue_count);
    for (uint16_t index = 0; index < queue_count; ++index) {
        kicks.push_back(HVMM_TRY(EventFd::create()));
    }
    auto interrupts = HVMM_TRY(VirtioPciInterrupts::create(queue_count, loop, router, intx, name));
    return std::unique_ptr<VirtioPciTransport>(new VirtioPciTransport(
        device, memory, std::move(kicks), std::move(interrupts), std::move(name)));
}

VirtioPciTransport::VirtioPciTransport(VirtioDevice& device, const GuestMemory& memory,
                                       std::vector<EventFd> kicks,
                                       std::unique_ptr<VirtioPciInterrupts> interrupts,
                                       std::string name)
    : device_(device),
      name_(std::move(name)),
      layout_(BarLayout::compute(device.queue_count(), device.config_size())),
      config_(identity(device)),
      kicks_(std::move(kicks)),
      interrupts_(std::move(interrupts)),
      common_(device, memory, *interrupts_, kicks_, name_),
      window_(*this) {
    or_abort(config_.define_bar(kBar, pci::BarSpec{.kind = pci::BarKind::kMmio,
                                                   .size = layout_.bar_size,
                                                   .prefetchable = true,
                                                   .is_64bit = true}),
             name_);
    build_capabilities();
}

VirtioPciTransport::~VirtioPciTransport() {
    std::lock_guard lock(mutex_);
    // The device must not run on queues this object owns once it is gone.
    if (common_.status() != 0) {
        common_.reset();
    }
}

void VirtioPciTransport::build_capabilities() {
    pci::CapabilityList list(config_);
    const auto msix_body = interrupts_->msix_capability_body(
        static_cast<uint8_t>(kBar), layout_.msix_table_offset, layout_.msix_pba_offset);
    msix_capability_ = or_abort(
        list.add(pci::CapabilityId::kMsix, msix_body, pci::MsixTable::capability_writable()),
        name_);

    const auto add_virtio = [&](std::vector<uint8_t> body, std::vector<uint8_t> writable = {}) {
        return or_abort(list.add(pci::CapabilityId::kVendorSpecific, body, writable), name_);
    };
    add_virtio(virtio_cap_body(pci_layout::kCapLength, CapabilityType::kCommon,
                               BarLayout::kCommonOffset, BarLayout::kCommonLength));
    auto notify = virtio_cap_body(pci_layout::kNotifyCapLength, CapabilityType::kNotify,
                                  BarLayout::kNotifyOffset, layout_.notify_length);
    put32(std::span(notify).subspan(pci_layout::kCapLength - 2, 4),
          pci_layout::kNotifyOffMultiplier);
    add_virtio(notify);
    add_virtio(virtio_cap_body(pci_layout::kCapLength, CapabilityType::kIsr, BarLayout::kIsrOffset,
                               BarLayout::kIsrLength));
    if (layout_.device_length > 0) {
        add_virtio(virtio_cap_body(pci_layout::kCapLength, CapabilityType::kDevice,
                                   BarLayout::kDeviceOffset, layout_.device_length));
    }
    // PCI_CFG: the driver writes bar, offset, length and then accesses pci_cfg_data; those four
    // fields are the capability's only writable bytes. Its offset and length start at 0.
    auto pci_cfg = virtio_cap_body(pci_layout::kPciCfgCapLength, CapabilityType::kPci, 0, 0);
    std::vector<uint8_t> writable(pci_cfg.size(), 0);
    writable[pci_layout::kCapBarOffset - 2] = 0xFF;
    for (uint8_t i = 0; i < 4; ++i) {
        writable[pci_layout::kCapOffsetOffset - 2 + i] = 0xFF;
        writable[pci_layout::kCapLengthOffset - 2 + i] = 0xFF;
        writable[pci_layout::kPciCfgDataOffset - 2 + i] = 0xFF;
    }
    pci_cfg_capability_ = add_virtio(pci_cfg, writable);
}

void VirtioPciTransport::config_read(uint8_t offset, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (touches_pci_cfg_data(offset, data.size())) {
        pci_cfg_access_locked(/*write=*/false);
    }
    config_.set_status_bits(pci::bits(pci::StatusBit::kInterruptStatus),
                            interrupts_->intx_status());
    config_.read(offset, data);
}

std::vector<pci::BarChange> VirtioPciTransport::config_write(uint8_t offset,
                                                             std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    auto changes = config_.write(offset, data);
    if (touches_pci_cfg_data(offset, data.size())) {
        pci_cfg_access_locked(/*write=*/true);
    }
    interrupts_->set_msix_control(
        config_.read16(static_cast<uint8_t>(msix_capability_ + pci::MsixTable::kControlOffset)));
    interrupts_->set_intx_disabled(
        (config_.command() & pci::bits(pci::CommandBit::kInterruptDisable)) != 0);
    common_.set_bus_master((config_.command() & pci::bits(pci::CommandBit::kBusMaster)) != 0);
    return changes;
}

BusDevice* VirtioPciTransport::bar_device(int index) {
    return index == kBar ? &window_ : nullptr;
}

std::vector<NotifyAddress> VirtioPciTransport::notify_addresses() const {
    std::vector<NotifyAddress> addresses;
    for (uint16_t queue = 0; queue < kicks_.size(); ++queue) {
        addresses.push_back(NotifyAddress{
            .queue = queue,
            .bar_offset =
                BarLayout::kNotifyOffset + uint64_t{queue} * pci_layout::kNotifyOffMultiplier,
            .kick_fd = kicks_[queue].fd()});
    }
    return addresses;
}

uint8_t VirtioPciTransport::device_status() const {
    std::lock_guard lock(mutex_);
    return common_.status();
}

VirtioPciTransportCounters VirtioPciTransport::counters() const {
    std::lock_guard lock(mutex_);
    return VirtioPciTransportCounters{
        .common = common_.counters(),
        .interrupts = interrupts_->counters(),
        .kicks = kicks_count_,
        .bad_notifies = bad_notifies_,
        .device_config_out_of_range = device_config_out_of_range_,
        .unmapped_bar_accesses = unmapped_bar_accesses_,
        .pci_cfg_refused = pci_cfg_refused_,
    };
}

void VirtioPciTransport::BarWindow::read(const BusAccess& access, std::span<uint8_t> data) {
    std::lock_guard lock(transport_.mutex_);
    transport_.bar_read_locked(access.offset, data);
}

void VirtioPciTransport::BarWindow::write(const BusAccess& access, std::span<const uint8_t> data) {
    std::lock_guard lock(transport_.mutex_);
    transport_.bar_write_locked(access.offset, data);
}

void VirtioPciTransport::bar_read_locked(uint64_t offset, std::span<uint8_t> data) {
    std::fill(data.begin(), data.end(), 0);
    const auto hit = layout_.locate(offset, data.size());
    switch (hit.region) {
        case Region::kCommon:
            common_.read(hit.offset, data);
            return;
        case Region::kIsr:
            // Reading ISR status clears it (and lowers INTx): only the byte at offset 0 is it.
            if (hit.offset == 0 && !data.empty()) {
                data[0] = interrupts_->read_and_clear_isr();
            }
            return;
        case Region::kDevice:
            if (hit.offset + data.size() <= device_.config_size()) {
                device_.read_config(static_cast<uint32_t>(hit.offset), data);
            } else {
                ++device_config_out_of_range_;
                static log::RateLimitedWarning warning;
                warning("{}: device configuration read at {:#x}+{} past its {} bytes; reads 0",
                        name_, hit.offset, data.size(), device_.config_size());
            }
            return;
        case Region::kNotify:
            return;  // write-only
        case Region::kMsixTable:
            interrupts_->read_msix_table(hit.offset, data);
            return;
        case Region::kMsixPba:
            interrupts_->read_msix_pba(hit.offset, data);
            return;
        case Region::kNone:
            break;
    }
    ++unmapped_bar_accesses_;
    static log::RateLimitedWarning warning;
    warning("{}: BAR read at {:#x}+{} in no register region; reads 0", name_, offset, data.size());
}

void VirtioPciTransport::bar_write_locked(uint64_t offset, std::span<const uint8_t> data) {
    const auto hit = layout_.locate(offset, data.size());
    switch (hit.region) {
        case Region::kCommon:
            common_.write(hit.offset, data);
            return;
        case Region::kIsr:
            return;  // read-only
        case Region::kDevice:
            if (hit.offset + data.size() <= device_.config_size()) {
                device_.write_config(static_cast<uint32_t>(hit.offset), data);
            } else {
                ++device_config_out_of_range_;
                static log::RateLimitedWarning warning;
                warning("{}: device configuration write at {:#x}+{} past its {} bytes; ignored",
                        name_, hit.offset, data.size(), device_.config_size());
            }
            return;
        case Region::kNotify: {
            // queue_notify_off is the queue index, so the address names the queue; the value
            // written (the index again, or notification data) adds nothing.
            const uint64_t queue = hit.offset / pci_layout::kNotifyOffMultiplier;
            if (hit.offset % pci_layout::kNotifyOffMultiplier == 0 && queue < kicks_.size()) {
                ++kicks_count_;
                kicks_[queue].signal();
            } else {
                ++bad_notifies_;
                static log::RateLimitedWarning warning;
                warning("{}: notify write at {:#x} names no queue; ignored", name_, hit.offset);
            }
            return;
        }
        case Region::kMsixTable:
            interrupts_->write_msix_table(hit.offset, data);
            return;
        case Region::kMsixPba:
            return;  // read-only
        case Region::kNone:
            break;
    }
    ++unmapped_bar_accesses_;
    static log::RateLimitedWarning warning;
    warning("{}: BAR write at {:#x}+{} in no register region; ignored", name_, offset, data.size());
}

bool VirtioPciTransport::touches_pci_cfg_data(uint8_t offset, size_t size) const {
    const size_t start = size_t{pci_cfg_capability_} + pci_layout::kPciCfgDataOffset;
    return offset < start + 4 && size_t{offset} + size > start;
}

void VirtioPciTransport::pci_cfg_access_locked(bool write) {
    const uint8_t cap = pci_cfg_capability_;
    const uint8_t bar = config_.read8(static_cast<uint8_t>(cap + pci_layout::kCapBarOffset));
    const uint32_t offset =
        config_.read32(static_cast<uint8_t>(cap + pci_layout::kCapOffsetOffset));
    const uint32_t length =
        config_.read32(static_cast<uint8_t>(cap + pci_layout::kCapLengthOffset));
    const auto data_offset = static_cast<uint8_t>(cap + pci_layout::kPciCfgDataOffset);
    // VIRTIO 1.2 4.1.4.9: length 1, 2 or 4, offset a multiple of it, in a BAR the function has.
    if (bar != kBar || (length != 1 && length != 2 && length != 4) || offset % length != 0 ||
        uint64_t{offset} + length > layout_.bar_size) {
        ++pci_cfg_refused_;
        static log::RateLimitedWarning warning;
        warning("{}: PCI_CFG access to BAR {} at {:#x} length {}; ignored", name_, bar, offset,
                length);
        return;
    }
    std::array<uint8_t, 4> window{};
    const auto bytes = std::span(window).first(length);
    if (write) {
        config_.read(data_offset, bytes);
        bar_write_locked(offset, bytes);
    } else {
        bar_read_locked(offset, bytes);
        config_.set_device_bytes(data_offset, bytes);
    }
}

}  // namespace hvmm::virtio
