// The Linux x86 "zero page" (struct boot_params) and the setup header inside it, laid out byte for
// byte as Documentation/arch/x86/boot.rst and zero-page.rst document them. The loader fills a
// zeroed BootParams, copies the image's setup header into it and hands the guest its address in
// RSI.
#pragma once

#include <cstddef>
#include <cstdint>

namespace hvmm::boot {

// loadflags bits.
constexpr uint8_t kLoadedHigh = 0x01;  // protected-mode code is loaded at 0x100000 (a bzImage)
constexpr uint8_t kKaslrFlag = 0x02;   // set by the kernel itself
constexpr uint8_t kQuietFlag = 0x20;   // early messages suppressed
constexpr uint8_t kKeepSegments = 0x40;
constexpr uint8_t kCanUseHeap = 0x80;  // heap_end_ptr is valid

// xloadflags bits.
constexpr uint16_t kXlfKernel64 = 0x0001;  // has the 64-bit entry point at load address + 0x200
constexpr uint16_t kXlfCanBeLoadedAbove4G = 0x0002;
constexpr uint16_t kXlfEfiHandover32 = 0x0004;
constexpr uint16_t kXlfEfiHandover64 = 0x0008;
constexpr uint16_t kXlfEfiKexec = 0x0010;

constexpr uint16_t kBootFlagSignature = 0xAA55;
constexpr uint32_t kHeaderMagic = 0x53726448;   // "HdrS" read as a little-endian uint32
constexpr uint8_t kLoaderTypeUndefined = 0xFF;  // a boot loader without an assigned id

#pragma pack(push, 1)

struct SetupHeader {
    uint8_t setup_sects;             // 0x1F1: 512-byte sectors of real-mode setup; 0 means 4
    uint16_t root_flags;             // 0x1F2
    uint32_t syssize;                // 0x1F4: protected-mode code size in 16-byte paragraphs
    uint16_t ram_size;               // 0x1F8: obsolete
    uint16_t vid_mode;               // 0x1FA
    uint16_t root_dev;               // 0x1FC
    uint16_t boot_flag;              // 0x1FE: 0xAA55
    uint16_t jump;                   // 0x200: a short jump; its second byte is the header's extent
    uint32_t header;                 // 0x202: "HdrS"
    uint16_t version;                // 0x206: boot protocol, major << 8 | minor
    uint32_t realmode_swtch;         // 0x208
    uint16_t start_sys_seg;          // 0x20C: obsolete
    uint16_t kernel_version;         // 0x20E: offset of the version string - 0x200
    uint8_t type_of_loader;          // 0x210
    uint8_t loadflags;               // 0x211
    uint16_t setup_move_size;        // 0x212
    uint32_t code32_start;           // 0x214: where the protected-mode code is loaded
    uint32_t ramdisk_image;          // 0x218
    uint32_t ramdisk_size;           // 0x21C
    uint32_t bootsect_kludge;        // 0x220: obsolete
    uint16_t heap_end_ptr;           // 0x224: end of the setup heap - 0x200
    uint8_t ext_loader_ver;          // 0x226
    uint8_t ext_loader_type;         // 0x227
    uint32_t cmd_line_ptr;           // 0x228: physical address of the NUL-terminated command line
    uint32_t initrd_addr_max;        // 0x22C: highest address the initrd may occupy
    uint32_t kernel_alignment;       // 0x230
    uint8_t relocatable_kernel;      // 0x234
    uint8_t min_alignment;           // 0x235: log2
    uint16_t xloadflags;             // 0x236
    uint32_t cmdline_size;           // 0x238: longest command line, without the NUL
    uint32_t hardware_subarch;       // 0x23C
    uint64_t hardware_subarch_data;  // 0x240
    uint32_t payload_offset;         // 0x248
    uint32_t payload_length;         // 0x24C
    uint64_t setup_data;             // 0x250: linked list of struct setup_data
    uint64_t pref_address;           // 0x258: preferred load address of a relocatable kernel
    uint32_t init_size;              // 0x260: linear memory the kernel needs before it reads e820
    uint32_t handover_offset;        // 0x264: EFI handover entry
    uint32_t kernel_info_offset;     // 0x268
};

struct E820Entry {
    uint64_t address;
    uint64_t size;
    uint32_t type;
};

constexpr uint32_t kE820Ram = 1;
constexpr uint32_t kE820Reserved = 2;
constexpr uint32_t kE820Acpi = 3;
constexpr size_t kE820MaxEntries = 128;  // what boot_params.e820_table holds

struct BootParams {
    uint8_t screen_info[0x40];        // 0x000
    uint8_t apm_bios_info[0x14];      // 0x040
    uint8_t pad2[4];                  // 0x054
    uint64_t tboot_addr;              // 0x058
    uint8_t ist_info[0x10];           // 0x060
    uint64_t acpi_rsdp_addr;          // 0x070: protocol 2.14+; older kernels scan 0xE0000
    uint8_t pad3[8];                  // 0x078
    uint8_t hd0_info[0x10];           // 0x080
    uint8_t hd1_info[0x10];           // 0x090
    uint8_t sys_desc_table[0x10];     // 0x0A0
    uint8_t olpc_ofw_header[0x10];    // 0x0B0
    uint32_t ext_ramdisk_image;       // 0x0C0
    uint32_t ext_ramdisk_size;        // 0x0C4
    uint32_t ext_cmd_line_ptr;        // 0x0C8
    uint8_t pad4[0x70];               // 0x0CC
    uint32_t cc_blob_address;         // 0x13C
    uint8_t edid_info[0x80];          // 0x140
    uint8_t efi_info[0x20];           // 0x1C0
    uint32_t alt_mem_k;               // 0x1E0
    uint32_t scratch;                 // 0x1E4
    uint8_t e820_entries;             // 0x1E8
    uint8_t eddbuf_entries;           // 0x1E9
    uint8_t edd_mbr_sig_buf_entries;  // 0x1EA
    uint8_t kbd_status;               // 0x1EB
    uint8_t secure_boot;              // 0x1EC
    uint8_t pad5[2];                  // 0x1ED
    uint8_t sentinel;                 // 0x1EF: nonzero tells the kernel the loader left junk
    uint8_t pad6[1];                  // 0x1F0
    SetupHeader hdr;                  // 0x1F1
    uint8_t pad7[0x290 - 0x1F1 - sizeof(SetupHeader)];
    uint32_t edd_mbr_sig_buffer[16];        // 0x290
    E820Entry e820_table[kE820MaxEntries];  // 0x2D0
    uint8_t pad8[0x30];                     // 0xCD0
    uint8_t eddbuf[0x1EC];                  // 0xD00
    uint8_t pad9[0x114];                    // 0xEEC
};

#pragma pack(pop)

static_assert(sizeof(E820Entry) == 20);
static_assert(sizeof(SetupHeader) == 0x26C - 0x1F1);
static_assert(sizeof(BootParams) == 4096);

// Offsets inside the zero page, as boot.rst and zero-page.rst number them.
#define HVMM_HDR_AT(field, offset) \
    static_assert(offsetof(BootParams, hdr) + offsetof(SetupHeader, field) == (offset), #field)
HVMM_HDR_AT(setup_sects, 0x1F1);
HVMM_HDR_AT(root_flags, 0x1F2);
HVMM_HDR_AT(syssize, 0x1F4);
HVMM_HDR_AT(vid_mode, 0x1FA);
HVMM_HDR_AT(boot_flag, 0x1FE);
HVMM_HDR_AT(jump, 0x200);
HVMM_HDR_AT(header, 0x202);
HVMM_HDR_AT(version, 0x206);
HVMM_HDR_AT(kernel_version, 0x20E);
HVMM_HDR_AT(type_of_loader, 0x210);
HVMM_HDR_AT(loadflags, 0x211);
HVMM_HDR_AT(code32_start, 0x214);
HVMM_HDR_AT(ramdisk_image, 0x218);
HVMM_HDR_AT(ramdisk_size, 0x21C);
HVMM_HDR_AT(heap_end_ptr, 0x224);
HVMM_HDR_AT(ext_loader_ver, 0x226);
HVMM_HDR_AT(cmd_line_ptr, 0x228);
HVMM_HDR_AT(initrd_addr_max, 0x22C);
HVMM_HDR_AT(kernel_alignment, 0x230);
HVMM_HDR_AT(relocatable_kernel, 0x234);
HVMM_HDR_AT(min_alignment, 0x235);
HVMM_HDR_AT(xloadflags, 0x236);
HVMM_HDR_AT(cmdline_size, 0x238);
HVMM_HDR_AT(hardware_subarch, 0x23C);
HVMM_HDR_AT(payload_offset, 0x248);
HVMM_HDR_AT(setup_data, 0x250);
HVMM_HDR_AT(pref_address, 0x258);
HVMM_HDR_AT(init_size, 0x260);
HVMM_HDR_AT(handover_offset, 0x264);
HVMM_HDR_AT(kernel_info_offset, 0x268);
#undef HVMM_HDR_AT

static_assert(offsetof(BootParams, acpi_rsdp_addr) == 0x070);
static_assert(offsetof(BootParams, ext_ramdisk_image) == 0x0C0);
static_assert(offsetof(BootParams, ext_cmd_line_ptr) == 0x0C8);
static_assert(offsetof(BootParams, cc_blob_address) == 0x13C);
static_assert(offsetof(BootParams, efi_info) == 0x1C0);
static_assert(offsetof(BootParams, e820_entries) == 0x1E8);
static_assert(offsetof(BootParams, sentinel) == 0x1EF);
static_assert(offsetof(BootParams, hdr) == 0x1F1);
static_assert(offsetof(BootParams, edd_mbr_sig_buffer) == 0x290);
static_assert(offsetof(BootParams, e820_table) == 0x2D0);
static_assert(offsetof(BootParams, eddbuf) == 0xD00);

// Where the setup header sits in a bzImage file and in the zero page alike.
constexpr size_t kSetupHeaderOffset = 0x1F1;

}  // namespace hvmm::boot
