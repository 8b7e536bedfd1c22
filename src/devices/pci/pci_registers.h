// The type-0 configuration header's registers and bits, as PCI Local Bus 3.0 names them.
#pragma once

#include <cstdint>

namespace hvmm::pci {

constexpr uint32_t kConfigSpaceSize = 256;
constexpr int kBarCount = 6;

// Offsets into a type-0 configuration header.
enum class ConfigRegister : uint8_t {
    kVendorId = 0x00,             // 16 bit, read-only
    kDeviceId = 0x02,             // 16 bit, read-only
    kCommand = 0x04,              // 16 bit, decode enables and error responses
    kStatus = 0x06,               // 16 bit, read-only capabilities and write-1-to-clear errors
    kRevisionId = 0x08,           // 8 bit, read-only
    kClassCode = 0x09,            // 24 bit: programming interface, subclass, base class
    kCacheLineSize = 0x0C,        // 8 bit, read-write scratch for the OS
    kLatencyTimer = 0x0D,         // 8 bit, read-write for bus masters
    kHeaderType = 0x0E,           // 8 bit, 0x00 = type 0, single function
    kBist = 0x0F,                 // 8 bit, 0 = no built-in self test
    kBar0 = 0x10,                 // six 32-bit Base Address Registers, 0x10-0x27
    kCardbusCisPointer = 0x28,    // 32 bit, unused
    kSubsystemVendorId = 0x2C,    // 16 bit, read-only
    kSubsystemId = 0x2E,          // 16 bit, read-only
    kExpansionRomBase = 0x30,     // 32 bit, reads 0: no expansion ROM
    kCapabilitiesPointer = 0x34,  // 8 bit, 0: no capability list
    kInterruptLine = 0x3C,        // 8 bit, read-write scratch the firmware/OS fills with the IRQ
    kInterruptPin = 0x3D,         // 8 bit, read-only, 0 = none, 1 = INTA# .. 4 = INTD#
    kMinGnt = 0x3E,               // 8 bit, read-only burst period wish
    kMaxLat = 0x3F,               // 8 bit, read-only access latency wish
};

constexpr uint8_t offset_of(ConfigRegister reg) {
    return static_cast<uint8_t>(reg);
}
constexpr uint8_t bar_offset(int index) {
    return static_cast<uint8_t>(0x10 + 4 * index);
}

// Command register bits.
enum class CommandBit : uint16_t {
    kIoSpace = 1u << 0,                // respond to I/O BARs
    kMemorySpace = 1u << 1,            // respond to memory BARs
    kBusMaster = 1u << 2,              // may start DMA
    kSpecialCycles = 1u << 3,          // monitor special cycles (hardwired 0 here)
    kMemoryWriteInvalidate = 1u << 4,  // may use Memory Write and Invalidate
    kVgaPaletteSnoop = 1u << 5,        // VGA palette snooping (hardwired 0 here)
    kParityErrorResponse = 1u << 6,    // report parity errors
    kSerrEnable = 1u << 8,             // may drive SERR#
    kFastBackToBack = 1u << 9,         // fast back-to-back to different targets
    kInterruptDisable = 1u << 10,      // PCI 2.3: mask INTx (not on PCI 2.1 parts)
};

// Status register bits.
enum class StatusBit : uint16_t {
    kInterruptStatus = 1u << 3,        // PCI 2.3: INTx asserted, read-only
    kCapabilitiesList = 1u << 4,       // capability list present, read-only
    kFastBackToBackCapable = 1u << 7,  // read-only
    kMasterDataParityError = 1u << 8,  // write 1 to clear
    kDevselMedium = 1u << 9,           // DEVSEL# timing field (bits 9-10) = medium, read-only
    kSignaledTargetAbort = 1u << 11,   // write 1 to clear
    kReceivedTargetAbort = 1u << 12,   // write 1 to clear
    kReceivedMasterAbort = 1u << 13,   // write 1 to clear
    kSignaledSystemError = 1u << 14,   // write 1 to clear
    kDetectedParityError = 1u << 15,   // write 1 to clear
};

constexpr uint16_t bits(CommandBit bit) {
    return static_cast<uint16_t>(bit);
}
constexpr uint16_t bits(StatusBit bit) {
    return static_cast<uint16_t>(bit);
}

// The status bits PCI 3.0 makes write-1-to-clear: the error flags.
constexpr uint16_t kStatusWriteOneToClear =
    bits(StatusBit::kMasterDataParityError) | bits(StatusBit::kSignaledTargetAbort) |
    bits(StatusBit::kReceivedTargetAbort) | bits(StatusBit::kReceivedMasterAbort) |
    bits(StatusBit::kSignaledSystemError) | bits(StatusBit::kDetectedParityError);

// Low bits of a BAR that say what it is; read-only.
constexpr uint32_t kBarIoSpaceIndicator = 0x1;     // bit 0 set: I/O BAR
constexpr uint32_t kBarIoAddressMask = ~0x3u;      // bits 31-2 hold the port base
constexpr uint32_t kBarMemoryPrefetchable = 0x8;   // bit 3: prefetchable memory
constexpr uint32_t kBarMemoryAddressMask = ~0xFu;  // bits 31-4 hold the address (type 00: 32 bit)

}  // namespace hvmm::pci
