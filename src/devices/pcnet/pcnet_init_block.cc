#include "devices/pcnet/pcnet_init_block.h"

namespace hvmm::pcnet {
namespace {

uint16_t load16(std::span<const uint8_t> raw, size_t offset) {
    return static_cast<uint16_t>(raw[offset] | (raw[offset + 1] << 8));
}

uint32_t load32(std::span<const uint8_t> raw, size_t offset) {
    return load16(raw, offset) | (static_cast<uint32_t>(load16(raw, offset + 2)) << 16);
}

}  // namespace

InitBlock parse_init_block16(std::span<const uint8_t> raw, uint32_t upper_address) {
    // 0 MODE | 2 PADR[47:0] | 8 LADRF[63:0] | 16 RDRA[15:0] | 18 RLEN<<13 | RDRA[23:16]
    // | 20 TDRA[15:0] | 22 TLEN<<13 | TDRA[23:16]
    InitBlock block;
    block.mode = load16(raw, 0);
    for (size_t i = 0; i < 3; ++i) block.padr[i] = load16(raw, 2 + 2 * i);
    for (size_t i = 0; i < 4; ++i) block.ladrf[i] = load16(raw, 8 + 2 * i);
    const uint16_t rx_high = load16(raw, 18);
    const uint16_t tx_high = load16(raw, 22);
    const uint32_t top = upper_address & 0xFF00'0000u;
    block.receive_ring = load16(raw, 16) | (static_cast<uint32_t>(rx_high & 0xFF) << 16) | top;
    block.transmit_ring = load16(raw, 20) | (static_cast<uint32_t>(tx_high & 0xFF) << 16) | top;
    block.rlen = static_cast<uint8_t>(rx_high >> 13);
    block.tlen = static_cast<uint8_t>(tx_high >> 13);
    block.receive_ring_length = ring_length_from_log2(block.rlen);
    block.transmit_ring_length = ring_length_from_log2(block.tlen);
    return block;
}

InitBlock parse_init_block32(std::span<const uint8_t> raw) {
    // 0 MODE | 2 RLEN in bits 7:4, TLEN in bits 15:12 | 4 PADR[47:0] | 10 reserved
    // | 12 LADRF[63:0] | 20 RDRA | 24 TDRA
    InitBlock block;
    block.mode = load16(raw, 0);
    const uint16_t lengths = load16(raw, 2);
    block.rlen = (lengths >> 4) & 0x0F;
    block.tlen = (lengths >> 12) & 0x0F;
    block.receive_ring_length = ring_length_from_log2(block.rlen);
    block.transmit_ring_length = ring_length_from_log2(block.tlen);
    for (size_t i = 0; i < 3; ++i) block.padr[i] = load16(raw, 4 + 2 * i);
    for (size_t i = 0; i < 4; ++i) block.ladrf[i] = load16(raw, 12 + 2 * i);
    block.receive_ring = load32(raw, 20);
    block.transmit_ring = load32(raw, 24);
    return block;
}

}  // namespace hvmm::pcnet
