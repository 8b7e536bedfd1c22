// The initialization block the chip reads on INIT from the address in CSR1/CSR2, in its 16-bit
// (SSIZE32 = 0, 24 bytes) and 32-bit (SSIZE32 = 1, 28 bytes) layouts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace hvmm::pcnet {

constexpr size_t kInitBlockSize16 = 24;
constexpr size_t kInitBlockSize32 = 28;

struct InitBlock {
    uint16_t mode = 0;                  // copied to CSR15
    std::array<uint16_t, 3> padr{};     // CSR12..CSR14, physical address
    std::array<uint16_t, 4> ladrf{};    // CSR8..CSR11, logical address filter
    uint32_t receive_ring = 0;          // RDRA
    uint32_t transmit_ring = 0;         // TDRA
    uint16_t receive_ring_length = 1;   // descriptors, from RLEN
    uint16_t transmit_ring_length = 1;  // descriptors, from TLEN
    uint8_t rlen = 0;                   // encoded RLEN as CSR6 reports it
    uint8_t tlen = 0;                   // encoded TLEN as CSR6 reports it
};

// Ring length from its log2 encoding: 2^n descriptors, n above 9 meaning 512.
constexpr uint16_t ring_length_from_log2(unsigned encoded) {
    return static_cast<uint16_t>(1u << (encoded > 9 ? 9 : encoded));
}

// raw holds at least kInitBlockSize16 bytes. The 24-bit ring addresses get their top byte from
// upper_address (CSR2 bits 15:8), as the 16-bit layout has no room for it.
InitBlock parse_init_block16(std::span<const uint8_t> raw, uint32_t upper_address);
// raw holds at least kInitBlockSize32 bytes.
InitBlock parse_init_block32(std::span<const uint8_t> raw);

}  // namespace hvmm::pcnet
