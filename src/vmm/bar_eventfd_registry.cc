#include "vmm/bar_eventfd_registry.h"

#include <algorithm>

#include "base/checked.h"
#include "base/log.h"

namespace hvmm {
namespace {

// The x86 port space ends here; KVM would take a PIO address past it, but no OUT reaches it.
constexpr uint64_t kPortSpaceEnd = 0x10000;

class VmIoShortcutOps final : public IoShortcutOps {
  public:
    explicit VmIoShortcutOps(const kvm::Vm& vm) : vm_(vm) {}
    Result<void> add_ioeventfd(int event_fd, uint64_t address, uint32_t width, bool is_pio,
                               std::optional<uint64_t> value) override {
        return vm_.add_ioeventfd(event_fd, address, width, is_pio, value);
    }
    Result<void> remove_ioeventfd(int event_fd, uint64_t address, uint32_t width, bool is_pio,
                                  std::optional<uint64_t> value) override {
        return vm_.remove_ioeventfd(event_fd, address, width, is_pio, value);
    }
    Result<void> register_coalesced(uint64_t address, uint32_t length, bool is_pio) override {
        return is_pio ? vm_.register_coalesced_pio(static_cast<uint16_t>(address), length)
                      : vm_.register_coalesced_mmio(address, length);
    }
    Result<void> unregister_coalesced(uint64_t address, uint32_t length, bool is_pio) override {
        return is_pio ? vm_.unregister_coalesced_pio(static_cast<uint16_t>(address), length)
                      : vm_.unregister_coalesced_mmio(address, length);
    }

  private:
    const kvm::Vm& vm_;
};

bool is_pio(pci::BarKind kind) {
    return kind == pci::BarKind::kIo;
}

// base + offset, when [that, that + length) is an address range the BAR's space can hold.
std::optional<uint64_t> place_address(pci::BarKind kind, uint64_t base, uint64_t offset,
                                      uint64_t length) {
    const auto address = checked_add(base, offset);
    if (!address)
        return std::nullopt;
    if (is_pio(kind) && !range_within(*address, length, kPortSpaceEnd))
        return std::nullopt;
    if (!checked_add(*address, length))
        return std::nullopt;
    return address;
}

}  // namespace

std::unique_ptr<IoShortcutOps> make_vm_io_shortcut_ops(const kvm::Vm& vm) {
    return std::make_unique<VmIoShortcutOps>(vm);
}

void BarEventfdRegistry::bar_changed(BusDevice& window, pci::BarKind kind,
                                     std::optional<uint64_t> base) {
    std::lock_guard lock(mutex_);
    auto known = std::find_if(windows_.begin(), windows_.end(),
                              [&](const Window& entry) { return entry.device == &window; });
    if (known == windows_.end()) {
        windows_.push_back(Window{&window, kind, base});
    } else {
        known->kind = kind;
        known->base = base;
    }
    for (auto& binding : bindings_) {
        if (binding.window == &window)
            place(binding, base);
    }
    for (auto& zone : zones_) {
        if (zone.window == &window)
            place(zone, base);
    }
}

Result<void> BarEventfdRegistry::bind_eventfd(BusDevice& window, pci::BarKind kind, int event_fd,
                                              uint64_t offset, uint32_t width,
                                              std::optional<uint64_t> value) {
    const bool known_width = width == 1 || width == 2 || width == 4 || width == 8;
    const bool any_width = width == 0 && !is_pio(kind) && !value;
    if (!known_width && !any_width) {
        return fail("{}: an ioeventfd of width {} cannot match a write ({}{})", window.name(),
                    width, is_pio(kind) ? "I/O port" : "MMIO", value ? ", with a value" : "");
    }
    if (event_fd < 0) {
        return fail("{}: ioeventfd without an eventfd", window.name());
    }
    if (!checked_add(offset, width)) {
        return fail("{}: ioeventfd offset {:#x} overflows", window.name(), offset);
    }
    std::lock_guard lock(mutex_);
    const std::optional<uint64_t> base = base_of(&window);
    for (auto& binding : bindings_) {
        if (binding.window == &window && binding.event_fd == event_fd) {
            place(binding, std::nullopt);  // out of KVM at its old place and shape
            binding.kind = kind;
            binding.offset = offset;
            binding.width = width;
            binding.value = value;
            place(binding, base);
            return {};
        }
    }
    auto& binding = bindings_.emplace_back(
        EventfdBinding{&window, kind, event_fd, offset, width, value, std::nullopt});
    place(binding, base);
    return {};
}

void BarEventfdRegistry::unbind_eventfd(BusDevice& window, int event_fd) {
    std::lock_guard lock(mutex_);
    auto found = std::find_if(bindings_.begin(), bindings_.end(), [&](const EventfdBinding& b) {
        return b.window == &window && b.event_fd == event_fd;
    });
    if (found == bindings_.end())
        return;
    place(*found, std::nullopt);
    bindings_.erase(found);
}

void BarEventfdRegistry::coalesce_writes(BusDevice& window, pci::BarKind kind, uint64_t offset,
                                         uint32_t length) {
    std::lock_guard lock(mutex_);
    const std::optional<uint64_t> base = base_of(&window);
    auto found = std::find_if(zones_.begin(), zones_.end(),
                              [&](const CoalescedZone& zone) { return zone.window == &window; });
    if (found != zones_.end()) {
        // Unchanged: leave KVM alone (a device may re-state its layout on every mode write).
        if (found->registered_at && found->kind == kind && found->offset == offset &&
            found->length == length && base &&
            found->registered_at == place_address(kind, *base, offset, length)) {
            return;
        }
        place(*found, std::nullopt);
        found->kind = kind;
        found->offset = offset;
        found->length = length;
        place(*found, base);
        return;
    }
    auto& zone = zones_.emplace_back(CoalescedZone{&window, kind, offset, length, std::nullopt});
    place(zone, base);
}

BarEventfdRegistry::Counters BarEventfdRegistry::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

size_t BarEventfdRegistry::registered_eventfds() const {
    std::lock_guard lock(mutex_);
    return static_cast<size_t>(
        std::count_if(bindings_.begin(), bindings_.end(),
                      [](const EventfdBinding& binding) { return binding.registered_at; }));
}

std::optional<uint64_t> BarEventfdRegistry::base_of(const BusDevice* window) const {
    for (const auto& entry : windows_) {
        if (entry.device == window)
            return entry.base;
    }
    return std::nullopt;  // never mapped yet: placed at its first bar_changed()
}

void BarEventfdRegistry::place(EventfdBinding& binding, std::optional<uint64_t> base) {
    const bool pio = is_pio(binding.kind);
    if (binding.registered_at) {
        if (auto removed = ops_->remove_ioeventfd(binding.event_fd, *binding.registered_at,
                                                  binding.width, pio, binding.value);
            removed) {
            ++counters_.removals;
        } else {
            refused(removed.error());
        }
        binding.registered_at.reset();
    }
    if (!base)
        return;
    const auto address = place_address(binding.kind, *base, binding.offset, binding.width);
    if (!address) {
        refused(Error{fmt::format("{}: ioeventfd at {:#x}+{:#x} lies outside the address space",
                                  binding.window->name(), *base, binding.offset)});
        return;
    }
    if (auto added =
            ops_->add_ioeventfd(binding.event_fd, *address, binding.width, pio, binding.value);
        added) {
        binding.registered_at = address;
        ++counters_.registrations;
    } else {
        refused(added.error());
    }
}

void BarEventfdRegistry::place(CoalescedZone& zone, std::optional<uint64_t> base) {
    const bool pio = is_pio(zone.kind);
    if (zone.registered_at) {
        if (auto removed = ops_->unregister_coalesced(*zone.registered_at, zone.length, pio);
            removed) {
            ++counters_.removals;
        } else {
            refused(removed.error());
        }
        zone.registered_at.reset();
    }
    if (!base || zone.length == 0)
        return;
    const auto address = place_address(zone.kind, *base, zone.offset, zone.length);
    if (!address) {
        refused(
            Error{fmt::format("{}: coalesced zone at {:#x}+{:#x} lies outside the address "
                              "space",
                              zone.window->name(), *base, zone.offset)});
        return;
    }
    if (auto registered = ops_->register_coalesced(*address, zone.length, pio); registered) {
        zone.registered_at = address;
        ++counters_.registrations;
    } else {
        refused(registered.error());
    }
}

void BarEventfdRegistry::refused(const Error& error) {
    // Still correct without it: the writes exit as usual.
    ++counters_.refusals;
    static log::RateLimitedWarning warning;
    warning("{}", error.message);
}

}  // namespace hvmm
