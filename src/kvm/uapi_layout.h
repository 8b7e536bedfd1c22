// Linux 6.1's uapi headers declare flexible array members with __DECLARE_FLEX_ARRAY, which in
// C++ wraps them next to an empty struct: sizeof(kvm_cpuid2) becomes 12 instead of 8 and the
// entries move, so the ioctl numbers derived from those structs (KVM_GET_SUPPORTED_CPUID,
// KVM_SET_CPUID2, KVM_SET_MSRS, KVM_SET_GSI_ROUTING) are numbers KVM does not know and it answers EINVAL. Here are the
// kernel's own layouts and numbers, spelled out.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>

namespace hvmm::kvm::uapi {

// The header shared by kvm_cpuid2, kvm_msrs and kvm_coalesced_mmio_ring's kin: a 32-bit count,
// 32 bits of padding, then the entries.
template <class Entry, size_t N>
struct CountedList {
    uint32_t count;
    uint32_t padding;
    Entry entries[N];
};
using CpuidListOfOne = CountedList<kvm_cpuid_entry2, 1>;
static_assert(offsetof(CpuidListOfOne, entries) == 8);
static_assert(sizeof(kvm_cpuid_entry2) == 40);
static_assert(sizeof(kvm_msr_entry) == 16);

constexpr unsigned long kListHeaderSize = 8;
constexpr unsigned long kGetSupportedCpuid =
    _IOC(_IOC_READ | _IOC_WRITE, KVMIO, 0x05, kListHeaderSize);
constexpr unsigned long kSetCpuid2 = _IOC(_IOC_WRITE, KVMIO, 0x90, kListHeaderSize);
constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, KVMIO, 0x89, kListHeaderSize);
// kvm_irq_routing is the same shape (nr, flags, entries), so KVM_SET_GSI_ROUTING is too.
static_assert(sizeof(kvm_irq_routing_entry) == 48);
constexpr unsigned long kSetGsiRouting = _IOC(_IOC_WRITE, KVMIO, 0x6a, kListHeaderSize);

// kvm_coalesced_mmio_ring: first and last indexes, then the entries, filling one page.
struct CoalescedRing {
    uint32_t first;
    uint32_t last;
    kvm_coalesced_mmio entries[1];  // (page size - 8) / sizeof(entry) of them in the page
};
static_assert(offsetof(CoalescedRing, entries) == 8);
constexpr uint32_t kCoalescedRingEntries = (4096 - 8) / sizeof(kvm_coalesced_mmio);

}  // namespace hvmm::kvm::uapi
