// CPUID fix-ups per vCPU. Facts from the Intel SDM (leaves 1, 0xB, 0x1F) and KVM's API
// documentation (leaves 0x40000000+).
#include <algorithm>
#include <cstring>

#include "kvm/vcpu.h"

namespace hvmm::kvm {
namespace {

constexpr uint32_t kHypervisorPresentBit = 1u << 31;  // leaf 1 ECX
constexpr uint32_t kKvmSignatureLeaf = 0x4000'0000;
constexpr uint32_t kKvmFeaturesLeaf = 0x4000'0001;

constexpr uint32_t kXsaveLeaf = 0xD;
constexpr uint32_t kLegacyAndHeaderSize = 576;  // 512-byte FXSAVE area + 64-byte XSAVE header

kvm_cpuid_entry2* find_entry(std::vector<kvm_cpuid_entry2>& entries, uint32_t function,
                             uint32_t index) {
    for (auto& entry : entries) {
        if (entry.function == function && entry.index == index)
            return &entry;
    }
    return nullptr;
}

// Leaf 0xD must agree with the feature flags: a state component whose feature is absent (AVX
// without leaf 1's AVX bit, say) is dropped from the mask and the area sized from what remains,
// as Linux would otherwise size its buffer for state it never enables.
void make_xsave_leaf_consistent(std::vector<kvm_cpuid_entry2>& entries) {
    kvm_cpuid_entry2* xsave = find_entry(entries, kXsaveLeaf, 0);
    const kvm_cpuid_entry2* leaf1 = find_entry(entries, 1, 0);
    if (xsave == nullptr || leaf1 == nullptr) {
        return;
    }
    const kvm_cpuid_entry2* leaf7 = find_entry(entries, 7, 0);
    const uint32_t leaf7_ebx = leaf7 ? leaf7->ebx : 0;
    const uint32_t leaf7_ecx = leaf7 ? leaf7->ecx : 0;
    struct Requirement {
        uint32_t components;  // bits of 0xD.0 EAX
        bool present;
    };
    const Requirement requirements[] = {
        {1u << 2, (leaf1->ecx & (1u << 28)) != 0},                           // AVX
        {(1u << 3) | (1u << 4), (leaf7_ebx & (1u << 14)) != 0},              // MPX
        {(1u << 5) | (1u << 6) | (1u << 7), (leaf7_ebx & (1u << 16)) != 0},  // AVX-512F
        {1u << 9, (leaf7_ecx & (1u << 3)) != 0},                             // PKU
    };
    for (const auto& requirement : requirements) {
        if (!requirement.present) {
            xsave->eax &= ~requirement.components;
        }
    }
    uint32_t size = kLegacyAndHeaderSize;
    for (uint32_t component = 2; component < 32; ++component) {
        if (!(xsave->eax & (1u << component)))
            continue;
        if (const kvm_cpuid_entry2* sub = find_entry(entries, kXsaveLeaf, component)) {
            size = std::max(size, sub->ebx + sub->eax);  // offset + size
        }
    }
    xsave->ebx = size;
    xsave->ecx = size;
}

}  // namespace

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, uint32_t id,
                                             uint32_t count) {
    bool has_signature_leaf = false;
    for (auto& entry : entries) {
        switch (entry.function) {
            case 1:
                // EBX[31:24] initial APIC id; [23:16] logical processors per package.
                entry.ebx = (entry.ebx & 0x0000'FFFF) | (id << 24) | ((count & 0xFF) << 16);
                entry.ecx |= kHypervisorPresentBit;
                break;
            case 0xB:
            case 0x1F:
                // Extended topology: EDX is the x2APIC id on every sub-leaf.
                entry.edx = id;
                break;
            case kKvmSignatureLeaf: {
                has_signature_leaf = true;
                entry.eax = kKvmFeaturesLeaf;
                const char signature[12] = {'K', 'V', 'M', 'K', 'V', 'M', 'K', 'V', 'M', 0, 0, 0};
                std::memcpy(&entry.ebx, signature, 4);
                std::memcpy(&entry.ecx, signature + 4, 4);
                std::memcpy(&entry.edx, signature + 8, 4);
                break;
            }
            default:
                break;
        }
    }
    make_xsave_leaf_consistent(entries);
    if (!has_signature_leaf) {
        kvm_cpuid_entry2 signature{};
        signature.function = kKvmSignatureLeaf;
        signature.eax = kKvmFeaturesLeaf;
        std::memcpy(&signature.ebx, "KVMK", 4);
        std::memcpy(&signature.ecx, "VMKV", 4);
        std::memcpy(&signature.edx, "M\0\0\0", 4);
        entries.push_back(signature);
    }
    return entries;
}

}  // namespace hvmm::kvm
