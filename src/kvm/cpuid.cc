// CPUID fix-ups per vCPU. Facts from the Intel SDM (leaves 1, 0xB, 0x1F, 0x80000000-4) and KVM's
// API documentation (leaves 0x40000000+).
#include <cpuid.h>

#include <algorithm>
#include <cstring>

#include "kvm/vcpu.h"

namespace hvmm::kvm {
namespace {

constexpr uint32_t kHypervisorPresentBit = 1u << 31;  // leaf 1 ECX
constexpr uint32_t kTscDeadlineTimerBit = 1u << 24;   // leaf 1 ECX
constexpr uint32_t kKvmSignatureLeaf = 0x4000'0000;
constexpr uint32_t kKvmFeaturesLeaf = 0x4000'0001;

constexpr uint32_t kExtendedMaxLeaf = 0x8000'0000;
constexpr uint32_t kBrandFirstLeaf = 0x8000'0002;
constexpr uint32_t kBrandLastLeaf = 0x8000'0004;

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

kvm_cpuid_entry2& entry_for(std::vector<kvm_cpuid_entry2>& entries, uint32_t function) {
    if (kvm_cpuid_entry2* existing = find_entry(entries, function, 0)) {
        return *existing;
    }
    kvm_cpuid_entry2 added{};
    added.function = function;
    return entries.emplace_back(added);
}

// KVM_GET_SUPPORTED_CPUID returns the brand string leaves as zeros (KVM's cpuid.c has no case
// for them, so they take its default: "nothing supported"); QEMU fills them from its CPU model.
// Left blank, Linux finds no brand and /proc/cpuinfo says "model name: 17/01" (family/model).
// Leaves KVM did fill are kept.
void give_brand_string(std::vector<kvm_cpuid_entry2>& entries, const BrandString& brand) {
    const bool brand_is_blank =
        std::all_of(brand.begin(), brand.end(), [](char c) { return c == 0; });
    if (brand_is_blank) {
        return;
    }
    for (uint32_t leaf = kBrandFirstLeaf; leaf <= kBrandLastLeaf; ++leaf) {
        const kvm_cpuid_entry2* entry = find_entry(entries, leaf, 0);
        if (entry != nullptr && (entry->eax | entry->ebx | entry->ecx | entry->edx) != 0) {
            return;
        }
    }
    kvm_cpuid_entry2& max_leaf = entry_for(entries, kExtendedMaxLeaf);
    max_leaf.eax = std::max(max_leaf.eax, kBrandLastLeaf);
    for (uint32_t leaf = kBrandFirstLeaf; leaf <= kBrandLastLeaf; ++leaf) {
        kvm_cpuid_entry2& entry = entry_for(entries, leaf);
        const char* part = brand.data() + (leaf - kBrandFirstLeaf) * 16;
        std::memcpy(&entry.eax, part, 4);
        std::memcpy(&entry.ebx, part + 4, 4);
        std::memcpy(&entry.ecx, part + 8, 4);
        std::memcpy(&entry.edx, part + 12, 4);
    }
}

}  // namespace

BrandString host_brand_string() {
    BrandString brand{};
    if (__get_cpuid_max(kExtendedMaxLeaf, nullptr) < kBrandLastLeaf) {
        return brand;
    }
    for (uint32_t leaf = kBrandFirstLeaf; leaf <= kBrandLastLeaf; ++leaf) {
        uint32_t regs[4];
        __cpuid(leaf, regs[0], regs[1], regs[2], regs[3]);
        std::memcpy(brand.data() + (leaf - kBrandFirstLeaf) * 16, regs, sizeof(regs));
    }
    return brand;
}

std::vector<kvm_cpuid_entry2> with_tsc_deadline_timer(std::vector<kvm_cpuid_entry2> supported) {
    if (kvm_cpuid_entry2* leaf1 = find_entry(supported, 1, 0)) {
        leaf1->ecx |= kTscDeadlineTimerBit;
    }
    return supported;
}

std::vector<kvm_cpuid_entry2> cpuid_for_vcpu(std::vector<kvm_cpuid_entry2> entries, uint32_t id,
                                             uint32_t count, const BrandString& brand) {
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
    give_brand_string(entries, brand);
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
