// One virtual CPU: its fd, the kvm_run page shared with KVM, register access and KVM_RUN.
// A Vcpu is driven by one thread; kick() may be called from any thread.
#pragma once

#include <linux/kvm.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "kvm/uapi_layout.h"
#include "kvm/vcpu_exit.h"
#include "kvm/vm.h"

namespace hvmm::kvm {

class Vcpu {
  public:
    static Result<std::unique_ptr<Vcpu>> create(const Vm& vm, uint32_t id);
    Vcpu(const Vcpu&) = delete;
    Vcpu& operator=(const Vcpu&) = delete;
    ~Vcpu();

    uint32_t id() const { return id_; }

    // Enters the guest until the next exit. An interrupted KVM_RUN (kick) is exit::Intr, not an
    // error; immediate_exit is cleared by this call after KVM honoured it.
    Result<VcpuExit> run();

    // Makes the next KVM_RUN return at once with exit::Intr. Thread-safe. A vCPU already inside
    // KVM_RUN also needs a signal sent to its thread (VcpuThread does both).
    void request_immediate_exit();

    Result<kvm_regs> get_regs() const;
    Result<void> set_regs(const kvm_regs& regs) const;
    Result<kvm_sregs> get_sregs() const;
    Result<void> set_sregs(const kvm_sregs& sregs) const;
    Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
    Result<void> set_msrs(const std::vector<std::pair<uint32_t, uint64_t>>& msrs) const;
    Result<void> set_mp_state(uint32_t state) const;
    // The local APIC's register page (in-kernel irqchip only).
    Result<kvm_lapic_state> get_lapic() const;
    Result<void> set_lapic(const kvm_lapic_state& lapic) const;
    // LINT0 as ExtINT and LINT1 as NMI, as PC firmware leaves them (in-kernel irqchip only).
    Result<void> configure_lapic_lints() const;

    // kvm_run's coalesced MMIO/PIO ring, for draining after each exit; null if not mapped.
    uapi::CoalescedRing* coalesced_ring() const { return coalesced_ring_; }

  private:
    Vcpu(uint32_t id, UniqueFd fd, kvm_run* run, size_t run_size, uapi::CoalescedRing* ring)
        : id_(id), fd_(std::move(fd)), run_(run), run_size_(run_size), coalesced_ring_(ring) {}
    VcpuExit decode() const;

    uint32_t id_;
    UniqueFd fd_;
    kvm_run* run_;
    size_t run_size_;
    uapi::CoalescedRing* coalesced_ring_;
};

// The processor brand string, CPUID leaves 0x80000002-0x80000004 (EAX, EBX, ECX, EDX of each):
// 48 bytes of ASCII, NUL-padded.
using BrandString = std::array<char, 48>;

// The brand string of the CPU hvmm runs on, from its own CPUID instruction (in the lab, the CPU
// QEMU emulates); all zeros when the CPU has none.
BrandString host_brand_string();

// CPUID for vCPU `id` of `count`, from what KVM supports: APIC ids, the hypervisor bit and KVM's
// signature leaves so a Linux guest picks kvm-clock and paravirtual features, and `brand` as the
// brand string where KVM leaves it blank (it always does: naming the CPU is userspace's part).
std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> supported, uint32_t id,
                                             uint32_t count,
                                             const BrandString& brand = host_brand_string());

// `supported` with the TSC-deadline timer (leaf 1 ECX bit 24) announced. KVM emulates it in
// its local APIC whenever it has KVM_CAP_TSC_DEADLINE_TIMER, but never sets the bit in
// KVM_GET_SUPPORTED_CPUID: announcing it is userspace's choice (QEMU and Firecracker make it).
// Without it Linux falls back to the APIC's one-shot timer, which it must first calibrate.
std::vector<kvm_cpuid_entry2> with_tsc_deadline_timer(std::vector<kvm_cpuid_entry2> supported);

}  // namespace hvmm::kvm
