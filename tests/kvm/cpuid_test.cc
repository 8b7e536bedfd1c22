// CPUID as hvmm gives it to each vCPU, from this host's KVM_GET_SUPPORTED_CPUID.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>

#include "kvm/kvm.h"
#include "kvm/vcpu.h"

namespace hvmm::kvm {
namespace {

std::optional<kvm_cpuid_entry2> find(const std::vector<kvm_cpuid_entry2>& entries,
                                     uint32_t function, uint32_t index = 0) {
    for (const auto& entry : entries) {
        if (entry.function == function && entry.index == index)
            return entry;
    }
    return std::nullopt;
}

TEST(Cpuid, HostKvmReportsItsSupportedCpuid) {
    auto kvm = Kvm::open();
    ASSERT_TRUE(kvm) << kvm.error().message;
    auto supported = kvm->supported_cpuid();
    ASSERT_TRUE(supported) << supported.error().message;
    EXPECT_TRUE(find(*supported, 0));
    EXPECT_TRUE(find(*supported, 1));
}

TEST(Cpuid, EachVcpuGetsItsApicIdAndTheHypervisorBit) {
    std::vector<kvm_cpuid_entry2> supported(2);
    supported[0].function = 1;
    supported[0].ebx = 0xFF00'1234;  // stale APIC id and count from the host
    supported[1].function = 0xB;
    const auto fixed = cpuid_for_vcpu(supported, 3, 4);
    const auto leaf1 = find(fixed, 1);
    ASSERT_TRUE(leaf1);
    EXPECT_EQ(leaf1->ebx >> 24, 3u);
    EXPECT_EQ((leaf1->ebx >> 16) & 0xFF, 4u);
    EXPECT_EQ(leaf1->ebx & 0xFFFF, 0x1234u);
    EXPECT_TRUE(leaf1->ecx & (1u << 31));
    EXPECT_EQ(find(fixed, 0xB)->edx, 3u);
}

TEST(Cpuid, KvmSignatureLeafIsPresent) {
    const auto fixed = cpuid_for_vcpu({}, 0, 1);
    const auto signature = find(fixed, 0x4000'0000);
    ASSERT_TRUE(signature);
    char text[12];
    std::memcpy(text, &signature->ebx, 4);
    std::memcpy(text + 4, &signature->ecx, 4);
    std::memcpy(text + 8, &signature->edx, 4);
    EXPECT_EQ(std::string(text, 9), "KVMKVMKVM");
}

std::vector<kvm_cpuid_entry2> xsave_host(bool avx) {
    std::vector<kvm_cpuid_entry2> entries(3);
    entries[0].function = 1;
    entries[0].ecx = avx ? (1u << 28) : 0;
    entries[1].function = 0xD;
    entries[1].eax = 0x7;  // x87, SSE, AVX state
    entries[1].ebx = entries[1].ecx = 832;
    entries[2].function = 0xD;
    entries[2].index = 2;
    entries[2].eax = 256;
    entries[2].ebx = 576;
    return entries;
}

TEST(Cpuid, XsaveStateOfAnAbsentFeatureIsDroppedAndTheAreaResized) {
    const auto fixed = cpuid_for_vcpu(xsave_host(false), 0, 1);
    const auto xsave = find(fixed, 0xD, 0);
    ASSERT_TRUE(xsave);
    EXPECT_EQ(xsave->eax, 0x3u);
    EXPECT_EQ(xsave->ebx, 576u);
    EXPECT_EQ(xsave->ecx, 576u);
}

TEST(Cpuid, XsaveStateOfAPresentFeatureIsKept) {
    const auto fixed = cpuid_for_vcpu(xsave_host(true), 0, 1);
    const auto xsave = find(fixed, 0xD, 0);
    ASSERT_TRUE(xsave);
    EXPECT_EQ(xsave->eax, 0x7u);
    EXPECT_EQ(xsave->ebx, 832u);
}

}  // namespace
}  // namespace hvmm::kvm
