#include "devices/pci/pci_host_bridge.h"

#include <algorithm>

#include "base/checked.h"
#include "irq/pci_irq_routing.h"

namespace hvmm::pci {
namespace {

// Configuration address register (0xCF8) fields.
constexpr uint32_t kAddressEnable = 1u << 31;         // data port accesses go to config space
constexpr uint32_t kAddressStoredBits = 0x80FF'FFFC;  // reserved bits 30-24 and 1-0 read as 0
constexpr uint32_t kAddressBusShift = 16;
constexpr uint32_t kAddressDeviceShift = 11;
constexpr uint32_t kAddressFunctionShift = 8;
constexpr uint32_t kAddressRegisterMask = 0xFC;

class HostBridgeFunction final : public ConfigSpaceFunction {
  public:
    HostBridgeFunction()
        : ConfigSpaceFunction(FunctionIdentity{
              .vendor_id = PciHostBridge::kIntelVendorId,
              .device_id = PciHostBridge::kI440fxDeviceId,
              .class_code = PciHostBridge::kHostBridgeClass,
              .status = bits(StatusBit::kDevselMedium),
          }) {}
    BusDevice* bar_device(int) override { return nullptr; }
    std::string_view name() const override { return "host-bridge"; }
};

std::array<uint8_t, 4> dword_le(uint32_t value) {
    return {static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
            static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
}

uint64_t align_up(uint64_t value, uint64_t alignment) {
    return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

PciHostBridge::PciHostBridge(BarChangeHandler on_bar_change)
    : on_bar_change_(std::move(on_bar_change)), self_(std::make_unique<HostBridgeFunction>()) {
    slots_[0] = self_.get();
}

PciHostBridge::~PciHostBridge() = default;

Result<uint8_t> PciHostBridge::add(PciFunction& function) {
    std::lock_guard lock(mutex_);
    const auto free = std::find(slots_.begin(), slots_.end(), nullptr);
    if (free == slots_.end()) {
        return fail("PCI bus 0 has no free slot for {}", function.name());
    }
    *free = &function;
    return static_cast<uint8_t>(free - slots_.begin());
}

Result<uint8_t> PciHostBridge::add(PciFunction& function, uint8_t slot) {
    std::lock_guard lock(mutex_);
    if (slot >= kSlotCount) {
        return fail("PCI slot {} for {} is out of range 0-31", slot, function.name());
    }
    if (slots_[slot] != nullptr) {
        return fail("PCI slot {} for {} is taken by {}", slot, function.name(),
                    slots_[slot]->name());
    }
    slots_[slot] = &function;
    return slot;
}

PciFunction* PciHostBridge::function_at(uint8_t slot) const {
    std::lock_guard lock(mutex_);
    return slot < kSlotCount ? slots_[slot] : nullptr;
}

Result<void> PciHostBridge::assign_initial_resources() {
    std::lock_guard lock(mutex_);
    uint64_t next_io = kFirstIoBase;
    uint64_t next_mmio = kFirstMmioBase;
    for (uint8_t slot = 0; slot < kSlotCount; ++slot) {
        PciFunction* function = slots_[slot];
        if (function == nullptr) {
            continue;
        }
        ConfigSpace& config = function->config_space();
        uint16_t decode = 0;
        for (int index = 0; index < kBarCount; ++index) {
            const auto& spec = config.bar_spec(index);
            if (!spec) {
                continue;
            }
            const bool io = spec->kind == BarKind::kIo;
            uint64_t& next = io ? next_io : next_mmio;
            const uint64_t base = align_up(next, spec->size);
            if (!range_within(base, spec->size, io ? kIoLimit : kMmioLimit)) {
                return fail("PCI {} space is exhausted assigning BAR {} of {} ({} bytes)",
                            io ? "I/O" : "memory", index, function->name(), spec->size);
            }
            next = base + spec->size;
            // A 64-bit BAR gets its upper half first (0: the window lies below 4 GiB), so the
            // pair never holds a half-written address once decode is on.
            if (spec->is_64bit) {
                report(*function, function->config_write(bar_offset(index + 1), dword_le(0)));
            }
            report(*function, function->config_write(bar_offset(index),
                                                      dword_le(static_cast<uint32_t>(base))));
            decode |= bits(io ? CommandBit::kIoSpace : CommandBit::kMemorySpace);
        }
        if (decode != 0) {
            const uint16_t command = config.command() | decode;
            const std::array<uint8_t, 2> le{static_cast<uint8_t>(command),
                                            static_cast<uint8_t>(command >> 8)};
            report(*function, function->config_write(offset_of(ConfigRegister::kCommand), le));
        }
        const uint8_t pin = config.read8(offset_of(ConfigRegister::kInterruptPin));
        if (pin >= 1 && pin <= 4) {
            config.set_interrupt_line(static_cast<uint8_t>(intx_gsi(slot, pin - 1)));
        }
    }
    return {};
}

std::optional<PciHostBridge::Target> PciHostBridge::selected(uint64_t data_port_offset) const {
    if ((config_address_ & kAddressEnable) == 0) {
        return std::nullopt;
    }
    const uint32_t bus = (config_address_ >> kAddressBusShift) & 0xFF;
    const uint32_t device = (config_address_ >> kAddressDeviceShift) & 0x1F;
    const uint32_t function = (config_address_ >> kAddressFunctionShift) & 0x7;
    // Only bus 0 and single-function devices exist; the rest is a master abort: all ones.
    if (bus != 0 || function != 0 || slots_[device] == nullptr) {
        return std::nullopt;
    }
    const uint32_t reg = (config_address_ & kAddressRegisterMask) + data_port_offset;
    return Target{slots_[device], static_cast<uint8_t>(reg)};
}

void PciHostBridge::read(const BusAccess& access, std::span<uint8_t> data) {
    std::lock_guard lock(mutex_);
    std::fill(data.begin(), data.end(), 0xFF);
    if (access.offset < 4) {
        // Only a dword access at 0xCF8 reaches the address register; PC chipsets pass narrower
        // ones on to ISA, where nothing answers.
        if (access.offset == 0 && data.size() == 4) {
            for (int i = 0; i < 4; ++i) {
                data[i] = static_cast<uint8_t>(config_address_ >> (8 * i));
            }
        }
        return;
    }
    const uint64_t port_offset = access.offset - 4;
    if (port_offset >= 4) {
        return;
    }
    const auto target = selected(port_offset);
    if (!target) {
        return;
    }
    // Bytes past 0xCFF belong to no register of ours and stay all ones.
    const size_t width = std::min<size_t>(data.size(), 4 - port_offset);
    target->function->config_read(target->register_offset, data.first(width));
}

void PciHostBridge::write(const BusAccess& access, std::span<const uint8_t> data) {
    std::lock_guard lock(mutex_);
    if (access.offset < 4) {
        if (access.offset == 0 && data.size() == 4) {
            const uint32_t value =
                data[0] | (data[1] << 8) | (data[2] << 16) | (static_cast<uint32_t>(data[3]) << 24);
            config_address_ = value & kAddressStoredBits;
        }
        return;
    }
    const uint64_t port_offset = access.offset - 4;
    if (port_offset >= 4) {
        return;
    }
    const auto target = selected(port_offset);
    if (!target) {
        return;
    }
    const size_t width = std::min<size_t>(data.size(), 4 - port_offset);
    report(*target->function,
           target->function->config_write(target->register_offset, data.first(width)));
}

void PciHostBridge::report(PciFunction& function, std::vector<BarChange> changes) {
    for (BarChange& change : changes) {
        change.function = &function;
        if (on_bar_change_) {
            on_bar_change_(change);
        }
    }
}

}  // namespace hvmm::pci
