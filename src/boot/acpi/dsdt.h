// The DSDT: the objects a hardware-reduced guest cannot find any other way. \_S5_ (how to power
// off), the PCI root bridge with its windows and its interrupt routing table, and the legacy
// COM1 and RTC (ACPI 6, 5.2.11.1; the ASL each object corresponds to is beside its builder).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "boot/pci_intx_route.h"

namespace hvmm::boot::acpi {

constexpr uint8_t kDsdtRevision = 2;  // integers are 64 bits wide
// The sleep type a write to the sleep control register carries for S5 (docs/CONTRACTS.md).
constexpr uint8_t kS5SleepType = 5;
constexpr uint32_t kPciMmioWindowStart = 0xE000'0000;
constexpr uint32_t kPciMmioWindowEnd = 0xFEBF'FFFF;  // just below the IOAPIC

// A DSDT whose _PRT lists exactly routes (at most 255 of them, a Package's limit).
std::vector<uint8_t> build_dsdt(std::span<const PciIntxRoute> routes);

}  // namespace hvmm::boot::acpi
