#include "boot/acpi/dsdt.h"

#include "boot/acpi/aml.h"
#include "boot/acpi/sdt.h"

namespace hvmm::boot::acpi {
namespace {

using aml::Bytes;

// Name (_S5_, Package (4) {5, 0, 0, 0}): SLP_TYPa, SLP_TYPb and two reserved values.
Bytes sleep_state_s5() {
    return aml::name("_S5_", aml::package({aml::integer(kS5SleepType), aml::integer(0),
                                           aml::integer(0), aml::integer(0)}));
}

// Package {0xSSSSFFFF, pin, 0, gsi} per route: address (slot, any function), pin, no link
// device (a 0 source means the fourth field is a GSI), the GSI.
Bytes pci_routing_table(std::span<const PciIntxRoute> routes) {
    std::vector<Bytes> entries;
    for (const auto& route : routes) {
        const uint32_t address = (uint32_t{route.slot} << 16) | 0xFFFF;
        entries.push_back(aml::package({aml::integer(address), aml::integer(route.pin),
                                        aml::integer(0), aml::integer(route.gsi)}));
    }
    return aml::name("_PRT", aml::package(entries));
}

Bytes pci_root_bridge(std::span<const PciIntxRoute> routes) {
    // I/O window: everything but the configuration mechanism's 0xCF8-0xCFF.
    const Bytes resources = aml::resource_template({
        aml::resource::word_bus_number(0x00, 0xFF),
        aml::resource::word_io(0x0000, 0x0CF7),
        aml::resource::word_io(0x0D00, 0xFFFF),
        aml::resource::dword_memory(kPciMmioWindowStart, kPciMmioWindowEnd),
    });
    return aml::device("PCI0", aml::join({
                                   aml::name("_HID", aml::eisa_id("PNP0A03")),
                                   aml::name("_UID", aml::integer(0)),
                                   aml::name("_SEG", aml::integer(0)),
                                   aml::name("_BBN", aml::integer(0)),
                                   aml::name("_CRS", resources),
                                   pci_routing_table(routes),
                               }));
}

// The 16550A at 0x3F8 on ISA IRQ 4.
Bytes com1() {
    const Bytes resources = aml::resource_template({
        aml::resource::io(0x3F8, 0x3F8, 0x01, 0x08),
        aml::resource::irq_no_flags({4}),
    });
    return aml::device("COM1", aml::join({
                                   aml::name("_HID", aml::eisa_id("PNP0501")),
                                   aml::name("_UID", aml::integer(1)),
                                   aml::name("_CRS", resources),
                               }));
}

// The CMOS RTC's index and data ports; it raises no interrupt hvmm wires.
Bytes rtc() {
    const Bytes resources = aml::resource_template({aml::resource::io(0x70, 0x70, 0x01, 0x02)});
    return aml::device("RTC_", aml::join({
                                   aml::name("_HID", aml::eisa_id("PNP0B00")),
                                   aml::name("_CRS", resources),
                               }));
}

}  // namespace

std::vector<uint8_t> build_dsdt(std::span<const PciIntxRoute> routes) {
    const Bytes body = aml::join({
        sleep_state_s5(),
        aml::scope("\\_SB_", aml::join({pci_root_bridge(routes), com1(), rtc()})),
    });
    return make_table("DSDT", kDsdtRevision, body);
}

}  // namespace hvmm::boot::acpi
