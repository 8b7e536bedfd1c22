// Which received frames the chip accepts: its physical address, broadcast, multicast through
// the 64-bit logical address filter (LADRF), or everything in promiscuous mode.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace hvmm::pcnet {

enum class AddressMatch : uint8_t {
    kRejected,
    kPhysical,     // PAM
    kBroadcast,    // BAM
    kLogical,      // LAFM
    kPromiscuous,  // accepted only because of PROM
};

struct AddressFilter {
    std::array<uint8_t, 6> physical{};  // PADR in wire order
    uint64_t logical = 0;               // LADRF, bit n selects hash value n
    uint16_t mode = 0;                  // CSR15 (PROM, DRCVBC, DRCVPA)
};

// The filter's verdict on a destination address (the frame's first 6 bytes).
AddressMatch match_destination(const AddressFilter& filter,
                               std::span<const uint8_t, 6> destination);

// The LADRF bit a multicast address selects: the top 6 bits of the little-endian CRC-32 of the
// address (the CRC register before its final inversion), as the datasheet specifies.
unsigned logical_address_hash(std::span<const uint8_t, 6> destination);

// The Ethernet FCS (CRC-32, reflected, final inversion) of data, to append little-endian.
uint32_t ethernet_fcs(std::span<const uint8_t> data);
// For a frame built in pieces: start with kFcsSeed, feed each piece, finish with ~.
constexpr uint32_t kFcsSeed = 0xFFFF'FFFFu;
uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data);

}  // namespace hvmm::pcnet
