// Receive and transmit descriptors in the three software styles (BCR20 SWSTYLE 0, 2 and 3),
// decoded into one normalized form so the data path does not care which layout the driver chose.
//
// The chip reads a whole descriptor once into a local copy and acts only on that copy (a guest
// rewriting it meanwhile changes nothing the chip relies on); it writes back only the words it
// owns: status and message count or error bits, never the address or buffer size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "memory/dma.h"

namespace hvmm::pcnet {

enum class SoftwareStyle : uint8_t {
    kLance = 0,            // SWSTYLE 0: 16-bit structures, 8-byte descriptors, 24-bit addresses
    kPcnetPci = 2,         // SWSTYLE 2: 32-bit structures, 16-byte descriptors
    kPcnetPciSwapped = 3,  // SWSTYLE 3: as 2, with the address and status words swapped around
};

// SWSTYLE as the guest wrote it, or nothing for a value this chip does not implement.
std::optional<SoftwareStyle> software_style_from_register(uint8_t swstyle);

constexpr bool is_32bit(SoftwareStyle style) {
    return style != SoftwareStyle::kLance;
}
constexpr size_t descriptor_size(SoftwareStyle style) {
    return is_32bit(style) ? 16 : 8;
}
constexpr size_t kMaxDescriptorSize = 16;

// The status word: bits 15:8 are RMD1/TMD1 bits 15:8 in style 0 and bits 31:24 in styles 2/3;
// bits 7:0 exist only in the 32-bit styles (their RMD1/TMD1 bits 23:16).
namespace status {
constexpr uint16_t kOwn = 1u << 15;     // OWN: the chip owns the descriptor
constexpr uint16_t kErr = 1u << 14;     // ERR: an error bit below is set
constexpr uint16_t kFram = 1u << 13;    // RX FRAM: framing error
constexpr uint16_t kOflo = 1u << 12;    // RX OFLO: FIFO overflow
constexpr uint16_t kCrc = 1u << 11;     // RX CRC: FCS error
constexpr uint16_t kRxBuff = 1u << 10;  // RX BUFF: ran out of buffers mid-frame
constexpr uint16_t kAddFcs = 1u << 13;  // TX ADD_FCS: append FCS even if DXMTFCS
constexpr uint16_t kLtint = 1u << 12;   // TX MORE/LTINT: TINT for this frame when LTINTEN
constexpr uint16_t kOne = 1u << 11;     // TX ONE: exactly one retry
constexpr uint16_t kDef = 1u << 10;     // TX DEF: deferred
constexpr uint16_t kStp = 1u << 9;      // STP: start of packet
constexpr uint16_t kEnp = 1u << 8;      // ENP: end of packet
constexpr uint16_t kBpe = 1u << 7;      // BPE: bus parity error
constexpr uint16_t kPam = 1u << 6;      // RX PAM: physical address match
constexpr uint16_t kLafm = 1u << 5;     // RX LAFM: logical address filter match
constexpr uint16_t kBam = 1u << 4;      // RX BAM: broadcast address match
}  // namespace status

// Transmit error bits, in style 0's TMD3 layout (styles 2/3 carry them in TMD2/TMD0 bits 31:16).
namespace tx_error {
constexpr uint16_t kBuff = 1u << 15;   // BUFF: chain ended without ENP
constexpr uint16_t kUflo = 1u << 14;   // UFLO: underflow; the transmitter turns off
constexpr uint16_t kExdef = 1u << 13;  // EXDEF: excessive deferral
constexpr uint16_t kLcol = 1u << 12;   // LCOL: late collision
constexpr uint16_t kLcar = 1u << 11;   // LCAR: loss of carrier
constexpr uint16_t kRtry = 1u << 10;   // RTRY: retry error
}  // namespace tx_error

struct Descriptor {
    uint32_t buffer_address = 0;  // full 32-bit guest-physical address
    uint32_t buffer_size = 0;     // bytes, 1..4096, from the two's complement BCNT
    uint16_t status = 0;          // see namespace status
};

// Decodes a descriptor read from the ring. upper_address is OR-ed into style 0's 24-bit buffer
// address (CSR2 bits 15:8, as the datasheet takes them for 16-bit structures).
Descriptor decode_receive(SoftwareStyle style, std::span<const uint8_t> raw,
                          uint32_t upper_address);
Descriptor decode_transmit(SoftwareStyle style, std::span<const uint8_t> raw,
                           uint32_t upper_address);

// Buffer size from a 12-bit two's complement BCNT field (0 means 4096).
constexpr uint32_t buffer_size_from_bcnt(uint16_t bcnt) {
    return 4096 - (bcnt & 0x0FFF);
}

// Writes back a receive descriptor: MCNT first, then the status word (releasing OWN last, so
// the driver never sees OWN clear before the count). False if guest RAM refused a write.
bool write_receive_result(DmaSpace& dma, SoftwareStyle style, uint64_t descriptor_address,
                          uint16_t status_word, uint16_t message_count);
// Writes back a transmit descriptor: error bits (when errors is set, or ENP), then status.
bool write_transmit_result(DmaSpace& dma, SoftwareStyle style, uint64_t descriptor_address,
                           uint16_t status_word, std::optional<uint16_t> errors);

}  // namespace hvmm::pcnet
