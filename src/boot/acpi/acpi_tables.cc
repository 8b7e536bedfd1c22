#include "boot/acpi/acpi_tables.h"

#include <array>

#include "boot/acpi/dsdt.h"
#include "boot/acpi/fadt.h"
#include "boot/acpi/madt.h"
#include "boot/acpi/root_tables.h"
#include "boot/guest_writes.h"

namespace hvmm::boot::acpi {
namespace {

constexpr uint64_t kTableAlignment = 16;
constexpr size_t kMaxRoutes = 255;  // one _PRT package

uint64_t align_up(uint64_t value) {
    return (value + kTableAlignment - 1) & ~(kTableAlignment - 1);
}

}  // namespace

Result<AcpiImage> build_acpi_tables(const AcpiConfig& config) {
    if (config.cpu_count == 0 || config.cpu_count > kMaxCpuCount) {
        return fail("{} vCPUs requested; hvmm's ACPI tables describe 1 to {}", config.cpu_count,
                    kMaxCpuCount);
    }
    const std::vector<PciIntxRoute> routes =
        config.pci_routes.empty() ? default_pci_intx_routes() : config.pci_routes;
    if (routes.size() > kMaxRoutes) {
        return fail("{} PCI interrupt routes requested; the DSDT holds at most {}", routes.size(),
                    kMaxRoutes);
    }
    for (const auto& route : routes) {
        if (route.slot > 31 || route.pin > 3) {
            return fail(
                "PCI interrupt route for slot {} pin {} is out of range (slot 0-31, pin "
                "0-3)",
                route.slot, route.pin);
        }
    }

    const std::vector<uint8_t> madt = build_madt(config.cpu_count);
    const std::vector<uint8_t> dsdt = build_dsdt(routes);
    constexpr size_t kXsdtEntries = 2;  // FADT, MADT; the DSDT hangs off the FADT

    AcpiImage image;
    image.rsdp = kRsdpAddress;
    image.xsdt = align_up(image.rsdp + sizeof(Rsdp));
    image.fadt = align_up(image.xsdt + sizeof(TableHeader) + kXsdtEntries * sizeof(uint64_t));
    image.madt = align_up(image.fadt + sizeof(Fadt));
    image.dsdt = align_up(image.madt + madt.size());
    const uint64_t end = image.dsdt + dsdt.size();
    if (end > kAcpiAreaEnd) {
        return fail("the ACPI tables need {} bytes but only {} fit below 1 MiB", end - kRsdpAddress,
                    kAcpiAreaEnd - kRsdpAddress);
    }

    const std::array<uint64_t, kXsdtEntries> xsdt_entries = {image.fadt, image.madt};
    image.bytes.resize(end - kRsdpAddress);
    auto place = [&image](uint64_t address, const std::vector<uint8_t>& table) {
        std::copy(table.begin(), table.end(), image.bytes.begin() + (address - kRsdpAddress));
    };
    place(image.rsdp, build_rsdp(image.xsdt));
    place(image.xsdt, build_xsdt(xsdt_entries));
    place(image.fadt, build_fadt(image.dsdt));
    place(image.madt, madt);
    place(image.dsdt, dsdt);
    return image;
}

Result<uint64_t> write_acpi_tables(const GuestMemory& memory, const AcpiConfig& config) {
    const AcpiImage image = HVMM_TRY(build_acpi_tables(config));
    HVMM_TRY_VOID(write_guest(memory, kRsdpAddress, image.bytes, "ACPI tables"));
    return image.rsdp;
}

}  // namespace hvmm::boot::acpi
