#include "kvm/vm.h"
#include "base/syscall_count.h"

#include <sys/ioctl.h>

#include <cstring>
#include <vector>

#include "kvm/uapi_layout.h"

namespace hvmm::kvm {

Result<Vm> Vm::create(const Kvm& kvm, const VmOptions& options) {
    UniqueFd fd(::ioctl(kvm.fd(), KVM_CREATE_VM, 0));
    if (!fd) {
        return fail_errno("KVM_CREATE_VM failed");
    }
    Vm vm(kvm, std::move(fd), options.in_kernel_irqchip);
    // Intel VT-x needs these before the first vCPU runs; on AMD they are harmless.
    if (::ioctl(vm.fd(), KVM_SET_TSS_ADDR, kTssAddress) != 0) {
        return fail_errno("KVM_SET_TSS_ADDR failed");
    }
    if (kvm.has(KVM_CAP_SET_IDENTITY_MAP_ADDR)) {
        uint64_t identity_map = kIdentityMapAddress;
        if (::ioctl(vm.fd(), KVM_SET_IDENTITY_MAP_ADDR, &identity_map) != 0) {
            return fail_errno("KVM_SET_IDENTITY_MAP_ADDR failed");
        }
    }
    if (options.in_kernel_irqchip) {
        if (::ioctl(vm.fd(), KVM_CREATE_IRQCHIP, 0) != 0) {
            return fail_errno("KVM_CREATE_IRQCHIP failed");
        }
        // The PIT's speaker port (0x61) stays with userspace: hvmm answers it as a dummy.
        kvm_pit_config pit{};
        pit.flags = KVM_PIT_SPEAKER_DUMMY;
        if (::ioctl(vm.fd(), KVM_CREATE_PIT2, &pit) != 0) {
            return fail_errno("KVM_CREATE_PIT2 failed");
        }
    }
    return vm;
}

Result<void> Vm::map_memory(const GuestMemory& memory) {
    for (const auto& region : memory.regions()) {
        kvm_userspace_memory_region slot{};
        slot.slot = next_slot_;
        slot.guest_phys_addr = region.guest_base.value;
        slot.memory_size = region.size;
        slot.userspace_addr = reinterpret_cast<uint64_t>(region.host);
        if (::ioctl(fd_.get(), KVM_SET_USER_MEMORY_REGION, &slot) != 0) {
            return fail_errno("KVM_SET_USER_MEMORY_REGION for {:#x}+{:#x} failed",
                              region.guest_base.value, region.size);
        }
        ++next_slot_;
    }
    return {};
}

Result<void> Vm::set_irq_line(uint32_t gsi, bool level) const {
    kvm_irq_level irq{};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    stats::count_syscall();
    if (::ioctl(fd_.get(), KVM_IRQ_LINE, &irq) != 0) {
        return fail_errno("KVM_IRQ_LINE for GSI {} failed", gsi);
    }
    return {};
}

int Vm::check_extension(int capability) const {
    const int answer = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
    return answer < 0 ? 0 : answer;
}

Result<void> Vm::set_gsi_routing(std::span<const GsiRoute> routes) const {
    // nr, flags, then the entries (uapi_layout.h: C++ sees kvm_irq_routing's header at the wrong
    // size). 64-bit words keep the entries aligned; zeroed so flags and padding are 0.
    static_assert(sizeof(kvm_irq_routing_entry) % sizeof(uint64_t) == 0);
    constexpr size_t kEntryWords = sizeof(kvm_irq_routing_entry) / sizeof(uint64_t);
    std::vector<uint64_t> buffer(1 + routes.size() * kEntryWords, 0);
    const auto count = static_cast<uint32_t>(routes.size());
    std::memcpy(buffer.data(), &count, sizeof(count));  // nr; flags stay 0
    for (size_t i = 0; i < routes.size(); ++i) {
        const GsiRoute& route = routes[i];
        kvm_irq_routing_entry entry{};
        entry.gsi = route.gsi;
        if (route.kind == GsiRoute::Kind::kIrqchip) {
            entry.type = KVM_IRQ_ROUTING_IRQCHIP;
            entry.u.irqchip.irqchip = route.irqchip;
            entry.u.irqchip.pin = route.pin;
        } else {
            entry.type = KVM_IRQ_ROUTING_MSI;
            entry.u.msi.address_lo = static_cast<uint32_t>(route.msi_address);
            entry.u.msi.address_hi = static_cast<uint32_t>(route.msi_address >> 32);
            entry.u.msi.data = route.msi_data;
        }
        // In bounds: the buffer holds the header word plus routes.size() entries.
        std::memcpy(buffer.data() + 1 + i * kEntryWords, &entry, sizeof(entry));
    }
    stats::count_syscall();
    if (::ioctl(fd_.get(), uapi::kSetGsiRouting, buffer.data()) != 0) {
        return fail_errno("KVM_SET_GSI_ROUTING with {} routes failed", routes.size());
    }
    return {};
}

Result<bool> Vm::signal_msi(uint64_t address, uint32_t data) const {
    kvm_msi msi{};
    msi.address_lo = static_cast<uint32_t>(address);
    msi.address_hi = static_cast<uint32_t>(address >> 32);
    msi.data = data;
    stats::count_syscall();
    const int delivered = ::ioctl(fd_.get(), KVM_SIGNAL_MSI, &msi);
    if (delivered < 0) {
        return fail_errno("KVM_SIGNAL_MSI to {:#x} data {:#x} failed", address, data);
    }
    return delivered > 0;
}

Result<void> Vm::register_coalesced_mmio(uint64_t address, uint32_t size) const {
    kvm_coalesced_mmio_zone zone{};
    zone.addr = address;
    zone.size = size;
    if (::ioctl(fd_.get(), KVM_REGISTER_COALESCED_MMIO, &zone) != 0) {
        return fail_errno("KVM_REGISTER_COALESCED_MMIO at {:#x} failed", address);
    }
    return {};
}

Result<void> Vm::unregister_coalesced_mmio(uint64_t address, uint32_t size) const {
    kvm_coalesced_mmio_zone zone{};
    zone.addr = address;
    zone.size = size;
    if (::ioctl(fd_.get(), KVM_UNREGISTER_COALESCED_MMIO, &zone) != 0) {
        return fail_errno("KVM_UNREGISTER_COALESCED_MMIO at {:#x} failed", address);
    }
    return {};
}

Result<void> Vm::register_coalesced_pio(uint16_t port, uint32_t size) const {
    kvm_coalesced_mmio_zone zone{};
    zone.addr = port;
    zone.size = size;
    zone.pio = 1;
    if (::ioctl(fd_.get(), KVM_REGISTER_COALESCED_MMIO, &zone) != 0) {
        return fail_errno("KVM_REGISTER_COALESCED_MMIO (pio) at port {:#x} failed", port);
    }
    return {};
}

Result<void> Vm::unregister_coalesced_pio(uint16_t port, uint32_t size) const {
    kvm_coalesced_mmio_zone zone{};
    zone.addr = port;
    zone.size = size;
    zone.pio = 1;
    if (::ioctl(fd_.get(), KVM_UNREGISTER_COALESCED_MMIO, &zone) != 0) {
        return fail_errno("KVM_UNREGISTER_COALESCED_MMIO (pio) at port {:#x} failed", port);
    }
    return {};
}

Result<void> Vm::ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                           std::optional<uint64_t> datamatch, bool deassign) const {
    kvm_ioeventfd request{};
    request.fd = event_fd;
    request.addr = address;
    request.len = size;
    request.flags = (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0u) |
                    (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0u) |
                    (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0u);
    request.datamatch = datamatch.value_or(0);
    if (::ioctl(fd_.get(), KVM_IOEVENTFD, &request) != 0) {
        return fail_errno("KVM_IOEVENTFD at {:#x} failed", address);
    }
    return {};
}

Result<void> Vm::add_ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                               std::optional<uint64_t> datamatch) const {
    return ioeventfd(event_fd, address, size, is_pio, datamatch, false);
}

Result<void> Vm::remove_ioeventfd(int event_fd, uint64_t address, uint32_t size, bool is_pio,
                                  std::optional<uint64_t> datamatch) const {
    return ioeventfd(event_fd, address, size, is_pio, datamatch, true);
}

Result<void> Vm::add_irqfd(int event_fd, uint32_t gsi, int resample_fd) const {
    kvm_irqfd request{};
    request.fd = static_cast<uint32_t>(event_fd);
    request.gsi = gsi;
    if (resample_fd >= 0) {
        request.flags = KVM_IRQFD_FLAG_RESAMPLE;
        request.resamplefd = static_cast<uint32_t>(resample_fd);
    }
    if (::ioctl(fd_.get(), KVM_IRQFD, &request) != 0) {
        return fail_errno("KVM_IRQFD for GSI {} failed", gsi);
    }
    return {};
}

Result<void> Vm::remove_irqfd(int event_fd, uint32_t gsi) const {
    kvm_irqfd request{};
    request.fd = static_cast<uint32_t>(event_fd);
    request.gsi = gsi;
    request.flags = KVM_IRQFD_FLAG_DEASSIGN;
    if (::ioctl(fd_.get(), KVM_IRQFD, &request) != 0) {
        return fail_errno("KVM_IRQFD deassign for GSI {} failed", gsi);
    }
    return {};
}

}  // namespace hvmm::kvm
