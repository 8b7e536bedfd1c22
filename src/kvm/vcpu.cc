#include "kvm/vcpu.h"

#include "kvm/uapi_layout.h"

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hvmm::kvm {
namespace {

// Where KVM_GET_LAPIC's register page keeps the local vector table entries for LINT0/LINT1.
constexpr size_t kApicLvt0 = 0x350;
constexpr size_t kApicLvt1 = 0x360;
constexpr uint32_t kDeliveryModeMask = 0x700;
constexpr uint32_t kDeliveryModeExtInt = 0x700;
constexpr uint32_t kDeliveryModeNmi = 0x400;

}  // namespace

Result<std::unique_ptr<Vcpu>> Vcpu::create(const Vm& vm, uint32_t id) {
    UniqueFd fd(::ioctl(vm.fd(), KVM_CREATE_VCPU, id));
    if (!fd) {
        return fail_errno("KVM_CREATE_VCPU {} failed", id);
    }
    const size_t size = HVMM_TRY(vm.kvm().vcpu_mmap_size());
    void* mapping = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    if (mapping == MAP_FAILED) {
        return fail_errno("cannot map kvm_run of vCPU {}", id);
    }
    auto* run = static_cast<kvm_run*>(mapping);
    uapi::CoalescedRing* ring = nullptr;
    const int ring_page = vm.kvm().check_extension(KVM_CAP_COALESCED_MMIO);
    if (ring_page > 0 && static_cast<size_t>(ring_page) * 4096 < size) {
        // The ring lives inside the same mapping, at the page KVM_CAP_COALESCED_MMIO names.
        ring = reinterpret_cast<uapi::CoalescedRing*>(static_cast<uint8_t*>(mapping) +
                                                      ring_page * 4096);
    }
    return std::unique_ptr<Vcpu>(new Vcpu(id, std::move(fd), run, size, ring));
}

Vcpu::~Vcpu() {
    ::munmap(run_, run_size_);
}

Result<VcpuExit> Vcpu::run() {
    if (::ioctl(fd_.get(), KVM_RUN, 0) != 0) {
        const int error = errno;
        if (error == EINTR || error == EAGAIN) {
            __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_RELAXED);
            return VcpuExit(exit::Intr{});
        }
        errno = error;
        return fail_errno("KVM_RUN on vCPU {} failed", id_);
    }
    return decode();
}

void Vcpu::request_immediate_exit() {
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_RELEASE);
}

VcpuExit Vcpu::decode() const {
    switch (run_->exit_reason) {
        case KVM_EXIT_IO: {
            // data_offset and count come from KVM, not the guest; the span stays in the mapping.
            auto* base = reinterpret_cast<uint8_t*>(run_) + run_->io.data_offset;
            const size_t bytes = static_cast<size_t>(run_->io.size) * run_->io.count;
            return exit::Io{run_->io.port, run_->io.size, run_->io.direction == KVM_EXIT_IO_OUT,
                            run_->io.count, std::span<uint8_t>(base, bytes)};
        }
        case KVM_EXIT_MMIO:
            return exit::Mmio{run_->mmio.phys_addr, run_->mmio.is_write != 0,
                              std::span<uint8_t>(run_->mmio.data, run_->mmio.len)};
        case KVM_EXIT_HLT:
            return exit::Hlt{};
        case KVM_EXIT_SHUTDOWN:
            return exit::Shutdown{};
        case KVM_EXIT_SYSTEM_EVENT:
            return exit::SystemEvent{run_->system_event.type};
        case KVM_EXIT_INTERNAL_ERROR:
            return exit::InternalError{run_->internal.suberror};
        case KVM_EXIT_FAIL_ENTRY:
            return exit::FailEntry{run_->fail_entry.hardware_entry_failure_reason};
        case KVM_EXIT_INTR:
            return exit::Intr{};
        default:
            return exit::Unknown{run_->exit_reason};
    }
}

Result<kvm_regs> Vcpu::get_regs() const {
    kvm_regs regs{};
    if (::ioctl(fd_.get(), KVM_GET_REGS, &regs) != 0) {
        return fail_errno("KVM_GET_REGS on vCPU {} failed", id_);
    }
    return regs;
}

Result<void> Vcpu::set_regs(const kvm_regs& regs) const {
    if (::ioctl(fd_.get(), KVM_SET_REGS, &regs) != 0) {
        return fail_errno("KVM_SET_REGS on vCPU {} failed", id_);
    }
    return {};
}

Result<kvm_sregs> Vcpu::get_sregs() const {
    kvm_sregs sregs{};
    if (::ioctl(fd_.get(), KVM_GET_SREGS, &sregs) != 0) {
        return fail_errno("KVM_GET_SREGS on vCPU {} failed", id_);
    }
    return sregs;
}

Result<void> Vcpu::set_sregs(const kvm_sregs& sregs) const {
    if (::ioctl(fd_.get(), KVM_SET_SREGS, &sregs) != 0) {
        return fail_errno("KVM_SET_SREGS on vCPU {} failed", id_);
    }
    return {};
}

Result<void> Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const {
    constexpr size_t kMaxEntries = 256;
    if (entries.size() > kMaxEntries) {
        return fail("{} CPUID entries for vCPU {}: KVM takes at most {}", entries.size(), id_,
                    kMaxEntries);
    }
    auto cpuid = std::make_unique<uapi::CountedList<kvm_cpuid_entry2, kMaxEntries>>();
    cpuid->count = static_cast<uint32_t>(entries.size());
    std::copy(entries.begin(), entries.end(), cpuid->entries);
    if (::ioctl(fd_.get(), uapi::kSetCpuid2, cpuid.get()) != 0) {
        return fail_errno("KVM_SET_CPUID2 on vCPU {} failed", id_);
    }
    return {};
}

Result<void> Vcpu::set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs) const {
    constexpr size_t kMaxMsrs = 64;
    if (msrs.size() > kMaxMsrs) {
        return fail("{} MSRs for vCPU {}: at most {} at once", msrs.size(), id_, kMaxMsrs);
    }
    auto request = std::make_unique<uapi::CountedList<kvm_msr_entry, kMaxMsrs>>();
    request->count = static_cast<uint32_t>(msrs.size());
    for (size_t i = 0; i < msrs.size(); ++i) {
        request->entries[i] = kvm_msr_entry{msrs[i].first, 0, msrs[i].second};
    }
    const int written = ::ioctl(fd_.get(), uapi::kSetMsrs, request.get());
    if (written < 0) {
        return fail_errno("KVM_SET_MSRS on vCPU {} failed", id_);
    }
    if (static_cast<size_t>(written) != msrs.size()) {
        return fail("KVM refused MSR {:#x} on vCPU {}", msrs[written].first, id_);
    }
    return {};
}

Result<void> Vcpu::set_mp_state(uint32_t state) const {
    kvm_mp_state mp_state{state};
    if (::ioctl(fd_.get(), KVM_SET_MP_STATE, &mp_state) != 0) {
        return fail_errno("KVM_SET_MP_STATE on vCPU {} failed", id_);
    }
    return {};
}

Result<kvm_lapic_state> Vcpu::get_lapic() const {
    kvm_lapic_state lapic{};
    if (::ioctl(fd_.get(), KVM_GET_LAPIC, &lapic) != 0) {
        return fail_errno("KVM_GET_LAPIC on vCPU {} failed", id_);
    }
    return lapic;
}

Result<void> Vcpu::set_lapic(const kvm_lapic_state& lapic) const {
    if (::ioctl(fd_.get(), KVM_SET_LAPIC, &lapic) != 0) {
        return fail_errno("KVM_SET_LAPIC on vCPU {} failed", id_);
    }
    return {};
}

Result<void> Vcpu::configure_lapic_lints() const {
    kvm_lapic_state lapic = HVMM_TRY(get_lapic());
    auto set_mode = [&lapic](size_t offset, uint32_t mode) {
        uint32_t value;
        std::memcpy(&value, lapic.regs + offset, sizeof(value));
        value = (value & ~kDeliveryModeMask) | mode;
        std::memcpy(lapic.regs + offset, &value, sizeof(value));
    };
    set_mode(kApicLvt0, kDeliveryModeExtInt);
    set_mode(kApicLvt1, kDeliveryModeNmi);
    return set_lapic(lapic);
}

}  // namespace hvmm::kvm
