// The guest writes KVM handles itself inside PCI BARs, kept where the guest maps each BAR:
// ioeventfds (a write signals an eventfd, no exit: PCnet's silent transmit demand, a virtio
// notify region) and coalesced zones (writes queued in KVM's ring, replayed at the next exit:
// PCnet's RAP), for I/O-port and memory BARs alike. Each binding is stated relative to a BAR's
// window (the BusDevice behind it); the registry registers it with KVM at base + offset when the
// guest maps the BAR, moves it when the BAR moves, and removes it when the BAR is unmapped or
// its decode is turned off.
//
// Every binding is an accelerator only: KVM may refuse one (counted, a rate-limited warning),
// and a write of another width exits as usual, so the window's own write handler must still do
// what the eventfd stands for.
//
// Threads: any. One mutex; bar_changed() runs with the host bridge's lock held and bind calls
// may come from a device's register write (vCPU thread, device lock held); the registry calls
// no device code, so those lock orders cannot cycle.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "bus/bus_device.h"
#include "devices/pci/config_space.h"
#include "kvm/vm.h"

namespace hvmm {

// The VM ioctls the registry needs (a fake in unit tests). is_pio selects the port space.
class IoShortcutOps {
  public:
    virtual ~IoShortcutOps() = default;
    virtual Result<void> add_ioeventfd(int event_fd, uint64_t address, uint32_t width, bool is_pio,
                                       std::optional<uint64_t> value) = 0;
    virtual Result<void> remove_ioeventfd(int event_fd, uint64_t address, uint32_t width,
                                          bool is_pio, std::optional<uint64_t> value) = 0;
    virtual Result<void> register_coalesced(uint64_t address, uint32_t length, bool is_pio) = 0;
    virtual Result<void> unregister_coalesced(uint64_t address, uint32_t length, bool is_pio) = 0;
};

// IoShortcutOps over a kvm::Vm, which must outlive it.
std::unique_ptr<IoShortcutOps> make_vm_io_shortcut_ops(const kvm::Vm& vm);

class BarEventfdRegistry {
  public:
    explicit BarEventfdRegistry(std::unique_ptr<IoShortcutOps> ops) : ops_(std::move(ops)) {}
    BarEventfdRegistry(const BarEventfdRegistry&) = delete;
    BarEventfdRegistry& operator=(const BarEventfdRegistry&) = delete;

    // Where the guest decodes the BAR behind window now (nullopt: unmapped, decode off). The
    // Machine calls it for every BarChange it applied to a bus.
    void bar_changed(BusDevice& window, pci::BarKind kind, std::optional<uint64_t> base);

    // Guest writes of `width` bytes at offset of window signal event_fd inside KVM, only those
    // of exactly *value when one is given. width is 1, 2, 4 or 8 (0: any width, where KVM has
    // KVM_CAP_IOEVENTFD_ANY_LENGTH; MMIO without a value only). Called again for the same window
    // and event_fd, it moves the binding. An error only for arguments that can never work.
    Result<void> bind_eventfd(BusDevice& window, pci::BarKind kind, int event_fd, uint64_t offset,
                              uint32_t width, std::optional<uint64_t> value);
    // Ends the binding of event_fd on window; nothing if there is none.
    void unbind_eventfd(BusDevice& window, int event_fd);

    // Guest writes to [offset, offset + length) of window go through KVM's coalesced ring. One
    // zone per window: called again, it moves the zone; length 0 removes it.
    void coalesce_writes(BusDevice& window, pci::BarKind kind, uint64_t offset, uint32_t length);

    struct Counters {
        uint64_t registrations = 0;  // ioeventfds and zones KVM accepted
        uint64_t removals = 0;       // ...and took away again
        uint64_t refusals = 0;       // registrations KVM refused (the writes exit instead)
    };
    Counters counters() const;
    // How many ioeventfds are registered with KVM now (tests).
    size_t registered_eventfds() const;

  private:
    struct Window {
        BusDevice* device = nullptr;
        pci::BarKind kind = pci::BarKind::kIo;
        std::optional<uint64_t> base;
    };
    struct EventfdBinding {
        BusDevice* window = nullptr;
        pci::BarKind kind = pci::BarKind::kIo;
        int event_fd = -1;
        uint64_t offset = 0;
        uint32_t width = 0;
        std::optional<uint64_t> value;
        std::optional<uint64_t> registered_at;  // the address KVM has it at
    };
    struct CoalescedZone {
        BusDevice* window = nullptr;
        pci::BarKind kind = pci::BarKind::kIo;
        uint64_t offset = 0;
        uint32_t length = 0;
        std::optional<uint64_t> registered_at;
    };

    std::optional<uint64_t> base_of(const BusDevice* window) const;
    // Takes the binding out of KVM, then puts it back at base + offset (base: nullopt leaves it
    // out).
    void place(EventfdBinding& binding, std::optional<uint64_t> base);
    void place(CoalescedZone& zone, std::optional<uint64_t> base);
    void refused(const Error& error);

    std::unique_ptr<IoShortcutOps> ops_;
    mutable std::mutex mutex_;
    std::vector<Window> windows_;
    std::vector<EventfdBinding> bindings_;
    std::vector<CoalescedZone> zones_;
    Counters counters_;
};

}  // namespace hvmm
