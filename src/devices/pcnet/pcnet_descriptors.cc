#include "devices/pcnet/pcnet_descriptors.h"

#include <array>

namespace hvmm::pcnet {
namespace {

uint16_t load16(std::span<const uint8_t> raw, size_t offset) {
    return static_cast<uint16_t>(raw[offset] | (raw[offset + 1] << 8));
}

uint32_t load32(std::span<const uint8_t> raw, size_t offset) {
    return static_cast<uint32_t>(load16(raw, offset)) |
           (static_cast<uint32_t>(load16(raw, offset + 2)) << 16);
}

bool store(DmaSpace& dma, uint64_t address, uint32_t value, size_t bytes) {
    std::array<uint8_t, 4> le{static_cast<uint8_t>(value), static_cast<uint8_t>(value >> 8),
                              static_cast<uint8_t>(value >> 16), static_cast<uint8_t>(value >> 24)};
    return dma.write(address, std::span<const uint8_t>(le.data(), bytes));
}

// Both directions share the layout of the words that carry address, BCNT and status; only the
// third and fourth words differ (MCNT for receive, error bits for transmit).
Descriptor decode(SoftwareStyle style, std::span<const uint8_t> raw, uint32_t upper_address) {
    Descriptor d;
    switch (style) {
        case SoftwareStyle::kLance: {
            // word0 = address[15:0]; word1 = status[15:8] | address[23:16]; word2 = BCNT.
            const uint16_t word1 = load16(raw, 2);
            d.buffer_address = load16(raw, 0) | (static_cast<uint32_t>(word1 & 0xFF) << 16) |
                               (upper_address & 0xFF00'0000u);
            d.status = word1 & 0xFF00;
            d.buffer_size = buffer_size_from_bcnt(load16(raw, 4));
            break;
        }
        case SoftwareStyle::kPcnetPci:
        case SoftwareStyle::kPcnetPciSwapped: {
            // dword1 = status[31:16] | ONES | BCNT in both; the address is dword0 in style 2
            // and dword2 in style 3.
            const size_t address_offset = style == SoftwareStyle::kPcnetPci ? 0 : 8;
            d.buffer_address = load32(raw, address_offset);
            const uint32_t dword1 = load32(raw, 4);
            d.status = static_cast<uint16_t>(dword1 >> 16);
            d.buffer_size = buffer_size_from_bcnt(static_cast<uint16_t>(dword1));
            break;
        }
    }
    return d;
}

}  // namespace

std::optional<SoftwareStyle> software_style_from_register(uint8_t swstyle) {
    switch (swstyle) {
        case 0:
            return SoftwareStyle::kLance;
        case 2:
            return SoftwareStyle::kPcnetPci;
        case 3:
            return SoftwareStyle::kPcnetPciSwapped;
        default:
            return std::nullopt;
    }
}

Descriptor decode_receive(SoftwareStyle style, std::span<const uint8_t> raw,
                          uint32_t upper_address) {
    return decode(style, raw, upper_address);
}

Descriptor decode_transmit(SoftwareStyle style, std::span<const uint8_t> raw,
                           uint32_t upper_address) {
    return decode(style, raw, upper_address);
}

bool write_receive_result(DmaSpace& dma, SoftwareStyle style, uint64_t descriptor_address,
                          uint16_t status_word, uint16_t message_count) {
    switch (style) {
        case SoftwareStyle::kLance:
            // RMD3 holds MCNT; only RMD1's high byte is status (the low byte is address).
            return store(dma, descriptor_address + 6, message_count & 0x0FFF, 2) &&
                   store(dma, descriptor_address + 3, status_word >> 8, 1);
        case SoftwareStyle::kPcnetPci:
            // RMD2 = RCC | RPC | MCNT (no collisions on a virtual wire).
            return store(dma, descriptor_address + 8, message_count & 0x0FFF, 4) &&
                   store(dma, descriptor_address + 6, status_word, 2);
        case SoftwareStyle::kPcnetPciSwapped:
            return store(dma, descriptor_address + 0, message_count & 0x0FFF, 4) &&
                   store(dma, descriptor_address + 6, status_word, 2);
    }
    return false;
}

bool write_transmit_result(DmaSpace& dma, SoftwareStyle style, uint64_t descriptor_address,
                           uint16_t status_word, std::optional<uint16_t> errors) {
    bool ok = true;
    switch (style) {
        case SoftwareStyle::kLance:
            if (errors)
                ok = store(dma, descriptor_address + 6, *errors, 2);
            return ok && store(dma, descriptor_address + 3, status_word >> 8, 1);
        case SoftwareStyle::kPcnetPci:
            // TMD2 = errors[31:16] | TRC (retry count 0).
            if (errors)
                ok = store(dma, descriptor_address + 8, uint32_t{*errors} << 16, 4);
            return ok && store(dma, descriptor_address + 6, status_word, 2);
        case SoftwareStyle::kPcnetPciSwapped:
            if (errors)
                ok = store(dma, descriptor_address + 0, uint32_t{*errors} << 16, 4);
            return ok && store(dma, descriptor_address + 6, status_word, 2);
    }
    return false;
}

}  // namespace hvmm::pcnet
