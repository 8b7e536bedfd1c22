// IPv4 addresses, /N subnets and the Internet checksum, for the parts of hvmm that build or read
// IPv4 packets themselves (the switch's DHCP server, later its options). Pure; any thread.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hvmm::net {

// Held in host order so arithmetic on host parts is plain integer arithmetic; bytes() and
// from_bytes() convert at the wire.
struct Ipv4Address {
    uint32_t value = 0;

    static constexpr Ipv4Address from_bytes(std::span<const uint8_t, 4> b) {
        return Ipv4Address{uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 |
                           b[3]};
    }
    static constexpr Ipv4Address of(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        return Ipv4Address{uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | d};
    }
    constexpr void to_bytes(std::span<uint8_t, 4> out) const {
        out[0] = static_cast<uint8_t>(value >> 24);
        out[1] = static_cast<uint8_t>(value >> 16);
        out[2] = static_cast<uint8_t>(value >> 8);
        out[3] = static_cast<uint8_t>(value);
    }
    constexpr bool is_zero() const { return value == 0; }
    constexpr auto operator<=>(const Ipv4Address&) const = default;
};

inline constexpr Ipv4Address kIpv4Broadcast{0xFFFFFFFF};

// Dotted quad, exactly four decimal parts of 0..255 without leading zeros beyond "0" itself
// (so "010.0.0.1" is not silently octal or decimal: it is refused).
std::optional<Ipv4Address> parse_ipv4(std::string_view text);
std::string to_string(Ipv4Address address);

struct Ipv4Subnet {
    Ipv4Address network;  // host bits zero
    uint8_t prefix = 24;

    constexpr uint32_t mask() const { return prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix); }
    constexpr bool contains(Ipv4Address address) const {
        return (address.value & mask()) == network.value;
    }
    constexpr Ipv4Address broadcast() const { return Ipv4Address{network.value | ~mask()}; }
    // network + host; the caller keeps host within the subnet.
    constexpr Ipv4Address host(uint32_t host_part) const {
        return Ipv4Address{network.value | (host_part & ~mask())};
    }
    constexpr uint32_t host_part(Ipv4Address address) const { return address.value & ~mask(); }
    constexpr bool operator==(const Ipv4Subnet&) const = default;
};

// "192.168.77.0/24". Host bits must be zero: "192.168.77.5/24" is refused rather than guessed.
std::optional<Ipv4Subnet> parse_ipv4_subnet(std::string_view text);
std::string to_string(const Ipv4Subnet& subnet);

// The Internet checksum (RFC 1071), in two steps so a header, a pseudo-header and a payload can
// be summed apart: accumulate each part (every part but the last of even length), then finish.
uint32_t checksum_accumulate(uint32_t sum, std::span<const uint8_t> bytes);
uint16_t checksum_finish(uint32_t sum);
inline uint16_t internet_checksum(std::span<const uint8_t> bytes) {
    return checksum_finish(checksum_accumulate(0, bytes));
}

}  // namespace hvmm::net
