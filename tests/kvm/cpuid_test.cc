// CPUID as hvmm gives it to each vCPU, from this host's KVM_GET_SUPPORTED_CPUID.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <variant>

#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "long_mode_guest.h"

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

TEST(Cpuid, TscDeadlineTimerIsAnnouncedInLeafOneOnly) {
    std::vector<kvm_cpuid_entry2> supported(2);
    supported[0].function = 1;
    supported[0].ecx = 0x0000'0201;  // SSE3, SSSE3: kept
    supported[1].function = 7;
    const auto announced = with_tsc_deadline_timer(supported);
    EXPECT_EQ(find(announced, 1)->ecx, 0x0100'0201u);
    EXPECT_EQ(find(announced, 7)->ecx, 0u);
    EXPECT_EQ(with_tsc_deadline_timer({}).size(), 0u);  // no leaf 1: nothing invented
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

BrandString brand_of(const std::string& text) {
    BrandString brand{};
    std::memcpy(brand.data(), text.data(), std::min(text.size(), brand.size()));
    return brand;
}

// The 48 bytes of leaves 0x80000002-4 in `entries`, in CPUID's register order.
std::string brand_in(const std::vector<kvm_cpuid_entry2>& entries) {
    std::string brand;
    for (uint32_t leaf = 0x8000'0002; leaf <= 0x8000'0004; ++leaf) {
        const auto entry = find(entries, leaf);
        if (!entry)
            return "(leaf missing)";
        for (uint32_t reg : {entry->eax, entry->ebx, entry->ecx, entry->edx}) {
            brand.append(reinterpret_cast<const char*>(&reg), 4);
        }
    }
    return brand;
}

// What KVM_GET_SUPPORTED_CPUID gives: the extended leaves up to 0x80000021, the brand blank.
std::vector<kvm_cpuid_entry2> blank_brand_host() {
    std::vector<kvm_cpuid_entry2> entries(4);
    entries[0].function = 0x8000'0000;
    entries[0].eax = 0x8000'0021;
    for (uint32_t i = 1; i < 4; ++i) entries[i].function = 0x8000'0001 + i;
    return entries;
}

TEST(Cpuid, BlankBrandLeavesGetTheGivenBrandString) {
    const auto fixed = cpuid_for_vcpu(blank_brand_host(), 0, 1, brand_of("AMD EPYC Processor"));
    EXPECT_EQ(brand_in(fixed), std::string("AMD EPYC Processor") + std::string(30, '\0'));
    EXPECT_EQ(find(fixed, 0x8000'0000)->eax, 0x8000'0021u);  // never lowered
}

TEST(Cpuid, ABrandKvmGaveIsKept) {
    auto host = blank_brand_host();
    std::memcpy(&host[1].eax, "KVM!", 4);
    const auto fixed = cpuid_for_vcpu(host, 0, 1, brand_of("AMD EPYC Processor"));
    EXPECT_EQ(brand_in(fixed).substr(0, 4), "KVM!");
    EXPECT_EQ(brand_in(fixed).substr(4), std::string(44, '\0'));
}

TEST(Cpuid, MissingBrandLeavesAreAddedAndTheExtendedMaximumRaised) {
    std::vector<kvm_cpuid_entry2> host(1);
    host[0].function = 0x8000'0000;
    host[0].eax = 0x8000'0001;
    const auto fixed = cpuid_for_vcpu(host, 0, 1, brand_of("Test CPU"));
    EXPECT_EQ(find(fixed, 0x8000'0000)->eax, 0x8000'0004u);
    EXPECT_EQ(brand_in(fixed), std::string("Test CPU") + std::string(40, '\0'));
}

TEST(Cpuid, NoBrandToGiveLeavesTheLeavesAlone) {
    const auto fixed = cpuid_for_vcpu(blank_brand_host(), 0, 1, BrandString{});
    EXPECT_EQ(brand_in(fixed), std::string(48, '\0'));
}

// Linux prints the brand, without its padding, as /proc/cpuinfo's model name.
TEST(Cpuid, HostBrandStringIsTheModelNameLinuxShows) {
    const BrandString brand = host_brand_string();
    std::string text(brand.data(), strnlen(brand.data(), brand.size()));
    if (text.empty())
        GTEST_SKIP() << "this CPU has no brand string";
    text.erase(0, text.find_first_not_of(' '));
    text.erase(text.find_last_not_of(' ') + 1);
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line;
    while (std::getline(cpuinfo, line) && line.rfind("model name", 0) != 0) {
    }
    EXPECT_EQ(line.substr(line.find(": ") + 2), text);
}

// A guest program reads the brand leaves with CPUID and stores the twelve registers in RAM.
TEST(Cpuid, GuestReadsTheHostBrandString) {
    using Bytes = std::vector<uint8_t>;
    Bytes program = {0xBF, 0x00, 0x10, 0x01, 0x00};  // mov edi, kDataAddress (0x11000)
    for (uint8_t leaf = 2; leaf <= 4; ++leaf) {
        const Bytes step = {
            0xB8, leaf, 0x00, 0x00, 0x80,  // mov eax, 0x8000000<leaf>
            0x31, 0xC9,                    // xor ecx, ecx
            0x0F, 0xA2,                    // cpuid
            0x89, 0x07,                    // mov [rdi], eax
            0x89, 0x5F, 0x04,              // mov [rdi+4], ebx
            0x89, 0x4F, 0x08,              // mov [rdi+8], ecx
            0x89, 0x57, 0x0C,              // mov [rdi+12], edx
            0x48, 0x83, 0xC7, 0x10,        // add rdi, 16
        };
        program.insert(program.end(), step.begin(), step.end());
    }
    program.push_back(0xF4);  // hlt
    static_assert(test::LongModeGuest::kDataAddress == 0x11000);

    auto guest = test::LongModeGuest::create(program);
    ASSERT_TRUE(guest) << guest.error().message;
    auto kvm = Kvm::open();
    ASSERT_TRUE(kvm) << kvm.error().message;
    auto supported = kvm->supported_cpuid();
    ASSERT_TRUE(supported) << supported.error().message;
    ASSERT_TRUE((*guest)->vcpu().set_cpuid(cpuid_for_vcpu(*supported, 0, 1)));
    const auto exit = (*guest)->run_until_stop();
    ASSERT_TRUE(exit) << exit.error().message;
    ASSERT_TRUE(std::holds_alternative<exit::Hlt>(*exit)) << "exit variant " << exit->index();

    std::string seen(48, '\0');
    ASSERT_TRUE(
        (*guest)->memory().read(GuestAddress(test::LongModeGuest::kDataAddress),
                                std::span(reinterpret_cast<uint8_t*>(seen.data()), seen.size())));
    const BrandString host = host_brand_string();
    EXPECT_NE(seen.find_first_not_of(std::string(" \0", 2)), std::string::npos)
        << "the guest saw a blank brand string";
    EXPECT_EQ(seen, std::string(host.data(), host.size()));
}

}  // namespace
}  // namespace hvmm::kvm
