// One KVM virtual machine: its memory slots, in-kernel interrupt controllers and PIT, interrupt
// lines, and the I/O KVM can handle without returning to hvmm (coalesced I/O, ioeventfd, irqfd).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/error.h"
#include "base/unique_fd.h"
#include "kvm/kvm.h"
#include "memory/guest_memory.h"

namespace hvmm::kvm {

// One entry of KVM's GSI routing table (KVM_SET_GSI_ROUTING): a GSI routed to an irqchip pin
// (KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC) or to an MSI message. Plain data, so the table
// can be computed and tested without KVM.
struct GsiRoute {
    enum class Kind : uint8_t { kIrqchip, kMsi };
    uint32_t gsi = 0;
    Kind kind = Kind::kIrqchip;
    uint32_t irqchip = 0;      // kIrqchip only
    uint32_t pin = 0;          // kIrqchip only
    uint64_t msi_address = 0;  // kMsi only
    uint32_t msi_data = 0;     // kMsi only
    bool operator==(const GsiRoute&) const = default;
};

struct VmOptions {
    // PIC, IOAPIC and LAPICs in the kernel, plus the PIT: what a Linux guest needs. Guest-program
    // tests turn this off to exercise exits alone.
    bool in_kernel_irqchip = true;
};

class Vm {
  public:
    // The TSS (3 pages) and identity-map page KVM needs on Intel hosts live just below the BIOS
    // area at the top of 4 GiB, inside the PCI hole where no RAM or BAR is placed.
    static constexpr uint64_t kTssAddress = 0xFFFB'D000;
    static constexpr uint64_t kIdentityMapAddress = 0xFFFB'C000;

    static Result<Vm> create(const Kvm& kvm, const VmOptions& options = {});

    // Registers every region of memory as a KVM memory slot. memory must outlive the Vm.
    Result<void> map_memory(const GuestMemory& memory);

    // Drives a GSI on the in-kernel irqchip (level 1 = asserted whatever the pin's polarity).
    Result<void> set_irq_line(uint32_t gsi, bool level) const;

    // KVM_CHECK_EXTENSION asked of this VM (0 when absent): some answers are per VM, such as
    // KVM_CAP_IRQ_ROUTING's number of routes.
    int check_extension(int capability) const;

    // Replaces KVM's whole GSI routing table (KVM_SET_GSI_ROUTING): every GSI not in routes
    // routes nowhere afterwards, the irqchip pins included. Needs the in-kernel irqchip.
    Result<void> set_gsi_routing(std::span<const GsiRoute> routes) const;
    // Delivers one MSI now (KVM_SIGNAL_MSI). True when a local APIC took it, false when the
    // guest blocked it (its APIC software-disabled, say); an error when KVM refused the call.
    Result<bool> signal_msi(uint64_t address, uint32_t data) const;

    // Writes in these ranges are buffered in a ring KVM shares with us, no exit.
    Result<void> register_coalesced_mmio(uint64_t address, uint32_t size) const;
    Result<void> unregister_coalesced_mmio(uint64_t address, uint32_t size) const;
    Result<void> register_coalesced_pio(uint16_t port, uint32_t size) const;
    Result<void> unregister_coalesced_pio(uint16_t port, uint32_t size) const;

    // A guest write of `size` bytes to address signals event_fd without an exit. is_pio selects
    // the port space; datamatch restricts it to writes of that value.
    Result<void> add_ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                               std::optional<uint64_t> datamatch = std::nullopt) const;
    Result<void> remove_ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                                  std::optional<uint64_t> datamatch = std::nullopt) const;
    // A write to event_fd raises gsi; with resample_fd the line is level-triggered and KVM signals
    // resample_fd when the guest EOIs it.
    Result<void> add_irqfd(int event_fd, uint32_t gsi, int resample_fd = -1) const;
    Result<void> remove_irqfd(int event_fd, uint32_t gsi) const;

    bool in_kernel_irqchip() const { return in_kernel_irqchip_; }
    const Kvm& kvm() const { return *kvm_; }
    int fd() const { return fd_.get(); }

  private:
    Vm(const Kvm& kvm, UniqueFd fd, bool irqchip)
        : kvm_(&kvm), fd_(std::move(fd)), in_kernel_irqchip_(irqchip) {}
    Result<void> ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                           std::optional<uint64_t> datamatch, bool deassign) const;

    const Kvm* kvm_;
    UniqueFd fd_;
    bool in_kernel_irqchip_;
    uint32_t next_slot_ = 0;
};

}  // namespace hvmm::kvm
