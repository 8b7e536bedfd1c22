// What the network layers need to know about an Ethernet address: its kind (group, broadcast,
// locally administered), text form, and a hash for tables. Pure functions; any thread.
//
// The helpers live in hvmm::net because hvmm::parse_mac_address (vmm/nic_spec.h) already
// exists with the --nic option's rules (it refuses multicast and names "--nic" in its message);
// the ones here are the general form the switch, DHCP and command lines build on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>


namespace hvmm {

// A 48-bit Ethernet station address, in wire order: what NICs, backends, the switch and DHCP
// all speak, so it lives in the network layer (devices include it from here).
struct MacAddress {
    std::array<uint8_t, 6> bytes;
    bool operator==(const MacAddress&) const = default;
};

}  // namespace hvmm

namespace hvmm::net {

inline constexpr MacAddress kBroadcastMac{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};

// The I/G bit (first octet, bit 0): a group address, broadcast included. Never a valid source.
constexpr bool is_multicast(const MacAddress& mac) {
    return (mac.bytes[0] & 0x01) != 0;
}
constexpr bool is_broadcast(const MacAddress& mac) {
    return mac == kBroadcastMac;
}
// The U/L bit (first octet, bit 1): assigned locally rather than by a vendor's OUI.
constexpr bool is_locally_administered(const MacAddress& mac) {
    return (mac.bytes[0] & 0x02) != 0;
}
constexpr bool is_zero(const MacAddress& mac) {
    return mac == MacAddress{};
}
// A usable station (source) address: neither a group address nor all zeros.
constexpr bool is_unicast_station(const MacAddress& mac) {
    return !is_multicast(mac) && !is_zero(mac);
}

// The six bytes at `bytes` (a frame's destination at 0, source at 6).
inline MacAddress mac_from_bytes(std::span<const uint8_t, 6> bytes) {
    MacAddress mac{};
    for (size_t i = 0; i < 6; ++i) mac.bytes[i] = bytes[i];
    return mac;
}

// The address as a 48-bit integer, first octet most significant: a key that sorts like the text.
constexpr uint64_t mac_to_u64(const MacAddress& mac) {
    uint64_t value = 0;
    for (const uint8_t byte : mac.bytes) value = value << 8 | byte;
    return value;
}

// "52:54:00:12:34:56": exactly six groups of two hex digits (either case) separated by ':'.
// Nothing else is accepted (no '-', no single digits, no surrounding spaces), so a typo is an
// error rather than a different address. Group addresses are accepted; callers that need a
// station address check is_unicast_station() and say why.
std::optional<MacAddress> parse_mac(std::string_view text);

// Lower-case "52:54:00:12:34:56", the form parse_mac() reads back.
std::string to_string(const MacAddress& mac);

struct MacAddressHash {
    size_t operator()(const MacAddress& mac) const noexcept {
        // A 64-bit mix (splitmix64's finaliser) so the vendor prefix most guests share does not
        // crowd a bucket: the low bits depend on every octet.
        uint64_t x = mac_to_u64(mac);
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9ULL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBULL;
        x ^= x >> 31;
        return static_cast<size_t>(x);
    }
};

}  // namespace hvmm::net
