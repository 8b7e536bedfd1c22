// The root of the ACPI tables: the RSDP the guest finds first (through boot_params, or by
// scanning 0xE0000-0xFFFFF on 16-byte boundaries) and the XSDT listing the other tables
// (ACPI 6, 5.2.5 and 5.2.8).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hvmm::boot::acpi {

#pragma pack(push, 1)

struct Rsdp {
    char signature[8];  // "RSD PTR "
    uint8_t checksum;   // of the first 20 bytes (the ACPI 1.0 structure)
    char oem_id[6];
    uint8_t revision;  // 2: ACPI 2.0 and later, with an XSDT
    uint32_t rsdt_address;
    uint32_t length;  // 36
    uint64_t xsdt_address;
    uint8_t extended_checksum;  // of all 36 bytes
    uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

#pragma pack(pop)

constexpr size_t kRsdpV1Length = 20;
constexpr uint8_t kRsdpRevision = 2;
constexpr uint8_t kXsdtRevision = 1;

// An RSDP with no RSDT: every guest hvmm boots reads the XSDT.
std::vector<uint8_t> build_rsdp(uint64_t xsdt_address);
std::vector<uint8_t> build_xsdt(std::span<const uint64_t> table_addresses);

}  // namespace hvmm::boot::acpi
