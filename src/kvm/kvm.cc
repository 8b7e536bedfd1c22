#include "kvm/kvm.h"

#include "kvm/uapi_layout.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <array>
#include <memory>

namespace hvmm::kvm {
namespace {

constexpr auto kCapabilities = std::to_array<Capability>({
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", true},
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP", true},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2", true},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR", true},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", true},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE", true},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", true},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR", false},
    {KVM_CAP_COALESCED_MMIO, "KVM_CAP_COALESCED_MMIO", false},
    {KVM_CAP_COALESCED_PIO, "KVM_CAP_COALESCED_PIO", false},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD", false},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD", false},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING", false},
});

// The number of CPUID entries asked for; KVM says E2BIG if it has more.
constexpr size_t kMaxCpuidEntries = 256;

}  // namespace

std::span<const Capability> capabilities_used() {
    return kCapabilities;
}

Result<Kvm> Kvm::open_unchecked(const char* path) {
    UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
    if (!fd) {
        return fail_errno("cannot open {}", path);
    }
    Kvm kvm(std::move(fd));
    const int version = kvm.api_version();
    if (version != KVM_API_VERSION) {
        return fail("{} speaks KVM API version {}, hvmm needs {}", path, version, KVM_API_VERSION);
    }
    return kvm;
}

Result<Kvm> Kvm::open(const char* path) {
    Kvm kvm = HVMM_TRY(open_unchecked(path));
    HVMM_TRY_VOID(kvm.check_required_capabilities());
    return kvm;
}

int Kvm::api_version() const {
    return ::ioctl(fd_.get(), KVM_GET_API_VERSION, 0);
}

int Kvm::check_extension(int capability) const {
    const int answer = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, capability);
    return answer < 0 ? 0 : answer;
}

Result<void> Kvm::check_required_capabilities() const {
    for (const auto& capability : kCapabilities) {
        if (capability.required && !has(capability.id)) {
            return fail("KVM lacks {}", capability.name);
        }
    }
    return {};
}

Result<size_t> Kvm::vcpu_mmap_size() const {
    const int size = ::ioctl(fd_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0) {
        return fail_errno("KVM_GET_VCPU_MMAP_SIZE failed");
    }
    return static_cast<size_t>(size);
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
    auto cpuid = std::make_unique<uapi::CountedList<kvm_cpuid_entry2, kMaxCpuidEntries>>();
    cpuid->count = kMaxCpuidEntries;
    if (::ioctl(fd_.get(), uapi::kGetSupportedCpuid, cpuid.get()) != 0) {
        return fail_errno("KVM_GET_SUPPORTED_CPUID failed");
    }
    const uint32_t count = std::min<uint32_t>(cpuid->count, kMaxCpuidEntries);
    return std::vector<kvm_cpuid_entry2>(cpuid->entries, cpuid->entries + count);
}

}  // namespace hvmm::kvm
