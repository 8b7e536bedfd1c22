#include "boot/acpi/root_tables.h"

#include <cstring>

#include "boot/acpi/sdt.h"

namespace hvmm::boot::acpi {

std::vector<uint8_t> build_rsdp(uint64_t xsdt_address) {
    Rsdp rsdp{};
    std::memcpy(rsdp.signature, "RSD PTR ", sizeof(rsdp.signature));
    std::memcpy(rsdp.oem_id, "HVMM  ", sizeof(rsdp.oem_id));
    rsdp.revision = kRsdpRevision;
    rsdp.length = sizeof(Rsdp);
    rsdp.xsdt_address = xsdt_address;
    const auto* raw = reinterpret_cast<const uint8_t*>(&rsdp);
    rsdp.checksum = checksum_of(std::span(raw, kRsdpV1Length));
    rsdp.extended_checksum = checksum_of(std::span(raw, sizeof(Rsdp)));
    return std::vector<uint8_t>(raw, raw + sizeof(Rsdp));
}

std::vector<uint8_t> build_xsdt(std::span<const uint64_t> table_addresses) {
    std::vector<uint8_t> body;
    for (const uint64_t address : table_addresses) {
        append_obj(body, address);
    }
    return make_table("XSDT", kXsdtRevision, body);
}

}  // namespace hvmm::boot::acpi
