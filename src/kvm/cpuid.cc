// CPUID fix-ups per vCPU. Facts from the Intel SDM (leaves 1, 0xB, 0x1F) and KVM's API
// documentation (leaves 0x40000000+).
#include <cstring>

#include "kvm/vcpu.h"

namespace hvmm::kvm {
namespace {

constexpr uint32_t kHypervisorPresentBit = 1u << 31;  // leaf 1 ECX
constexpr uint32_t kKvmSignatureLeaf = 0x4000'0000;
constexpr uint32_t kKvmFeaturesLeaf = 0x4000'0001;

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
