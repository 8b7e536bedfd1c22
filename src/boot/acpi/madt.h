// The MADT ("APIC"): where the guest finds its local APICs and the IOAPIC, and how ISA IRQ 0
// reaches the IOAPIC (ACPI 6, 5.2.12).
#pragma once

#include <cstdint>
#include <vector>

namespace hvmm::boot::acpi {

constexpr uint32_t kLocalApicAddress = 0xFEE0'0000;
constexpr uint32_t kIoApicAddress = 0xFEC0'0000;
constexpr uint8_t kMadtRevision = 4;  // ACPI 6.0

#pragma pack(push, 1)

struct MadtLocalApic {
    uint8_t type;    // 0
    uint8_t length;  // 8
    uint8_t processor_uid;
    uint8_t apic_id;
    uint32_t flags;  // bit 0: enabled
};
static_assert(sizeof(MadtLocalApic) == 8);

struct MadtIoApic {
    uint8_t type;    // 1
    uint8_t length;  // 12
    uint8_t io_apic_id;
    uint8_t reserved;
    uint32_t address;
    uint32_t gsi_base;
};
static_assert(sizeof(MadtIoApic) == 12);

struct MadtInterruptOverride {
    uint8_t type;    // 2
    uint8_t length;  // 10
    uint8_t bus;     // 0: ISA
    uint8_t source;  // the ISA IRQ
    uint32_t gsi;
    uint16_t flags;  // MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3
};
static_assert(sizeof(MadtInterruptOverride) == 10);

#pragma pack(pop)

constexpr uint8_t kMadtTypeLocalApic = 0;
constexpr uint8_t kMadtTypeIoApic = 1;
constexpr uint8_t kMadtTypeInterruptOverride = 2;
constexpr uint32_t kLocalApicEnabled = 1;
constexpr uint16_t kIntiActiveHighEdge = 0x0005;  // polarity 01 (high), trigger 01 (edge)
constexpr uint32_t kMadtPcatCompat = 1;  // the machine also has 8259 PICs (KVM emulates them)

// One enabled local APIC per vCPU (APIC ids 0..cpu_count-1), the IOAPIC with id cpu_count and
// GSI base 0, and the ISA IRQ 0 -> GSI 2 override PC firmware reports. cpu_count is 1..254.
std::vector<uint8_t> build_madt(uint32_t cpu_count);

}  // namespace hvmm::boot::acpi
