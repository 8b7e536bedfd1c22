#include "boot/acpi/fadt.h"

#include <cstring>

namespace hvmm::boot::acpi {

std::vector<uint8_t> build_fadt(uint64_t dsdt_address) {
    Fadt fadt{};
    fadt.flags = kFadtHardwareReduced;
    // No VGA: spares the guest probing for one. The 8042 flag stays clear so Linux does not
    // probe a keyboard hvmm has not got; reset goes through port 0x64 regardless (reboot=k).
    fadt.iapc_boot_arch = kBootArchNoVga;
    fadt.minor_version = kFadtMinorRevision;
    // Only X_DSDT: the spec has the 32-bit DSDT field ignored when X_DSDT is set, and ACPICA
    // warns when both are set and disagree.
    fadt.x_dsdt = dsdt_address;
    fadt.sleep_control_reg = io_port_register(kSleepControlPort);
    fadt.sleep_status_reg = io_port_register(kSleepStatusPort);
    std::memcpy(&fadt.hypervisor_vendor_identity, "hvmm\0\0\0\0", 8);

    const auto* raw = reinterpret_cast<const uint8_t*>(&fadt);
    return make_table("FACP", kFadtRevision,
                      std::span(raw + sizeof(TableHeader), sizeof(Fadt) - sizeof(TableHeader)));
}

}  // namespace hvmm::boot::acpi
