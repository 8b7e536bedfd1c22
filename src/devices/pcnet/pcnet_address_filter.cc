#include "devices/pcnet/pcnet_address_filter.h"

#include <algorithm>

#include "devices/pcnet/pcnet_registers.h"

namespace hvmm::pcnet {
namespace {

constexpr uint32_t kReflectedPolynomial = 0xEDB8'8320u;

constexpr std::array<uint32_t, 256> make_crc_table() {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t crc = i;
        for (int bit = 0; bit < 8; ++bit) {
            crc = (crc & 1) ? (crc >> 1) ^ kReflectedPolynomial : crc >> 1;
        }
        table[i] = crc;
    }
    return table;
}

constexpr auto kCrcTable = make_crc_table();

}  // namespace

uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data) {
    for (const uint8_t byte : data) {
        crc = kCrcTable[(crc ^ byte) & 0xFF] ^ (crc >> 8);
    }
    return crc;
}

uint32_t ethernet_fcs(std::span<const uint8_t> data) {
    return ~crc32_update(kFcsSeed, data);
}

unsigned logical_address_hash(std::span<const uint8_t, 6> destination) {
    return crc32_update(kFcsSeed, destination) >> 26;
}

AddressMatch match_destination(const AddressFilter& filter,
                               std::span<const uint8_t, 6> destination) {
    const bool group = (destination[0] & 0x01) != 0;
    const bool broadcast =
        std::all_of(destination.begin(), destination.end(), [](uint8_t b) { return b == 0xFF; });
    AddressMatch verdict = AddressMatch::kRejected;
    if (broadcast) {
        if (!(filter.mode & mode::kDrcvbc))
            verdict = AddressMatch::kBroadcast;
    } else if (group) {
        if ((filter.logical >> logical_address_hash(destination)) & 1)
            verdict = AddressMatch::kLogical;
    } else if (std::equal(destination.begin(), destination.end(), filter.physical.begin())) {
        if (!(filter.mode & mode::kDrcvpa))
            verdict = AddressMatch::kPhysical;
    }
    if (verdict == AddressMatch::kRejected && (filter.mode & mode::kProm)) {
        verdict = AddressMatch::kPromiscuous;
    }
    return verdict;
}

}  // namespace hvmm::pcnet
