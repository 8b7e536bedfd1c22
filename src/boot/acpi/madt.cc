#include "boot/acpi/madt.h"

#include "boot/acpi/sdt.h"

namespace hvmm::boot::acpi {

std::vector<uint8_t> build_madt(uint32_t cpu_count) {
    std::vector<uint8_t> body;
    append_obj(body, kLocalApicAddress);
    append_obj(body, kMadtPcatCompat);
    for (uint32_t cpu = 0; cpu < cpu_count; ++cpu) {
        append_obj(body, MadtLocalApic{kMadtTypeLocalApic, sizeof(MadtLocalApic),
                                       static_cast<uint8_t>(cpu), static_cast<uint8_t>(cpu),
                                       kLocalApicEnabled});
    }
    append_obj(body, MadtIoApic{kMadtTypeIoApic, sizeof(MadtIoApic),
                                static_cast<uint8_t>(cpu_count), 0, kIoApicAddress, 0});
    // The PIT's IRQ 0 arrives on IOAPIC pin 2, as on every PC since the IOAPIC; KVM's in-kernel
    // PIT is wired the same way.
    append_obj(
        body, MadtInterruptOverride{kMadtTypeInterruptOverride, sizeof(MadtInterruptOverride), 0, 0,
                                    2, kIntiActiveHighEdge});
    return make_table("APIC", kMadtRevision, body);
}

}  // namespace hvmm::boot::acpi
