// The FADT ("FACP"), revision 6: a hardware-reduced ACPI platform (no PM1 blocks, no SCI, no
// FACS) whose only fixed hardware is the sleep control and status registers the guest uses to
// power off (ACPI 6, 5.2.9 and 4.8.3.7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "boot/acpi/sdt.h"

namespace hvmm::boot::acpi {

constexpr uint16_t kSleepControlPort = 0x600;
constexpr uint16_t kSleepStatusPort = 0x601;
constexpr uint32_t kFadtHardwareReduced = 1u << 20;  // HW_REDUCED_ACPI
constexpr uint16_t kBootArchNoVga = 1u << 2;         // IAPC_BOOT_ARCH: VGA Not Present
constexpr uint8_t kFadtRevision = 6;
constexpr uint8_t kFadtMinorRevision = 0;

#pragma pack(push, 1)

struct Fadt {
    TableHeader header;
    uint32_t firmware_ctrl;  // 36
    uint32_t dsdt;           // 40
    uint8_t reserved0;
    uint8_t preferred_pm_profile;  // 45
    uint16_t sci_int;              // 46
    uint32_t smi_cmd;              // 48
    uint8_t acpi_enable;
    uint8_t acpi_disable;
    uint8_t s4bios_req;
    uint8_t pstate_cnt;
    uint32_t pm1a_evt_blk;  // 56
    uint32_t pm1b_evt_blk;
    uint32_t pm1a_cnt_blk;
    uint32_t pm1b_cnt_blk;
    uint32_t pm2_cnt_blk;
    uint32_t pm_tmr_blk;
    uint32_t gpe0_blk;
    uint32_t gpe1_blk;
    uint8_t pm1_evt_len;  // 88
    uint8_t pm1_cnt_len;
    uint8_t pm2_cnt_len;
    uint8_t pm_tmr_len;
    uint8_t gpe0_blk_len;
    uint8_t gpe1_blk_len;
    uint8_t gpe1_base;
    uint8_t cst_cnt;
    uint16_t p_lvl2_lat;  // 96
    uint16_t p_lvl3_lat;
    uint16_t flush_size;
    uint16_t flush_stride;
    uint8_t duty_offset;  // 104
    uint8_t duty_width;
    uint8_t day_alrm;
    uint8_t mon_alrm;
    uint8_t century;
    uint16_t iapc_boot_arch;  // 109
    uint8_t reserved1;
    uint32_t flags;                 // 112
    GenericAddress reset_reg;       // 116
    uint8_t reset_value;            // 128
    uint16_t arm_boot_arch;         // 129
    uint8_t minor_version;          // 131
    uint64_t x_firmware_ctrl;       // 132
    uint64_t x_dsdt;                // 140
    GenericAddress x_pm1a_evt_blk;  // 148
    GenericAddress x_pm1b_evt_blk;
    GenericAddress x_pm1a_cnt_blk;
    GenericAddress x_pm1b_cnt_blk;
    GenericAddress x_pm2_cnt_blk;
    GenericAddress x_pm_tmr_blk;
    GenericAddress x_gpe0_blk;
    GenericAddress x_gpe1_blk;
    GenericAddress sleep_control_reg;     // 244
    GenericAddress sleep_status_reg;      // 256
    uint64_t hypervisor_vendor_identity;  // 268
};

#pragma pack(pop)

static_assert(sizeof(Fadt) == 276);
static_assert(offsetof(Fadt, iapc_boot_arch) == 109);
static_assert(offsetof(Fadt, flags) == 112);
static_assert(offsetof(Fadt, minor_version) == 131);
static_assert(offsetof(Fadt, x_dsdt) == 140);
static_assert(offsetof(Fadt, sleep_control_reg) == 244);
static_assert(offsetof(Fadt, sleep_status_reg) == 256);
static_assert(offsetof(Fadt, hypervisor_vendor_identity) == 268);

std::vector<uint8_t> build_fadt(uint64_t dsdt_address);

}  // namespace hvmm::boot::acpi
