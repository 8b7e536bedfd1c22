// All of hvmm's ACPI tables, laid out from the RSDP at 0xE0000 inside the e820-reserved legacy
// hole: RSDP, XSDT, FADT, MADT, DSDT, each 16-byte aligned.
#pragma once

#include <cstdint>
#include <vector>

#include "base/error.h"
#include "boot/pci_intx_route.h"
#include "memory/guest_memory.h"

namespace hvmm::boot::acpi {

constexpr uint64_t kRsdpAddress = 0xE0000;
constexpr uint64_t kAcpiAreaEnd = 0x100000;
// Local APIC ids 0..n-1 and the IOAPIC's id n must all be below the xAPIC broadcast id 0xFF.
constexpr uint32_t kMaxCpuCount = 254;

struct AcpiConfig {
    uint32_t cpu_count = 1;
    // Empty: default_pci_intx_routes().
    std::vector<PciIntxRoute> pci_routes;
};

// The tables as one image meant for guest-physical address kRsdpAddress.
struct AcpiImage {
    std::vector<uint8_t> bytes;
    uint64_t rsdp = 0;
    uint64_t xsdt = 0;
    uint64_t fadt = 0;
    uint64_t madt = 0;
    uint64_t dsdt = 0;
};

Result<AcpiImage> build_acpi_tables(const AcpiConfig& config);

// Builds the tables and writes them into guest memory; returns the RSDP's address.
Result<uint64_t> write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config);

}  // namespace hvmm::boot::acpi
