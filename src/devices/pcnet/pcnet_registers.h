// Register numbers and bits of the AMD Am79C970A (PCnet-PCI II), named as its datasheet names
// them. CSRs are reached through RAP/RDP, BCRs through RAP/BDP.
#pragma once

#include <cstdint>

namespace hvmm::pcnet {

// I/O window offsets (the first 16 bytes are the address PROM in both modes).
namespace wio {
constexpr uint64_t kRdp = 0x10;    // register data port (CSRs)
constexpr uint64_t kRap = 0x12;    // register address port
constexpr uint64_t kReset = 0x14;  // reading it resets the chip
constexpr uint64_t kBdp = 0x16;    // bus configuration register data port
}  // namespace wio
namespace dwio {
constexpr uint64_t kRdp = 0x10;
constexpr uint64_t kRap = 0x14;
constexpr uint64_t kReset = 0x18;
constexpr uint64_t kBdp = 0x1C;
}  // namespace dwio
constexpr uint64_t kPromSize = 16;
constexpr uint64_t kWindowSize = 32;

enum class Csr : uint8_t {
    CSR0 = 0,      // controller status and control
    CSR1 = 1,      // IADR[15:0]: initialization block address, low
    CSR2 = 2,      // IADR[31:16]: initialization block address, high
    CSR3 = 3,      // interrupt masks and deferral control
    CSR4 = 4,      // test and features control
    CSR5 = 5,      // extended control and interrupt 1
    CSR6 = 6,      // RX/TX descriptor table length (read-only copy of RLEN/TLEN)
    CSR8 = 8,      // LADRF[15:0]: logical address filter
    CSR9 = 9,      // LADRF[31:16]
    CSR10 = 10,    // LADRF[47:32]
    CSR11 = 11,    // LADRF[63:48]
    CSR12 = 12,    // PADR[15:0]: physical address
    CSR13 = 13,    // PADR[31:16]
    CSR14 = 14,    // PADR[47:32]
    CSR15 = 15,    // MODE
    CSR24 = 24,    // BADRL: base address of receive ring, low
    CSR25 = 25,    // BADRU: base address of receive ring, high
    CSR28 = 28,    // CRDAL: current receive descriptor address, low
    CSR29 = 29,    // CRDAU: current receive descriptor address, high
    CSR30 = 30,    // BADXL: base address of transmit ring, low
    CSR31 = 31,    // BADXU: base address of transmit ring, high
    CSR34 = 34,    // CXDAL: current transmit descriptor address, low
    CSR35 = 35,    // CXDAU: current transmit descriptor address, high
    CSR58 = 58,    // SWS: software style (alias of BCR20)
    CSR72 = 72,    // RCVRC: receive ring counter
    CSR74 = 74,    // XMTRC: transmit ring counter
    CSR76 = 76,    // RCVRL: receive ring length (two's complement)
    CSR78 = 78,    // XMTRL: transmit ring length (two's complement)
    CSR80 = 80,    // DMA transfer counter and FIFO threshold control
    CSR82 = 82,    // bus activity timer
    CSR88 = 88,    // chip ID, low
    CSR89 = 89,    // chip ID, high
    CSR100 = 100,  // bus timeout
    CSR112 = 112,  // missed frame count
    CSR114 = 114,  // receive collision count
    CSR122 = 122,  // advanced feature control
    CSR124 = 124,  // test register 1
};
constexpr unsigned kCsrCount = 128;

enum class Bcr : uint8_t {
    BCR0 = 0,    // MSRDA: master mode read active (reserved, read-only)
    BCR1 = 1,    // MSWRA: master mode write active (reserved, read-only)
    BCR2 = 2,    // MC: miscellaneous configuration
    BCR4 = 4,    // LED0 status
    BCR5 = 5,    // LED1 status
    BCR6 = 6,    // LED2 status
    BCR7 = 7,    // LED3 status
    BCR9 = 9,    // FDC: full-duplex control
    BCR16 = 16,  // IOBASEL: I/O base select, low
    BCR17 = 17,  // IOBASEU: I/O base select, high
    BCR18 = 18,  // BSBC: burst and bus control
    BCR19 = 19,  // EECAS: EEPROM control and status
    BCR20 = 20,  // SWS: software style
    BCR22 = 22,  // PCILAT: PCI latency
    BCR32 = 32,  // MIICAS: MII control and status
    BCR33 = 33,  // MIIADDR: MII PHY and register address
    BCR34 = 34,  // MIIMDR: MII management data
    BCR35 = 35,  // PCIVID: PCI vendor ID
};
constexpr unsigned kBcrCount = 36;

// CSR0 bits.
namespace csr0 {
constexpr uint16_t kInit = 1u << 0;   // INIT: read the initialization block
constexpr uint16_t kStrt = 1u << 1;   // STRT: start sending and receiving
constexpr uint16_t kStop = 1u << 2;   // STOP: stop all activity
constexpr uint16_t kTdmd = 1u << 3;   // TDMD: transmit demand
constexpr uint16_t kTxon = 1u << 4;   // TXON: transmitter on (read-only)
constexpr uint16_t kRxon = 1u << 5;   // RXON: receiver on (read-only)
constexpr uint16_t kIena = 1u << 6;   // IENA: interrupt enable
constexpr uint16_t kIntr = 1u << 7;   // INTR: an unmasked interrupt source is set (read-only)
constexpr uint16_t kIdon = 1u << 8;   // IDON: initialization done
constexpr uint16_t kTint = 1u << 9;   // TINT: transmit interrupt
constexpr uint16_t kRint = 1u << 10;  // RINT: receive interrupt
constexpr uint16_t kMerr = 1u << 11;  // MERR: memory error (bus master access failed)
constexpr uint16_t kMiss = 1u << 12;  // MISS: missed frame, no receive buffer owned
constexpr uint16_t kCerr = 1u << 13;  // CERR: collision error (no interrupt)
constexpr uint16_t kBabl = 1u << 14;  // BABL: transmitter babble
constexpr uint16_t kErr = 1u << 15;   // ERR: BABL|CERR|MISS|MERR (read-only)
constexpr uint16_t kWriteOneToClear = kIdon | kTint | kRint | kMerr | kMiss | kCerr | kBabl;
}  // namespace csr0

// CSR3 bits.
namespace csr3 {
constexpr uint16_t kIdonm = 1u << 8;    // IDONM: mask IDON
constexpr uint16_t kTintm = 1u << 9;    // TINTM: mask TINT
constexpr uint16_t kRintm = 1u << 10;   // RINTM: mask RINT
constexpr uint16_t kMerrm = 1u << 11;   // MERRM: mask MERR
constexpr uint16_t kMissm = 1u << 12;   // MISSM: mask MISS
constexpr uint16_t kBablm = 1u << 14;   // BABLM: mask BABL
constexpr uint16_t kWritable = 0x5F7C;  // bits 15, 13, 7, 1 and 0 are reserved
}  // namespace csr3

// CSR4 bits.
namespace csr4 {
constexpr uint16_t kJabm = 1u << 0;       // JABM: mask JAB
constexpr uint16_t kJab = 1u << 1;        // JAB: jabber error
constexpr uint16_t kTxstrtm = 1u << 2;    // TXSTRTM: mask TXSTRT
constexpr uint16_t kTxstrt = 1u << 3;     // TXSTRT: a transmission started
constexpr uint16_t kRcvccom = 1u << 4;    // RCVCCOM: mask RCVCCO
constexpr uint16_t kRcvcco = 1u << 5;     // RCVCCO: receive collision counter overflow
constexpr uint16_t kUint = 1u << 6;       // UINT: user interrupt
constexpr uint16_t kUintcmd = 1u << 7;    // UINTCMD: write 1 to set UINT
constexpr uint16_t kMfcom = 1u << 8;      // MFCOM: mask MFCO
constexpr uint16_t kMfco = 1u << 9;       // MFCO: missed frame counter overflow
constexpr uint16_t kAstrpRcv = 1u << 10;  // ASTRP_RCV: strip receive pad
constexpr uint16_t kApadXmt = 1u << 11;   // APAD_XMT: pad short transmit frames to 64 bytes
constexpr uint16_t kDpoll = 1u << 12;     // DPOLL: disable transmit ring polling
constexpr uint16_t kWriteOneToClear = kJab | kTxstrt | kRcvcco | kUint | kMfco;
constexpr uint16_t kResetValue = 0x0115;
}  // namespace csr4

// CSR5 bits.
namespace csr5 {
constexpr uint16_t kSpnd = 1u << 0;      // SPND: suspend
constexpr uint16_t kMpint = 1u << 4;     // MPINT: magic packet interrupt
constexpr uint16_t kMpinte = 1u << 3;    // MPINTE: enable MPINT
constexpr uint16_t kExdint = 1u << 7;    // EXDINT: excessive deferral interrupt
constexpr uint16_t kExdinte = 1u << 6;   // EXDINTE: enable EXDINT
constexpr uint16_t kSlpint = 1u << 9;    // SLPINT: sleep interrupt
constexpr uint16_t kSlpinte = 1u << 8;   // SLPINTE: enable SLPINT
constexpr uint16_t kSint = 1u << 11;     // SINT: system (bus) error interrupt
constexpr uint16_t kSinte = 1u << 10;    // SINTE: enable SINT
constexpr uint16_t kLtinten = 1u << 14;  // LTINTEN: TINT only for descriptors with LTINT
constexpr uint16_t kTokintd = 1u << 15;  // TOKINTD: no TINT for frames sent without error
constexpr uint16_t kWriteOneToClear = kMpint | kExdint | kSlpint | kSint;
}  // namespace csr5

// CSR15 (MODE) bits.
namespace mode {
constexpr uint16_t kDrx = 1u << 0;      // DRX: disable receiver
constexpr uint16_t kDtx = 1u << 1;      // DTX: disable transmitter
constexpr uint16_t kLoop = 1u << 2;     // LOOP: loopback
constexpr uint16_t kDxmtfcs = 1u << 3;  // DXMTFCS: do not append FCS on transmit
constexpr uint16_t kIntl = 1u << 6;     // INTL: internal (not external) loopback
constexpr uint16_t kDrcvpa = 1u << 13;  // DRCVPA: reject frames for the physical address
constexpr uint16_t kDrcvbc = 1u << 14;  // DRCVBC: reject broadcast frames
constexpr uint16_t kProm = 1u << 15;    // PROM: promiscuous
}  // namespace mode

// BCR2 bits.
namespace bcr2 {
constexpr uint16_t kAsel = 1u << 1;  // ASEL: auto-select media
}  // namespace bcr2

// BCR4..BCR7 (LED) bits.
namespace led {
constexpr uint16_t kLnkste = 1u << 6;   // LNKSTE: LED shows link status
constexpr uint16_t kLedout = 1u << 15;  // LEDOUT: the LED signal's current state (read-only)
}  // namespace led

// BCR20 bits.
namespace bcr20 {
constexpr uint16_t kSwstyleMask = 0x00FF;  // SWSTYLE: descriptor and init block layout
constexpr uint16_t kSsize32 = 1u << 8;     // SSIZE32: 32-bit structures (read-only)
constexpr uint16_t kCsrpcnet = 1u << 9;    // CSRPCNET: PCnet register layout (read-only)
constexpr uint16_t kAperren = 1u << 10;    // APERREN: address parity error checking
}  // namespace bcr20

// BCR32 bits.
namespace bcr32 {
constexpr uint16_t kMiiilp = 1u << 1;  // MIIILP: MII internal loopback
constexpr uint16_t kMiipd = 1u << 14;  // MIIPD: a PHY answers on the MII (read-only)
}  // namespace bcr32

// The Am79C970A's identity as CSR88/CSR89 report it: version 0, part 0x2621, AMD's
// manufacturer ID 0x001 with the always-one bit 0 (so the low 12 bits read 0x003).
constexpr uint16_t kChipIdLow = 0x1003;
constexpr uint16_t kChipIdHigh = 0x0262;

}  // namespace hvmm::pcnet
